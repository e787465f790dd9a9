/**
 * A toy's figures (crate/src/figures.rs): curves against something other than the step
 * (uPlot), heatmaps (a canvas), and tables whose rows open a heatmap when clicked. They arrive
 * from the worker every few seconds and replace the previous ones. A curve of an arm takes the
 * arm's colour from the charts' palette (palette.ts). Each figure's box carries
 * `data-testid="figure-<id>"` and `data-points` (points drawn, cells, or rows).
 */

import uPlot from 'uplot';
import { download, el } from './dom';
import type { Figure, Heatmap, Lines, Table } from './generated/engine';
import { Palette } from './palette';

const HEIGHT = 260;
const CELL = 9;

/** One drawn figure: its box, and how to take new data of the same figure in place. */
interface Shown {
  box: HTMLElement;
  key: string;
  update(f: Figure): void;
  png?(): Promise<Blob>;
  fit?(): void;
  destroy?(): void;
}

export class FigurePanel {
  readonly root = el('div', { class: 'figures' });
  private shown = new Map<string, Shown>();
  private palette = new Palette();
  private resize = new ResizeObserver(() => this.fit());

  /** The colours of the run's arms, for the figures made from now on. */
  setPalette(palette: Palette) {
    this.palette = palette;
  }

  /** Shows `figures`, replacing the previous set (a figure with the same id and shape is updated in place). */
  set(figures: Figure[]) {
    const next = new Map<string, Shown>();
    for (const f of figures) {
      const key = shapeKey(f);
      let s = this.shown.get(f.id);
      if (!s || s.key !== key) {
        s?.destroy?.();
        s = this.make(f, key);
      }
      s.update(f);
      next.set(f.id, s);
    }
    for (const [id, s] of this.shown) {
      if (next.get(id) === s) continue;
      s.destroy?.();
      this.resize.unobserve(s.box.querySelector('.figure-body')!);
    }
    this.shown = next;
    this.root.replaceChildren(...[...next.values()].map((s) => s.box));
    this.root.hidden = next.size === 0;
  }

  clear() {
    this.set([]);
  }

  private make(f: Figure, key: string): Shown {
    const body = el('div', { class: 'figure-body' });
    const caption = el('figcaption', {}, el('span', { class: 'chart-title' }, f.title));
    const box = el('figure', { class: `chart figure figure-${f.kind}`, testid: `figure-${f.id}`, 'data-points': 0 }, caption, body);
    const shown = f.kind === 'lines' ? lines(box, body, f, this.palette) : f.kind === 'heatmap' ? heatmapView(box, body) : table(box, body);
    const s: Shown = { box, key, ...shown };
    if (s.png) {
      const b = el('button', { type: 'button', class: 'small', title: 'save this figure as a PNG image' }, 'PNG');
      b.addEventListener('click', async () => download(`${f.id}.png`, await s.png!()));
      caption.append(b);
    }
    if (s.fit) this.resize.observe(body);
    return s;
  }

  private fit() {
    for (const s of this.shown.values()) s.fit?.();
  }
}

/** Figures of the same id are redrawn in place unless their kind, series or scales changed. */
function shapeKey(f: Figure): string {
  if (f.kind === 'lines') return ['lines', f.log_x, f.log_y, ...f.series.map((s) => `${s.arm}/${s.name}`)].join('|');
  return f.kind;
}

