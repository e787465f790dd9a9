/**
 * Live metric curves with uPlot. Metrics are grouped by the part of their name after the last '/'
 * (`train/acc` and `val/acc` share the "acc" chart, `model/weight_norm` gets its own) and labelled
 * by the part before it (`lstm/sparse/read_err` is "lstm/sparse" on the "read_err" chart), so a new
 * toy's metrics get charts without code here. Each chart's box carries
 * `data-testid="chart-<group>"` and `data-points` (the rows drawn so far).
 *
 * Redraws are batched to one per animation frame; rows arrive about ten times a second.
 */

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { el } from './dom';
import type { Row } from './worker/protocol';

const TITLES: Record<string, string> = { acc: 'Accuracy', loss: 'Loss', weight_norm: 'Weight norm (‖θ‖₂)' };
const SPLITS: Record<string, string> = { train: 'train', val: 'validation', model: 'all weights' };
const COLORS: Record<string, string> = { train: '#2563eb', val: '#e8590c', model: '#7c3aed' };
const PALETTE = ['#0d9488', '#db2777', '#65a30d', '#475569'];
const HEIGHT = 230;
/** Charts come in this order; other groups follow in the order of their metrics. */
const FIRST = ['acc', 'loss'];
const rank = (group: string) => (FIRST.includes(group) ? FIRST.indexOf(group) : FIRST.length);

export const groupOf = (metric: string) => metric.slice(metric.lastIndexOf('/') + 1);
/** Everything before the group: `val/acc` → "val", `lstm/sparse/read_err` → "lstm/sparse". */
const splitOf = (metric: string) => (metric.includes('/') ? metric.slice(0, metric.lastIndexOf('/')) : metric);
export const titleOf = (group: string) => TITLES[group] ?? group.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());

interface Chart {
  group: string;
  /** Indices of this chart's metrics in each row's `values`. */
  columns: number[];
  labels: string[];
  colors: string[];
  box: HTMLElement;
  plotBox: HTMLElement;
  plot: uPlot | null;
}

export class MetricCharts {
  readonly root: HTMLElement;
  private charts: Chart[] = [];
  private names: string[] = [];
  private rows: Row[] = [];
  private logX = false;
  private frame = 0;
  private resize = new ResizeObserver(() => this.fit());

  /** `pngButton(group)` makes the per-chart export button (wired by the caller). */
  constructor(private pngButton: (group: string) => HTMLElement) {
    this.root = el('div', { class: 'charts' });
  }

  /** Builds one chart per metric group; clears the data. */
  setMetrics(names: string[]) {
    if (names.join() === this.names.join()) {
      this.setRows([]);
      return;
    }
    this.names = names;
    this.rows = [];
    for (const c of this.charts) c.plot?.destroy();
    this.charts = [];
    this.root.replaceChildren();
    const groups = [...new Set(names.map(groupOf))].sort((a, b) => rank(a) - rank(b));
    for (const group of groups) {
      const columns = names.flatMap((n, i) => (groupOf(n) === group ? [i] : []));
      const labels = columns.map((i) => SPLITS[splitOf(names[i])] ?? splitOf(names[i]));
      const colors = columns.map((i, k) => COLORS[splitOf(names[i])] ?? PALETTE[k % PALETTE.length]);
      const plotBox = el('div', { class: 'chart-plot' });
      const box = el(
        'figure',
        { class: `chart chart-${group}`, testid: `chart-${group}`, 'data-points': 0 },
        el('figcaption', {}, el('span', { class: 'chart-title' }, titleOf(group)), this.pngButton(group)),
        plotBox,
      );
      this.root.append(box);
      this.resize.observe(plotBox);
      this.charts.push({ group, columns, labels, colors, box, plotBox, plot: null });
    }
    this.rebuild();
  }

  /** Replaces all rows (after a reset) or, with `append`, adds new ones. */
  setRows(rows: Row[], append = false) {
    this.rows = append ? this.rows.concat(rows) : rows.slice();
    this.schedule();
  }

  setLogX(on: boolean) {
    this.logX = on;
    this.rebuild();
  }

