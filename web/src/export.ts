/**
 * Exports of a run's metrics: CSV (one row per evaluation point: `step` and one column per
 * metric name, `stablemax/val/acc`, …) and JSON (the same rows as objects, each metric's arm,
 * split, quantity, unit and scale, what names the run: toy, config, backend, steps and digest,
 * so a file can be traced back to its link, and the toy's latest figures). Chart PNGs come from
 * charts.ts, figure PNGs from figures.ts.
 */

import { download } from './dom';
import type { Figure, MetricInfo, MetricRow } from './generated/engine';
import type { Config } from './params';
import type { Backend } from './worker/protocol';

export interface RunRecord {
  toy: string;
  config: Config;
  backend: Backend;
  stepsDone: number;
  digest: string;
  metrics: MetricInfo[];
  rows: MetricRow[];
  /** The toy's latest figures (figures.ts); JSON only. */
  figures: Figure[];
  link: string;
}

/** A file name that says which run it is: grokking-seed7-cpu-3000steps. */
export const baseName = (r: RunRecord) => `${r.toy}-seed${r.config.seed}-${r.backend}-${r.stepsDone}steps`;

export function toCsv(r: RunRecord): string {
  const lines = [['step', ...r.metrics.map((m) => m.name)].join(',')];
  for (const row of r.rows) lines.push([row.step, ...row.values].join(','));
  return `${lines.join('\n')}\n`;
}

export function toJson(r: RunRecord): string {
  const rows = r.rows.map((row) => Object.fromEntries([['step', row.step], ...r.metrics.map((m, i) => [m.name, row.values[i]])]));
  const { toy, config, backend, stepsDone: steps, digest, link, metrics, figures } = r;
  return `${JSON.stringify({ toy, backend, config, steps, digest, link, metrics, rows, ...(figures.length ? { figures } : {}) }, null, 1)}\n`;
}

export function downloadCsv(r: RunRecord) {
  download(`${baseName(r)}.csv`, new Blob([toCsv(r)], { type: 'text/csv' }));
}

export function downloadJson(r: RunRecord) {
  download(`${baseName(r)}.json`, new Blob([toJson(r)], { type: 'application/json' }));
}