function lines(box: HTMLElement, body: HTMLElement, first: Lines, palette: Palette): Omit<Shown, 'box' | 'key'> {
  const opts: uPlot.Options = {
    width: Math.max(200, body.clientWidth || 480),
    height: HEIGHT,
    scales: { x: { time: false, distr: first.log_x ? 3 : 1 }, y: { distr: first.log_y ? 3 : 1 } },
    axes: [
      { label: first.x_label, stroke: '#52606d', grid: { stroke: '#eef1f4' }, ticks: { stroke: '#e4e7eb' } },
      { label: first.y_label, stroke: '#52606d', grid: { stroke: '#eef1f4' }, ticks: { stroke: '#e4e7eb' }, size: 58 },
    ],
    series: [{ label: first.x_label }, ...first.series.map((s) => ({ label: s.name, stroke: palette.color(s.arm ?? s.name), width: 2, points: { show: true, size: 4 } }))],
    legend: { live: true },
  };
  const plot = new uPlot(opts, [[]], body);
  // Non-finite values, and values a log axis cannot show, are gaps.
  const ok = (v: number, log: boolean) => Number.isFinite(v) && (!log || v > 0);
  return {
    update(f) {
      const l = f as Lines;
      const keep = l.x.map((x) => ok(x, l.log_x));
      const ys = l.series.map((s) => s.y.filter((_, i) => keep[i]).map((v) => (v !== null && ok(v, l.log_y) ? v : null)));
      plot.setData([l.x.filter((_, i) => keep[i]), ...ys]);
      box.dataset.points = String(ys.reduce((n, y) => n + y.filter((v) => v !== null).length, 0));
    },
    png: () => canvasPng(plot.ctx.canvas),
    fit() {
      const w = body.clientWidth;
      if (w > 0 && Math.abs(w - plot.width) > 1) plot.setSize({ width: w, height: HEIGHT });
    },
    destroy: () => plot.destroy(),
  };
}

/**
 * The colour of a value: probabilities (every value in [0, 1]) on a fixed white → blue scale,
 * signed values white at 0 → red below and blue above, anything else white → blue over [min, max].
 */
function colorScale(values: number[]): { color: (v: number) => string; legend: string } {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) if (Number.isFinite(v)) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  const blue = (t: number) => `rgb(${Math.round(255 - 218 * t)}, ${Math.round(255 - 156 * t)}, ${Math.round(255 - 20 * t)})`;
  const red = (t: number) => `rgb(${Math.round(255 - 35 * t)}, ${Math.round(255 - 217 * t)}, ${Math.round(255 - 217 * t)})`;
  if (lo < 0 && hi > 0) {
    const m = Math.max(-lo, hi);
    return { color: (v) => (v < 0 ? red(-v / m) : blue(v / m)), legend: `red −${fmt(m)} · white 0 · blue +${fmt(m)}` };
  }
  if (lo >= 0 && hi <= 1) return { color: (v) => blue(v), legend: `white 0 → blue 1 (here ${fmt(lo)} to ${fmt(hi)})` };
  const span = hi > lo ? hi - lo : 1;
  return { color: (v) => blue((v - lo) / span), legend: `white ${fmt(lo)} → blue ${fmt(hi)}` };
}

/** A heatmap on a canvas (scaled down by CSS to fit); the value under the pointer is shown. */
function drawHeatmap(h: Heatmap, into: HTMLElement): HTMLCanvasElement {
  const label = 34;
  const cell = Math.max(4, Math.min(CELL * 2, Math.floor(640 / Math.max(h.cols, 1))));
  const canvas = el('canvas', { width: label + h.cols * cell, height: label + h.rows * cell, class: 'heatmap' });
  const ctx = canvas.getContext('2d')!;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const { color, legend } = colorScale(h.values);
  for (let r = 0; r < h.rows; r++) {
    for (let c = 0; c < h.cols; c++) {
      const v = h.values[r * h.cols + c];
      ctx.fillStyle = Number.isFinite(v) ? color(v) : '#e4e7eb';
      ctx.fillRect(label + c * cell, label + r * cell, cell, cell);
    }
  }
  // Labels only where they fit: every k-th one.
  ctx.fillStyle = '#3e4c59';
  ctx.font = '10px system-ui, sans-serif';
  const every = Math.max(1, Math.ceil(18 / cell));
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'right';
  h.row_labels.forEach((t, r) => r % every === 0 && ctx.fillText(t, label - 3, label + (r + 0.5) * cell));
  ctx.textAlign = 'center';
  h.col_labels.forEach((t, c) => c % every === 0 && ctx.fillText(t, label + (c + 0.5) * cell, label - 8));
  const readout = el('div', { class: 'heatmap-readout' }, `${h.rows} × ${h.cols}: ${legend}; point at a cell for its value`);
  canvas.addEventListener('mousemove', (e) => {
    const rect = canvas.getBoundingClientRect();
    const c = Math.floor(((e.clientX - rect.left) * (canvas.width / rect.width) - label) / cell);
    const r = Math.floor(((e.clientY - rect.top) * (canvas.height / rect.height) - label) / cell);
    if (r >= 0 && r < h.rows && c >= 0 && c < h.cols) {
      readout.textContent = `row ${h.row_labels[r] ?? r}, column ${h.col_labels[c] ?? c}: ${fmt(h.values[r * h.cols + c])}`;
    }
  });
  into.replaceChildren(canvas, readout);
  return canvas;
}

