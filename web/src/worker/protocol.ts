/**
 * The messages between the page and the training worker (worker.ts), as two unions
 * discriminated on `type` (after Piston's `train/protocol.ts`).
 *
 * State flows one way: controls → `create` → worker → `created` or `kept`, then `progress`
 * rows → charts. A run starts in one trip: `create` carries the changes as the page has them
 * (text from a link or a text box, a slider's number, a select's option); the worker has the
 * crate's `accept` parse and check them against the toy's schema and builds the accepted config.
 *
 * Every run message carries the `runId` of the `create` it answers. Ids only grow, and the
 * engine (../engine.ts) passes on a message only if its id is not older than the run on screen,
 * so late rows from a reset run never reach a chart.
 */

import type { Accepted, Figure, MetricInfo, MetricRow, ToyInfo, Verdict } from '../generated/engine';
import type { Config } from '../params';

/** The backend a person asks for; `auto` is WebGPU when it works, else the CPU. */
export type BackendChoice = 'auto' | 'webgpu' | 'cpu';
/** The backend a run actually uses (the `backend` test hook shows exactly these words). */
export type Backend = 'webgpu' | 'cpu';

/** Config changes as the page has them; the crate parses text and checks every value. */
export type Changes = Record<string, number | string>;

/**
 * An integer key that alone breaks a cross-field rule (p = 48 is not prime) moves to the
 * nearest value that works, first in `direction` (a slider's motion).
 */
export interface Snap {
  key: string;
  direction: 1 | -1;
}

export type ToWorker =
  /**
   * Starts a run: `changes` applied to `base` (a complete config; null: the toy's defaults) by
   * the crate's `accept`, one key at a time in object order, each bad one left out; then the
   * accepted config is built on `backend`, replacing the live run. With `keep` (a control's
   * edit), a live run of the same toy and backend choice whose config equals the accepted one
   * goes on untouched under this `runId`, and the answer is `kept`: a refused value restarts nothing.
   */
  | { type: 'create'; runId: number; toy: string; base: Config | null; changes: Changes; snap?: Snap; backend: BackendChoice; keep: boolean }
  /** Trains the run until it has taken exactly `target` steps, or until `pause`. */
  | { type: 'train'; runId: number; target: number }
  | { type: 'pause'; runId: number };

export type FromWorker =
  /** The wasm engine is loaded. `hasWebGpu`: whether `navigator.gpu` exists in the worker. */
  | { type: 'ready'; toys: ToyInfo[]; hasWebGpu: boolean }
  /** The engine failed to load (old browser, blocked wasm…): nothing can run. */
  | { type: 'fatal'; message: string }
  /**
   * A new run exists, built from `config`, what `accept` made of the changes (`rejected`: the
   * keys left out, with messages naming key, value and range; `snapped`: a key moved). `reason` says why it runs on `backend`, for the
   * badge; `notice` is set when the run fell back to the CPU although WebGPU was asked for
   * explicitly. `evalEvery`: the steps between metric rows.
   */
  | ({ type: 'created'; runId: number; metrics: MetricInfo[]; evalEvery: number; backend: Backend; adapter: string; reason: string; notice?: string } & Accepted)
  /** The accepted config is the live run's (every change refused, or a no-op): it goes on as `runId`. */
  | ({ type: 'kept'; runId: number } & Accepted)
  /**
   * Rows of the evaluation points passed since the last message, the steps taken so far, the
   * digest of all rows so far (equal to the CLI's for this many steps) and the recent speed.
   */
  | { type: 'progress'; runId: number; rows: MetricRow[]; stepsDone: number; digest: string; stepsPerSecond: number }
  /** The toy's figures (../figures.ts) after `stepsDone` steps: every few seconds, and when training stops. */
  | { type: 'figures'; runId: number; stepsDone: number; figures: Figure[] }
  /** Training stopped: the target was reached, or the page asked for a pause. */
  | { type: 'stopped'; runId: number; stepsDone: number; reason: 'target' | 'pause'; verdict: Verdict }
  /** WebGPU failed while building or stepping this run: the page restarts it on the CPU. */
  | { type: 'gpu-failed'; runId: number; message: string }
  /** Any other failure of this run (a CPU error, an engine that refused the request). */
  | { type: 'failed'; runId: number; message: string };
