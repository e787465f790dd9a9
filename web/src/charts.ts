/**
 * Live metric curves with uPlot: one chart per quantity (`MetricInfo.quantity`: accuracy, loss,
 * …), titled by its label, its unit on the y axis, its scale on the y axis (a share: [0, 1]; log:
 * a log axis). Each series is one metric, labelled by its arm and split, coloured by its arm and
 * dashed by its split (palette.ts). Nothing here reads a metric's name, so a new toy's metrics
 * get charts without code here. Each chart's box carries `data-testid="chart-<quantity id>"`
 * and `data-points` (the rows drawn so far).
 *
 * Redraws are batched to one per animation frame; rows arrive about ten times a second.
 */

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { el } from './dom';
import type { MetricInfo, MetricRow, Quantity } from './generated/engine';
import type { Palette } from './palette';

const HEIGHT = 230;

/** "StableMax · validation", or the arm alone for a metric of no split. */
const seriesLabel = (m: MetricInfo) => (m.split.label ? `${m.arm.label} · ${m.split.label}` : m.arm.label);

interface Chart {
  quantity: Quantity;
  /** Indices of this chart's metrics in each row's `values`. */
  columns: number[];
  labels: string[];
  colors: string[];
  dashes: number[][];
  box: HTMLElement;
  plotBox: HTMLElement;
  plot: uPlot | null;
}

export class MetricCharts {
  readonly root: HTMLElement;
  private charts: Chart[] = [];
  private metrics = '';
  private rows: MetricRow[] = [];
  private logX = false;
  private frame = 0;
  private resize = new ResizeObserver(() => this.fit());

  /** `pngButton(quantity id)` makes the per-chart export button (wired by the caller). */
  constructor(private pngButton: (quantity: string) => HTMLElement) {
    this.root = el('div', { class: 'charts' });
  }

  /** Builds one chart per quantity (unless the metrics are the ones drawn already); clears the data. */
  setMetrics(metrics: MetricInfo[], palette: Palette) {
    const key = JSON.stringify(metrics);
    this.rows = [];
    if (key === this.metrics) {
      this.schedule();
      return;
    }
    this.metrics = key;
    for (const c of this.charts) c.plot?.destroy();
    this.charts = [];
    this.root.replaceChildren();
    const quantities = new Map(metrics.map((m) => [m.quantity.id, m.quantity]));
    for (const quantity of quantities.values()) {
      const columns = metrics.flatMap((m, i) => (m.quantity.id === quantity.id ? [i] : []));
      const plotBox = el('div', { class: 'chart-plot' });
      const box = el(
        'figure',
        { class: 'chart', testid: `chart-${quantity.id}`, 'data-points': 0 },
        el('figcaption', {}, el('span', { class: 'chart-title' }, quantity.label), this.pngButton(quantity.id)),
        plotBox,
      );
      this.root.append(box);
      this.resize.observe(plotBox);
      this.charts.push({
        quantity,
        columns,
        labels: columns.map((i) => seriesLabel(metrics[i])),
        colors: columns.map((i) => palette.color(metrics[i].arm.id)),
        dashes: columns.map((i) => palette.dash(metrics[i].split.id)),
        box,
        plotBox,
        plot: null,
      });
    }
    this.rebuild();
  }

  /** Replaces all rows (after a reset) or, with `append`, adds new ones. */
  setRows(rows: MetricRow[], append = false) {
    this.rows = append ? this.rows.concat(rows) : rows.slice();
    this.schedule();
  }

  setLogX(on: boolean) {
    this.logX = on;
    this.rebuild();
  }

  /** The chart of quantity `id` as a PNG: title, axes and curves, plus a legend, on white. */
  png(id: string): Promise<Blob> {
    const c = this.charts.find((x) => x.quantity.id === id);
    if (!c?.plot) return Promise.reject(new Error(`no chart '${id}'`));
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
    ctx.fillText(c.quantity.label, 10 * dpr, head / 2);
    let x = 10 * dpr + ctx.measureText(c.quantity.label).width + 18 * dpr;
    ctx.font = `${Math.round(12 * dpr)}px system-ui, sans-serif`;
    ctx.lineWidth = 2.5 * dpr;
    c.labels.forEach((label, k) => {
      ctx.strokeStyle = c.colors[k];
      ctx.setLineDash(c.dashes[k].map((d) => d * dpr));
      ctx.beginPath();
      ctx.moveTo(x, head / 2);
      ctx.lineTo(x + 16 * dpr, head / 2);
      ctx.stroke();
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
      const scale = c.quantity.scale;
      const unit = c.quantity.unit;
      const opts: uPlot.Options = {
        width,
        height: HEIGHT,
        scales: {
          x: { time: false, distr: this.logX ? 3 : 1 },
          y: scale === 'share' ? { range: [0, 1] } : scale === 'log' ? { distr: 3 } : {},
        },
        axes: [
          { label: this.logX ? 'step (log scale)' : 'step', stroke: '#52606d', grid: { stroke: '#eef1f4' }, ticks: { stroke: '#e4e7eb' } },
          { label: unit || undefined, stroke: '#52606d', grid: { stroke: '#eef1f4' }, ticks: { stroke: '#e4e7eb' }, size: 54 },
        ],
        series: [
          { label: 'step' },
          ...c.labels.map((label, k) => ({ label, stroke: c.colors[k], dash: c.dashes[k], width: 2, points: { show: lonePoints, size: 6 } })),
        ],
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
    const logY = c.quantity.scale === 'log';
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