function heatmapView(box: HTMLElement, body: HTMLElement): Omit<Shown, 'box' | 'key'> {
  let canvas: HTMLCanvasElement | null = null;
  return {
    update(f) {
      const h = f as Heatmap;
      canvas = drawHeatmap(h, body);
      box.dataset.points = String(h.rows * h.cols);
    },
    png: () => (canvas ? canvasPng(canvas) : Promise.reject(new Error('nothing drawn yet'))),
  };
}

/** A table; a row with a heatmap opens it below the table when clicked (the choice survives updates). */
function table(box: HTMLElement, body: HTMLElement): Omit<Shown, 'box' | 'key'> {
  let selected = -1;
  return {
    update(f) {
      const t = f as Table;
      const detail = el('div', { class: 'figure-detail', testid: `figure-${t.id}-detail` });
      const show = (i: number) => {
        selected = i;
        const d = t.rows[i]?.detail;
        body.querySelectorAll('tr.selected').forEach((tr) => tr.classList.remove('selected'));
        body.querySelector(`tr[data-row="${i}"]`)?.classList.add('selected');
        if (d) {
          detail.replaceChildren(el('div', { class: 'figure-detail-title' }, d.title));
          const at = el('div');
          detail.append(at);
          drawHeatmap(d, at);
        } else detail.replaceChildren();
      };
      const rows = t.rows.map((r, i) => {
        const tr = el('tr', { 'data-row': i, class: r.detail ? 'clickable' : undefined, tabindex: r.detail ? 0 : undefined }, ...r.cells.map((c) => el('td', {}, c)));
        if (r.detail) {
          tr.addEventListener('click', () => show(i));
          tr.addEventListener('keydown', (e) => (e.key === 'Enter' || e.key === ' ') && show(i));
        }
        return tr;
      });
      const empty = t.rows.length === 0 ? el('p', { class: 'figure-empty' }, 'nothing to list yet') : null;
      body.replaceChildren(
        el('div', { class: 'table-scroll' }, el('table', { class: 'figure-table' }, el('thead', {}, el('tr', {}, ...t.columns.map((c) => el('th', {}, c)))), el('tbody', {}, ...rows))),
        empty ?? '',
        detail,
      );
      if (t.rows.some((r) => r.detail)) body.prepend(el('p', { class: 'figure-hint' }, 'Click a row to see its map.'));
      show(selected >= 0 && selected < t.rows.length ? selected : -1);
      box.dataset.points = String(t.rows.length);
    },
  };
}

const fmt = (v: number) => (Number.isFinite(v) ? (Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(2) : v.toFixed(3)) : String(v));

function canvasPng(c: HTMLCanvasElement): Promise<Blob> {
  return new Promise((resolve, reject) => c.toBlob((b) => (b ? resolve(b) : reject(new Error('PNG encoding failed'))), 'image/png'));
}
