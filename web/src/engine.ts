/**
 * The page's handle on the training worker (worker/worker.ts): starts it and numbers runs.
 * Messages of runs older than the one on screen are dropped here, so the rest of the page only
 * ever hears about the run it shows (or the one it asked for next).
 */

import type { ToyInfo } from './generated/engine';
import type { Config } from './params';
import type { BackendChoice, Changes, FromWorker, Snap, ToWorker } from './worker/protocol';

/** Messages about the current run. */
export type RunMessage = Extract<FromWorker, { runId: number }>;

/** What a `create` asks for (see the message in worker/protocol.ts). */
export interface CreateRequest {
  toy: string;
  base: Config | null;
  changes: Changes;
  snap?: Snap;
  backend: BackendChoice;
  keep: boolean;
}

export class Engine {
  /** Resolves once the wasm engine is loaded in the worker. */
  ready!: Promise<{ toys: ToyInfo[]; hasWebGpu: boolean }>;
  /** Called with each message of the current run. */
  onRun: (m: RunMessage) => void = () => {};

  private worker!: Worker;
  /** The id of the newest `create`. */
  private newest = 0;
  /**
   * Messages with an older id than this are dropped. A `create` that may keep the live run
   * leaves it where it is, so the live run's rows still arrive until the worker answers (the
   * worker then goes on under the new id); any other `create` moves it at once.
   */
  private oldest = 0;

  constructor() {
    this.spawn();
  }

  /**
   * Replaces the worker with a fresh one (after a WebGPU failure: a wasm trap can leave the
   * old instance in any state). Resolves when the new one is ready.
   */
  async respawn(): Promise<void> {
    this.worker.terminate();
    this.spawn();
    await this.ready;
  }

  private spawn() {
    this.worker = new Worker(new URL('./worker/worker.ts', import.meta.url), { type: 'module', name: 'papertoys-trainer' });
    this.ready = new Promise((resolve, reject) => {
      this.worker.onerror = (e) => reject(new Error(`the training worker failed to start: ${e.message || 'unknown error'}`));
      this.worker.onmessage = ({ data }: MessageEvent<FromWorker>) => {
        switch (data.type) {
          case 'ready':
            resolve({ toys: data.toys, hasWebGpu: data.hasWebGpu });
            break;
          case 'fatal':
            reject(new Error(data.message));
            break;
          default:
            // The worker posts ids in increasing order: one at least `oldest` is the run on screen or a newer one.
            if (data.runId < this.oldest) break;
            this.oldest = data.runId;
            this.onRun(data);
        }
      };
    });
  }

  /**
   * Starts a run (or, with `keep`, may go on with the live one); answered by `created`, `kept`
   * or `failed` with the returned run id.
   */
  create(request: CreateRequest): number {
    this.newest += 1;
    if (!request.keep) this.oldest = this.newest;
    this.send({ type: 'create', runId: this.newest, ...request });
    return this.newest;
  }

  train(target: number): void {
    this.send({ type: 'train', runId: this.newest, target });
  }

  pause(): void {
    this.send({ type: 'pause', runId: this.newest });
  }

  private send(message: ToWorker) {
    this.worker.postMessage(message);
  }
}
