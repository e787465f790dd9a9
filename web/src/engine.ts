/**
 * The page's handle on the training worker (worker/worker.ts): starts it, answers `validate`
 * requests with promises, and numbers runs. Messages of any run but the newest are dropped
 * here, so the rest of the page only ever hears about the run it shows.
 */

import type { Config, ToyInfo } from './params';
import type { BackendChoice, FromWorker, ToWorker } from './worker/protocol';

export type Validated = Extract<FromWorker, { type: 'validated' }>;
/** Messages about the current run. */
export type RunMessage = Extract<FromWorker, { runId: number }>;

export class Engine {
  /** Resolves once the wasm engine is loaded in the worker. */
  ready!: Promise<{ toys: ToyInfo[]; hasWebGpu: boolean }>;
  /** Called with each message of the current run. */
  onRun: (m: RunMessage) => void = () => {};

  private worker!: Worker;
  private requests = new Map<number, (m: Validated) => void>();
  private nextRequest = 1;
  private runId = 0;

  constructor() {
    this.spawn();
  }

  /**
   * Replaces the worker with a fresh one (after a WebGPU failure: a wasm trap can leave the
   * old instance in any state). Resolves when the new one is ready.
   */
  async respawn(): Promise<void> {
    this.worker.terminate();
    this.requests.clear();
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
          case 'validated':
            this.requests.get(data.requestId)?.(data);
            this.requests.delete(data.requestId);
            break;
          default:
            if (data.runId === this.runId) this.onRun(data);
        }
      };
    });
  }

  /** Checks overrides in the worker (see the `validate` message in protocol.ts). */
  validate(toy: string, overrides: Config, snap?: { key: string; direction: 1 | -1 }): Promise<Validated> {
    const requestId = this.nextRequest++;
    return new Promise((resolve) => {
      this.requests.set(requestId, resolve);
      this.send({ type: 'validate', requestId, toy, overrides, snap });
    });
  }

  /** Starts a new run; from now on only its messages reach `onRun`. */
  create(toy: string, config: Config, backend: BackendChoice): void {
    this.runId += 1;
    this.send({ type: 'create', runId: this.runId, toy, config, backend });
  }

  train(target: number): void {
    this.send({ type: 'train', runId: this.runId, target });
  }

  pause(): void {
    this.send({ type: 'pause', runId: this.runId });
  }

  private send(message: ToWorker) {
    this.worker.postMessage(message);
  }
}
