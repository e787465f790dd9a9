/**
 * The messages between the page and the training worker (worker.ts), as two unions
 * discriminated on `type` (after Piston's `train/protocol.ts`).
 *
 * State flows one way: controls → run spec → `create` → worker → `progress` rows → charts.
 * Every run message carries the `runId` of the run it belongs to; the page drops a message
 * whose `runId` is not its current run's, so late rows from a reset run never reach a chart.
 */

import type { Figure } from '../figures';
import type { Config, ToyInfo } from '../params';

/** The backend a person asks for; `auto` is WebGPU when it works, else the CPU. */
export type BackendChoice = 'auto' | 'webgpu' | 'cpu';
/** The backend a run actually uses (the `backend` test hook shows exactly these words). */
export type Backend = 'webgpu' | 'cpu';

/** One metric row: the step and one value per metric name (`train/loss`, `val/acc`, …). */
export interface Row {
  step: number;
  values: number[];
}

/** A config key that validation refused, with the crate's message naming key, value and range. */
export interface Rejected {
  key: string;
  message: string;
}

/** An integer key moved to the nearest valid value; `message` says why `from` was refused. */
export interface Snapped {
  key: string;
  from: number;
  to: number;
  message: string;
}

export type ToWorker =
  /**
   * Checks `overrides` against the toy (ranges and cross-field rules such as "heads divides
   * d_model"). Keys are tried in object order; a key that makes the config invalid is left out
   * (and listed in `rejected`), so the reply's config is always one that runs.
   * `snap`: when that integer key alone breaks a cross-field rule (p = 48 is not prime), the
   * worker moves it to the nearest value that works, first in `direction` (a slider's motion).
   */
  | { type: 'validate'; requestId: number; toy: string; overrides: Config; snap?: { key: string; direction: 1 | -1 } }
  /** Builds a run (it replaces any earlier run). `config` is complete and already validated. */
  | { type: 'create'; runId: number; toy: string; config: Config; backend: BackendChoice }
  /** Trains the run until it has taken exactly `target` steps, or until `pause`. */
  | { type: 'train'; runId: number; target: number }
  | { type: 'pause'; runId: number };

export type FromWorker =
  /** The wasm engine is loaded. `hasWebGpu`: whether `navigator.gpu` exists in the worker. */
  | { type: 'ready'; toys: ToyInfo[]; hasWebGpu: boolean }
  /** The engine failed to load (old browser, blocked wasm…): nothing can run. */
  | { type: 'fatal'; message: string }
  | { type: 'validated'; requestId: number; config: Config; rejected: Rejected[]; snapped?: Snapped }
  /**
   * The run exists. `reason` says why it runs on `backend`, for the badge; `notice` is set when
   * the run fell back to the CPU although WebGPU was asked for explicitly.
   */
  | { type: 'created'; runId: number; backend: Backend; adapter: string; reason: string; notice?: string; metricNames: string[] }
  /**
   * Rows of the evaluation points passed since the last message, the steps taken so far, the
   * digest of all rows so far (equal to the CLI's for this many steps) and the recent speed.
   */
  | { type: 'progress'; runId: number; rows: Row[]; stepsDone: number; digest: string; stepsPerSecond: number }
  /** The toy's figures (../figures.ts) after `stepsDone` steps: every few seconds, and when training stops. */
  | { type: 'figures'; runId: number; stepsDone: number; figures: Figure[] }
  /** Training stopped: the target was reached, or the page asked for a pause. */
  | { type: 'stopped'; runId: number; stepsDone: number; reason: 'target' | 'pause' }
  /** WebGPU failed while building or stepping this run: the page restarts it on the CPU. */
  | { type: 'gpu-failed'; runId: number; message: string }
  /** Any other failure of this run (a bad config that slipped through, a CPU error). */
  | { type: 'failed'; runId: number; message: string };