  /** The chart of `group` as a PNG: title, axes and curves, plus a legend, on white. */
  png(group: string): Promise<Blob> {
    const c = this.charts.find((x) => x.group === group);
    if (!c?.plot) return Promise.reject(new Error(`no chart '${group}'`));
    const src = c.plot.ctx.canvas;
    const dpr = src.width / Math.max(1, c.plot.width);
    const head = Math.round(34 * dpr);
    const out = el('canvas', { width: src.width, height: src.height + head });
    const ctx = out.getContext('2d')!;
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, out.width, out.height);
    ctx.drawImage(src, 0, head);
    ctx.font = `600 ${Math.round(14 * dpr)}px system-ui, sans-serif`;
    ctx.fillStyle = '#1f2933';
    ctx.textBaseline = 'middle';
    ctx.fillText(titleOf(group), 10 * dpr, head / 2);
    let x = 10 * dpr + ctx.measureText(titleOf(group)).width + 18 * dpr;
    ctx.font = `${Math.round(12 * dpr)}px system-ui, sans-serif`;
    c.labels.forEach((label, k) => {
      ctx.fillStyle = c.colors[k];
      ctx.fillRect(x, head / 2 - 1.5 * dpr, 16 * dpr, 3 * dpr);
      ctx.fillStyle = '#3e4c59';
      ctx.fillText(label, x + 20 * dpr, head / 2);
      x += 20 * dpr + ctx.measureText(label).width + 14 * dpr;
    });
    return new Promise((resolve, reject) => out.toBlob((b) => (b ? resolve(b) : reject(new Error('PNG encoding failed'))), 'image/png'));
  }

  /** Draws now what a pending frame would draw: the status must not say done before the charts do. */
  flush() {
    if (!this.frame) return;
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.draw();
  }

  private schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  /** uPlot cannot change a scale's distribution in place: log-x rebuilds the plots. */
  private rebuild() {
    for (const c of this.charts) {
      c.plot?.destroy();
      const width = Math.max(200, c.plotBox.clientWidth || 480);
      const opts: uPlot.Options = {
        width,
        height: HEIGHT,
        scales: {
          x: { time: false, distr: this.logX ? 3 : 1 },
          y: c.group === 'acc' ? { range: [0, 1] } : c.group === 'loss' ? { distr: 3 } : {},
        },
        axes: [
          { label: this.logX ? 'step (log scale)' : 'step', stroke: '#52606d', grid: { stroke: '#eef1f4' }, ticks: { stroke: '#e4e7eb' } },
          { stroke: '#52606d', grid: { stroke: '#eef1f4' }, ticks: { stroke: '#e4e7eb' }, size: 54 },
        ],
        series: [{ label: 'step' }, ...c.labels.map((label, k) => ({ label, stroke: c.colors[k], width: 2, points: { show: lonePoints, size: 6 } }))],
        legend: { live: true },
        cursor: { drag: { x: true, y: false } },
      };
      c.plot = new uPlot(opts, this.data(c), c.plotBox);
    }
    this.draw();
  }

  private data(c: Chart): uPlot.AlignedData {
    // Step 0 has no place on a log axis; log-y curves drop values that are not positive.
    const rows = this.logX ? this.rows.filter((r) => r.step > 0) : this.rows;
    const logY = c.group === 'loss';
    return [
      rows.map((r) => r.step),
      ...c.columns.map((i) => rows.map((r) => (logY && !(r.values[i] > 0) ? null : r.values[i]))),
    ];
  }

  private draw() {
    for (const c of this.charts) {
      c.plot?.setData(this.data(c));
      c.box.dataset.points = String(this.rows.length);
    }
  }

  private fit() {
    for (const c of this.charts) {
      const w = c.plotBox.clientWidth;
      if (c.plot && w > 0 && Math.abs(w - c.plot.width) > 1) c.plot.setSize({ width: w, height: HEIGHT });
    }
  }
}

/** Dots only while a curve has too few points to draw a line (the first row or two). */
function lonePoints(u: uPlot): boolean {
  return u.data[0].length < 3;
}
