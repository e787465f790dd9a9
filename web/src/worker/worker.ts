/**
 * The training worker: loads the wasm engine (crate/src/wasm.rs), owns the one live `Run`,
 * and trains it in chunks so that the page never waits on the engine.
 *
 * Chunking: each `run.step(n)` call is sized so that it takes about CHUNK_MS (n starts at 1 and
 * follows the measured speed, growing at most 4× per chunk). Between chunks the worker yields to
 * its message queue, so a `pause` or `create` from the page is handled within one chunk. The last chunk is cut so that the run stops exactly at the target step count: the
 * digest the page shows is then the digest of exactly that many steps, as the CLI prints it.
 *
 * Protocol: ./protocol.ts. One `step` at most is in flight per Run (the engine refuses two).
 * The wasm-bindgen bindings type their values `any`; they are cast to the generated types
 * (../generated/engine.ts) here and nowhere else.
 */

import init, { Run, accept, toys } from '../pkg/papertoys.js';
import type { Accepted, Figure, MetricInfo, MetricRow, ToyInfo, Verdict } from '../generated/engine';
import type { Config } from '../params';
import type { Backend, BackendChoice, FromWorker, ToWorker } from './protocol';

/** Wall time one chunk of steps aims for: the pause latency and the chart refresh period. */
const CHUNK_MS = 100;
/**
 * Figures are asked for at most this often while training, and at most a tenth of the time
 * (a toy's figures may cost a full evaluation), and always when training stops.
 */
const FIGURES_MS = 2000;

interface WorkerScope {
  postMessage(message: FromWorker): void;
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
}
const scope = self as unknown as WorkerScope;
const post = (message: FromWorker) => scope.postMessage(message);

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** The live run and its training loop's state. */
interface Live {
  runId: number;
  run: Run;
  /** What it was built from: a `create` that would build the same may keep it. */
  toy: string;
  config: Config;
  choice: BackendChoice;
  backend: Backend;
  /** Steps the run should have taken when the loop stops. */
  target: number;
  /** The page wants training (cleared by `pause`). */
  wanted: boolean;
  /** A loop is running (it may be awaiting a step after a pause). */
  looping: boolean;
  /** A `run.step` is in flight: the Run cannot be freed yet. */
  stepping: boolean;
  /** Replaced by a newer run: free it as soon as no step is in flight. */
  retired: boolean;
  chunk: number;
  /** The steps between metric rows (GPU chunks end on them). */
  evalEvery: number;
  stepsPerSecond: number;
  /** When figures were last asked for (0: not yet), and how long that took. */
  figuresAt: number;
  figuresMs: number;
}

let live: Live | null = null;
/** The newest `create` received; a slower, older create that finishes later is discarded. */
let newestRunId = -1;
/** Why WebGPU failed during training in this tab; `auto` then picks the CPU. */
let gpuBroken: string | null = null;

function retire(l: Live) {
  l.retired = true;
  l.wanted = false;
  if (!l.stepping) l.run.free();
}

/** Resolves after the worker has had a chance to handle the messages queued meanwhile. */
function yieldToMessages(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(null);
  });
}

/** The adapter's description without empty parts (SwiftShader reports no name: " / BrowserWebGpu"). */
const adapterName = (a: string) => a.split('/').map((s) => s.trim()).filter(Boolean).join(' / ') || 'an unnamed adapter';

// ---- runs -------------------------------------------------------------------------------

async function build(toy: string, config: Config, choice: BackendChoice): Promise<{ run: Run; reason: string; notice?: string }> {
  if (choice === 'cpu') return { run: await Run.create(toy, config, 'cpu'), reason: 'CPU (WebAssembly), as chosen' };
  let why: string;
  if (!('gpu' in navigator)) {
    why = 'navigator.gpu is missing';
  } else if (choice === 'auto' && gpuBroken !== null) {
    why = `it failed earlier in this tab (${gpuBroken})`;
  } else {
    try {
      const run = await Run.create(toy, config, 'webgpu');
      const software = run.software_adapter ? ' (a software adapter: correct, not fast)' : '';
      return { run, reason: `WebGPU on ${adapterName(run.adapter)}${software}` };
    } catch (e) {
      why = messageOf(e);
    }
  }
  const run = await Run.create(toy, config, 'cpu');
  const reason = `WebGPU unavailable: ${why}`;
  const notice = choice === 'webgpu' ? 'WebGPU was asked for but is unavailable here (the reason is next to the backend badge); this run uses the CPU instead.' : undefined;
  return { run, reason, notice };
}

const sameConfig = (a: Config, b: Config) => Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v);

async function create(msg: Extract<ToWorker, { type: 'create' }>) {
  newestRunId = msg.runId;
  let verdict: Accepted;
  try {
    verdict = accept(msg.toy, msg.base, msg.changes, msg.snap?.key, msg.snap?.direction ?? 1) as Accepted;
  } catch (e) {
    post({ type: 'failed', runId: msg.runId, message: messageOf(e) });
    return;
  }
  const { config, rejected, snapped } = verdict;
  if (msg.keep && live && live.toy === msg.toy && live.choice === msg.backend && sameConfig(live.config, config)) {
    live.runId = msg.runId; // its next rows answer to the page's newest id
    post({ type: 'kept', runId: msg.runId, config, rejected, snapped });
    return;
  }
  if (live) retire(live);
  live = null;
  try {
    const { run, reason, notice } = await build(msg.toy, config, msg.backend);
    if (msg.runId !== newestRunId) {
      run.free(); // a newer create came in while this one was building
      return;
    }
    const backend: Backend = run.backend === 'webgpu' ? 'webgpu' : 'cpu';
    const evalEvery = run.eval_every;
    live = { runId: msg.runId, run, toy: msg.toy, config, choice: msg.backend, backend, target: 0, wanted: false, looping: false, stepping: false, retired: false, chunk: 1, evalEvery, stepsPerSecond: 0, figuresAt: 0, figuresMs: 0 };
    post({ type: 'created', runId: msg.runId, config, rejected, snapped, metrics: run.metrics as MetricInfo[], evalEvery, backend, adapter: run.adapter, reason, notice });
  } catch (e) {
    if (msg.runId === newestRunId) post({ type: 'failed', runId: msg.runId, message: messageOf(e) });
  }
}

