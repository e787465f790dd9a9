/**
 * How a series looks: one colour per arm (a toy's model or method, `MetricInfo.arm`), the same
 * in every chart and in every figure series of that arm (`Series.arm`), and one dash pattern
 * per split (the first split drawn solid). Colours and dashes go in order of first appearance.
 */

import type { MetricInfo } from './generated/engine';

const COLORS = ['#2563eb', '#e8590c', '#0d9488', '#db2777', '#65a30d', '#7c3aed', '#475569', '#ca8a04'];
const DASHES: number[][] = [[], [6, 4], [2, 3], [10, 3, 2, 3]];

export class Palette {
  private arms = new Map<string, string>();
  private splits = new Map<string, number[]>();

  constructor(metrics: MetricInfo[] = []) {
    for (const m of metrics) {
      this.color(m.arm.id);
      if (!this.splits.has(m.split.id)) this.splits.set(m.split.id, DASHES[this.splits.size % DASHES.length]);
    }
  }

  /**
   * The colour of an arm id; one that no metric names (a figure's own series: a sampler, a
   * baseline), or a figure series' name when it has no arm, gets the next free colour.
   */
  color(key: string): string {
    let c = this.arms.get(key);
    if (!c) {
      c = COLORS[this.arms.size % COLORS.length];
      this.arms.set(key, c);
    }
    return c;
  }

  /** The split's dash pattern for a canvas `setLineDash` (solid: empty). */
  dash(split: string): number[] {
    return this.splits.get(split) ?? [];
  }
}