/**
 * Steps in the next chunk: about CHUNK_MS of work, never past the target. On WebGPU a chunk
 * also ends at an evaluation point: `run.step` resolves when its metric rows are read back, and
 * a chunk without one would only queue GPU work, so its time would say nothing. (The first
 * chunk, one step, always reads back the row of step 0: the first point shows up soonest.)
 */
function chunkSize(l: Live): number {
  const done = l.run.steps_done;
  let end = done + Math.max(1, l.chunk);
  if (l.backend === 'webgpu' && done > 0) end = Math.ceil(end / l.evalEvery) * l.evalEvery;
  return Math.max(1, Math.min(end, l.target) - done);
}

/**
 * Runs `work` on the run (a step or figures call: one at a time). Returns false when the run
 * failed or was retired meanwhile; the loop must then stop.
 */
async function use<T>(l: Live, work: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false }> {
  l.stepping = true;
  try {
    const value = await work();
    if (l.retired) throw null;
    return { ok: true, value };
  } catch (e) {
    l.looping = false;
    if (!l.retired) fail(l, messageOf(e));
    l.run.free();
    return { ok: false };
  } finally {
    l.stepping = false;
  }
}

async function postFigures(l: Live): Promise<boolean> {
  const t0 = performance.now();
  const r = await use(l, () => l.run.figures() as Promise<Figure[]>);
  if (!r.ok) return false;
  l.figuresAt = performance.now();
  l.figuresMs = l.figuresAt - t0;
  if (r.value.length > 0) post({ type: 'figures', runId: l.runId, stepsDone: l.run.steps_done, figures: r.value });
  return true;
}

async function loop(l: Live) {
  l.looping = true;
  for (;;) {
    while (l.wanted && !l.retired && l.run.steps_done < l.target) {
      const n = chunkSize(l);
      const t0 = performance.now();
      const r = await use(l, () => l.run.step(n) as Promise<MetricRow[]>);
      if (!r.ok) return;
      const rate = (n * 1000) / Math.max(performance.now() - t0, 0.5);
      l.stepsPerSecond = l.stepsPerSecond === 0 ? rate : 0.7 * l.stepsPerSecond + 0.3 * rate;
      l.chunk = Math.max(1, Math.min(Math.round((rate * CHUNK_MS) / 1000), l.chunk * 4));
      post({ type: 'progress', runId: l.runId, rows: r.value, stepsDone: l.run.steps_done, digest: l.run.digest(), stepsPerSecond: l.stepsPerSecond });
      if (performance.now() - l.figuresAt >= Math.max(FIGURES_MS, 10 * l.figuresMs) && !(await postFigures(l))) return;
      await yieldToMessages();
    }
    if (l.retired) break;
    if (!(await postFigures(l))) return;
    // A `train` with a later target may have come in while the figures were computed.
    if (!(l.wanted && l.run.steps_done < l.target)) break;
  }
  l.looping = false;
  if (l.retired) return;
  // The verdict reads the figures just computed for this step count: no second evaluation.
  const verdict = await use(l, () => l.run.verdict() as Promise<Verdict>);
  if (!verdict.ok) return;
  const stepsDone = l.run.steps_done;
  post({ type: 'stopped', runId: l.runId, stepsDone, reason: stepsDone >= l.target ? 'target' : 'pause', verdict: verdict.value });
}

/** A failed step: on WebGPU the page restarts the run on the CPU; on the CPU it is an error. */
function fail(l: Live, message: string) {
  l.retired = true;
  if (live === l) live = null;
  if (l.backend === 'webgpu') {
    gpuBroken = message;
    post({ type: 'gpu-failed', runId: l.runId, message });
  } else {
    post({ type: 'failed', runId: l.runId, message });
  }
}

// ---- start ------------------------------------------------------------------------------

function start() {
  // Listen at once; each message waits for the engine, so none is lost while it loads, and
  // they are handled in order (the awaits of one promise resume first come, first served).
  const loaded: Promise<ToyInfo[] | null> = init().then(
    () => toys() as ToyInfo[],
    (e: unknown) => {
      post({ type: 'fatal', message: `the training engine (WebAssembly) failed to load: ${messageOf(e)}` });
      return null;
    },
  );
  scope.onmessage = async ({ data: msg }) => {
    if (!(await loaded)) return;
    switch (msg.type) {
      case 'create':
        void create(msg);
        break;
      case 'train':
        if (live && live.runId === msg.runId) {
          live.target = msg.target;
          live.wanted = true;
          if (!live.looping) void loop(live);
        }
        break;
      case 'pause':
        if (live && live.runId === msg.runId) live.wanted = false;
        break;
    }
  };
  void loaded.then((table) => table && post({ type: 'ready', toys: table, hasWebGpu: 'gpu' in navigator }));
}

start();
