/**
 * The toy panel — the part of a page that an iframe embeds: play / pause / step / reset, the
 * status line (step, steps/s, backend), the controls, the live charts, the run digest, and the
 * share / export buttons. It owns the run spec and follows one run at a time:
 *
 *     controls → changes → engine.create → worker (`accept`, build) → `created` / `kept`
 *              → `progress` rows → charts and status
 *
 * A change goes to the worker as the control has it; the crate checks it, and the answer's
 * config is the one in force. A refused control value restarts nothing: the worker keeps the
 * live run (`kept`), and the page clears its charts only when a new run is `created`.
 *
 * Test hooks (`data-testid`): play, pause, step-once, reset, step, steps-per-second, backend,
 * backend-reason, digest, error, notice, share, status, log-x, export-csv, export-json; the
 * charts and the share dialog add theirs.
 */

import { MetricCharts } from './charts';
import { FigurePanel } from './figures';
import { Controls } from './controls';
import { download, el, setMessage } from './dom';
import type { Engine, RunMessage } from './engine';
import { downloadCsv, downloadJson, baseName, type RunRecord } from './export';
import type { Accepted, Figure, MetricInfo, MetricRow, ToyInfo, Verdict } from './generated/engine';
import { Palette } from './palette';
import { formatValue, type Value } from './params';
import { ShareDialog, cliCommand } from './share/dialog';
import { shareUrls, type RunSpec, type ViewOptions } from './share/link';
import type { Backend, BackendChoice, Changes, Snap } from './worker/protocol';

type Phase = 'building' | 'ready' | 'done' | 'failed';
/** Why a run was asked for: it decides where the messages about refused keys show. */
type Reason = 'link' | 'control' | 'try' | 'restart';

export interface PlaygroundOptions {
  engine: Engine;
  toy: ToyInfo;
  /** `config`: the toy's defaults until the worker answers with the config in force. */
  spec: RunSpec;
  view: ViewOptions;
  /** Problems found in the link's own keys (toy, v, backend, steps, view options), shown in the error area. */
  problems: string[];
  /** Called whenever the run spec changes (the shell keeps the address bar in step). */
  onSpec?: (spec: RunSpec) => void;
}

const fmtInt = (n: number) => n.toLocaleString('en-US');
const randomSeed = () => 1 + Math.floor(Math.random() * 999_999);

export class Playground {
  readonly root: HTMLElement;
  spec: RunSpec;

  private engine: Engine;
  private toy: ToyInfo;
  private controls: Controls;
  private charts: MetricCharts;
  private figures = new FigurePanel();
  /** The latest figures, for the JSON export. */
  private figureData: Figure[] = [];
  private share: ShareDialog;
  private onSpec: (spec: RunSpec) => void;
  private linkProblems: string[];

  // Requests the worker has not answered: why each was made, by run id, and the changes of the
  // newest, which include every earlier unanswered one (a second edit before the first answer
  // must not lose the first).
  private reasons = new Map<number, Reason>();
  private unanswered: Changes = {};
  private newestRequest = 0;
  /** The worker has answered once: `spec.config` is the config in force. */
  private answered = false;

  // The run on screen.
  private phase: Phase = 'building';
  private playing = false;
  private backend: Backend | null = null;
  private metrics: MetricInfo[] = [];
  private evalEvery = 1;
  private rows: MetricRow[] = [];
  private stepsDone = 0;
  private digest = '';
  private stepsPerSecond = 0;
  /** Why the run is on the CPU after a WebGPU failure (until the backend is chosen again). */
  private fallbackReason: string | null = null;

  // Elements the status updates touch.
  private ui = {
    play: el('button', { type: 'button', class: 'primary', testid: 'play', title: 'train until the target step count' }, '▶ Play'),
    pause: el('button', { type: 'button', testid: 'pause', title: 'pause training' }, '❚❚ Pause'),
    stepOnce: el('button', { type: 'button', testid: 'step-once', title: 'train one evaluation interval (eval_every steps)' }, 'Step'),
    reset: el('button', { type: 'button', testid: 'reset', title: 'start this run again from step 0' }, '↺ Reset'),
    shareButton: el('button', { type: 'button', class: 'share-button', testid: 'share' }, 'Share / embed'),
    step: el('span', { class: 'num', testid: 'step' }, '0'),
    target: el('span', { class: 'num' }, ''),
    sps: el('span', { class: 'num', testid: 'steps-per-second' }, '0'),
    status: el('span', { class: 'status', testid: 'status' }, 'starting…'),
    bar: el('div', { class: 'progress-fill' }),
    backend: el('span', { class: 'badge', testid: 'backend' }, ''),
    reason: el('span', { class: 'reason', testid: 'backend-reason', tabindex: 0 }, ''),
    notice: el('div', { class: 'notice', testid: 'notice', role: 'status', hidden: true }),
    error: el('div', { class: 'error', testid: 'error', role: 'alert', hidden: true }),
    digest: el('code', { class: 'digest', testid: 'digest' }, ''),
    digestSteps: el('span', { class: 'num', testid: 'digest-steps' }, ''),
    digestNote: el('span', { class: 'digest-note' }, ''),
    logX: el('input', { type: 'checkbox', testid: 'log-x' }),
    digestLine: el('p', { class: 'digest-line', hidden: true }),
    verdict: el('p', { class: 'verdict', testid: 'verdict', role: 'status', hidden: true }),
  };

  constructor(o: PlaygroundOptions) {
    this.engine = o.engine;
    this.toy = o.toy;
    this.spec = o.spec;
    this.onSpec = o.onSpec ?? (() => {});
    this.linkProblems = o.problems;
    this.engine.onRun = (m) => this.onMessage(m);

    this.controls = new Controls(o.toy, {
      onParam: (name, value, direction) => this.change(name, value, direction),
      onSteps: (n) => this.setSteps(n),
      onBackend: (b) => this.setBackend(b),
      onNewSeed: () => this.change('seed', randomSeed(), 1),
    });
    this.controls.set(this.spec.config, this.spec.steps, this.spec.backend);
    this.controls.hide(o.view.hide);

    this.charts = new MetricCharts((group) => {
      const b = el('button', { type: 'button', class: 'small', testid: `export-png-${group}`, title: 'save this chart as a PNG image' }, 'PNG');
      b.addEventListener('click', async () => download(`${baseName(this.record())}-${group}.png`, await this.charts.png(group)));
      return b;
    });
    this.share = new ShareDialog(o.toy, o.view.hide);

    const u = this.ui;
    u.play.addEventListener('click', () => this.play());
    u.pause.addEventListener('click', () => this.pause());
    u.stepOnce.addEventListener('click', () => this.stepOnce());
    u.reset.addEventListener('click', () => {
      this.clearError();
      this.restart(false);
    });
    u.shareButton.addEventListener('click', () => this.share.open());
    u.logX.addEventListener('change', () => this.charts.setLogX(u.logX.checked));
    // A long reason (a driver's whole error) shows two lines; a click shows all of it.
    u.reason.addEventListener('click', () => u.reason.classList.toggle('open'));
    const csv = el('button', { type: 'button', class: 'small', testid: 'export-csv', title: 'metrics as CSV' }, 'CSV');
    csv.addEventListener('click', () => downloadCsv(this.record()));
    const json = el('button', { type: 'button', class: 'small', testid: 'export-json', title: 'metrics and run settings as JSON' }, 'JSON');
    json.addEventListener('click', () => downloadJson(this.record()));

    const toolbar = el(
      'div',
      { class: 'toolbar' },
      el('div', { class: 'buttons' }, u.play, u.pause, u.stepOnce, u.reset),
      el(
        'div',
        { class: 'readout' },
        el('span', { class: 'stat' }, el('span', { class: 'stat-label' }, 'step '), u.step, u.target),
        el('span', { class: 'stat' }, u.sps, el('span', { class: 'stat-label' }, ' steps/s')),
        u.status,
      ),
      u.shareButton,
    );
    u.digestLine.append('Run digest ', u.digest, ' after ', u.digestSteps, ' steps. ', u.digestNote);
    const backendLine = el('div', { class: 'backend-line' }, u.backend, u.reason);
    const chartsBox = el(
      'section',
      { class: 'chart-area', 'aria-label': 'charts' },
      el('div', { class: 'chart-tools' }, el('label', { class: 'check' }, u.logX, 'log-x'), el('span', { class: 'spacer' }), el('span', { class: 'stat-label' }, 'metrics: '), csv, json),
      this.charts.root,
      this.figures.root,
      u.digestLine,
    );
    this.root = el(
      'div',
      { class: 'playground' },
      toolbar,
      el('div', { class: 'progress', 'aria-hidden': 'true' }, u.bar),
      backendLine,
      u.notice,
      u.error,
      u.verdict,
      el('div', { class: 'workspace' }, el('aside', { class: 'control-area', 'aria-label': 'settings' }, this.controls.root), chartsBox),
      this.share.dialog,
    );
    this.showProblems(o.problems);
    this.render();
  }

  // ---- actions --------------------------------------------------------------------------

  /** The first run: the link's config keys as written, for the crate to check; `play` trains it at once. */
  start(changes: Changes, play: boolean) {
    this.playing = play;
    this.ask('link', changes, { keep: false });
  }

  /** Builds the run named by the spec from step 0; `play` trains it as soon as it exists. */
  restart(play = this.playing) {
    this.playing = play;
    this.ask('restart', {}, { keep: false });
  }

  play() {
    if (this.phase === 'failed' || (this.phase !== 'building' && this.stepsDone >= this.spec.steps)) return;
    this.playing = true;
    if (this.phase === 'ready') this.engine.train(this.spec.steps);
    this.render();
  }

  pause() {
    this.playing = false;
    this.engine.pause();
    this.render();
  }

  /** Trains to the next evaluation point (one `eval_every` interval). */
  stepOnce() {
    if (this.phase !== 'ready' || this.playing) return;
    const every = this.evalEvery;
    this.engine.train(Math.min(this.spec.steps, (Math.floor(this.stepsDone / every) + 1) * every));
  }

  /** Applies a "what to try" item: changes the config, restarts and trains. */
  apply(set: Changes, opts: { steps?: number; newSeed?: boolean; logX?: boolean } = {}) {
    if (opts.logX !== undefined) {
      this.ui.logX.checked = opts.logX;
      this.charts.setLogX(opts.logX);
    }
    const changes: Changes = { ...set };
    if (opts.newSeed) changes.seed = randomSeed();
    if (Object.keys(changes).length > 0) {
      if (opts.steps) this.spec = { ...this.spec, steps: opts.steps };
      this.playing = true;
      this.ask('try', changes, { keep: false });
      return;
    }
    // A longer run continues the one on screen when nothing else changes.
    if (opts.steps) {
      this.setSteps(opts.steps);
      this.controls.set(this.spec.config, this.spec.steps, this.spec.backend);
    }
    if (this.phase === 'done') this.restart(true);
    else this.play();
  }

  /** A control changed one config key: the worker checks it and restarts the run only if the config changed. */
  private change(name: string, value: Value, direction: 1 | -1) {
    this.ask('control', { [name]: value }, { keep: true, snap: { key: name, direction } });
  }

  /**
   * Sends `changes` (after any not yet answered, which they override) to the worker against
   * the config in force. A request that cannot keep the live run starts a new one for sure:
   * the run on screen is cleared at once.
   */
  private ask(reason: Reason, changes: Changes, o: { keep: boolean; snap?: Snap }) {
    const all: Changes = { ...this.unanswered };
    for (const key of Object.keys(changes)) delete all[key]; // last, so that a refused key is one of these
    Object.assign(all, changes);
    this.unanswered = all;
    this.newestRequest = this.engine.create({ toy: this.toy.id, base: this.spec.config, changes: all, snap: o.snap, backend: this.spec.backend, keep: o.keep });
    this.reasons.set(this.newestRequest, reason);
    if (!o.keep) this.clearRun();
    this.render();
  }

  /** Forgets the run on screen: a new one is being built. */
  private clearRun() {
    this.phase = 'building';
    this.rows = [];
    this.stepsDone = 0;
    this.digest = '';
    this.stepsPerSecond = 0;
    this.charts.setRows([]);
    this.figures.clear();
    this.figureData = [];
    this.ui.verdict.hidden = true;
  }

  /** What the run shows of the toy's claim, in one line: at the end, or so far when paused. */
  private showVerdict(v: Verdict, final: boolean) {
    const u = this.ui.verdict;
    u.hidden = false;
    u.dataset.shown = String(v.shown);
    const mark = v.shown ? 'The claim shows' : final ? 'The claim did not show' : 'Not shown yet';
    u.replaceChildren(el('strong', {}, `${mark}${final ? '' : ` (step ${fmtInt(this.stepsDone)})`}: `), v.line);
  }

  private setSteps(n: number) {
    this.spec = { ...this.spec, steps: n };
    if (n < this.stepsDone) {
      this.restart(); // the run is past the new target: its digest would not be of n steps
      return;
    }
    if (this.phase === 'done' && n > this.stepsDone) this.phase = 'ready';
    if (this.phase === 'ready' && n === this.stepsDone && this.stepsDone > 0) this.phase = 'done';
    if (this.playing) this.engine.train(n);
    this.specChanged();
    this.render();
  }

  private setBackend(choice: BackendChoice) {
    this.fallbackReason = null;
    this.spec = { ...this.spec, backend: choice };
    this.restart();
  }

  /** WebGPU failed mid-run: restart the same run on the CPU, in a fresh worker, and say so. */
  private async fallBackToCpu(message: string) {
    setMessage(this.ui.notice, `WebGPU failed during training (${message}). The run restarted on the CPU with the same settings.`);
    this.ui.notice.dataset.sticky = '1';
    this.fallbackReason = `WebGPU failed during training (${message}); CPU (WebAssembly) since`;
    this.spec = { ...this.spec, backend: 'cpu' };
    this.controls.set(this.spec.config, this.spec.steps, this.spec.backend);
    this.phase = 'building';
    this.render();
    try {
      await this.engine.respawn();
    } catch (e) {
      this.phase = 'failed';
      this.showProblems([`The training engine could not be restarted: ${e instanceof Error ? e.message : String(e)}`]);
      this.render();
      return;
    }
    this.restart();
  }

  // ---- worker messages ------------------------------------------------------------------

  /**
   * The worker answered the request `runId` (and so every older one): the config in force,
   * and a message for each key it refused, under its control, or in the error area when it
   * came from the link or names no setting of this toy.
   */
  private answer(runId: number, verdict: Accepted) {
    const reason = this.settle(runId);
    this.answered = true;
    this.spec = { ...this.spec, config: verdict.config };
    this.controls.set(this.spec.config, this.spec.steps, this.spec.backend);
    const loose: string[] = [];
    for (const r of verdict.rejected) {
      const v = verdict.config[r.key];
      if (v === undefined) loose.push(`${r.message}; ignored.`);
      else if (reason === 'link') loose.push(`${r.message}; using the default ${formatValue(v)}.`);
      else this.controls.say(r.key, `${r.message}; kept ${formatValue(v)}.`);
    }
    if (verdict.snapped) this.controls.say(verdict.snapped.key, `${verdict.snapped.message}; using ${verdict.snapped.to}, the nearest value that works.`, 'info');
    this.showProblems(reason === 'link' ? [...this.linkProblems, ...loose] : loose);
    this.specChanged();
  }

  /** Forgets the requests up to `runId`, now answered; returns why that one was made. */
  private settle(runId: number): Reason {
    const reason = this.reasons.get(runId) ?? 'restart';
    for (const id of this.reasons.keys()) if (id <= runId) this.reasons.delete(id);
    if (runId === this.newestRequest) this.unanswered = {};
    return reason;
  }

  private onMessage(m: RunMessage) {
    switch (m.type) {
      case 'created': {
        this.backend = m.backend;
        this.answer(m.runId, m);
        this.clearRun();
        setMessage(this.ui.reason, m.backend === 'cpu' && this.fallbackReason ? this.fallbackReason : m.reason);
        this.ui.reason.title = this.ui.reason.textContent ?? '';
        if (m.notice) setMessage(this.ui.notice, m.notice);
        else if (!this.ui.notice.dataset.sticky) setMessage(this.ui.notice, '');
        delete this.ui.notice.dataset.sticky;
        this.metrics = m.metrics;
        this.evalEvery = m.evalEvery;
        const palette = new Palette(m.metrics);
        this.charts.setMetrics(m.metrics, palette);
        this.figures.setPalette(palette);
        this.phase = 'ready';
        if (this.playing) this.engine.train(this.spec.steps);
        break;
      }
      case 'kept':
        this.answer(m.runId, m);
        break;
      case 'progress':
        this.rows = this.rows.concat(m.rows);
        this.charts.setRows(m.rows, true);
        this.stepsDone = m.stepsDone;
        this.digest = m.digest;
        this.stepsPerSecond = m.stepsPerSecond;
        break;
      case 'figures':
        this.figureData = m.figures;
        this.figures.set(m.figures);
        break;
      case 'stopped':
        this.stepsDone = m.stepsDone;
        this.showVerdict(m.verdict, m.reason === 'target' && m.stepsDone >= this.spec.steps);
        // A stop at an older target (the target was raised meanwhile) is not the end.
        if (m.reason === 'target' && m.stepsDone >= this.spec.steps) {
          this.playing = false;
          this.phase = 'done';
          this.charts.flush();
        }
        break;
      case 'gpu-failed':
        void this.fallBackToCpu(m.message);
        break;
      case 'failed':
        this.settle(m.runId);
        this.playing = false;
        this.phase = 'failed';
        this.showProblems([`The run failed: ${m.message}`]);
        break;
    }
    this.render();
  }

  // ---- display --------------------------------------------------------------------------

  private showProblems(problems: string[]) {
    const e = this.ui.error;
    e.replaceChildren(...problems.map((p) => el('p', {}, p)));
    e.hidden = problems.length === 0;
  }

  private clearError() {
    this.showProblems([]);
  }

  /** The address bar and the share dialog follow the spec, once it holds the config in force. */
  private specChanged() {
    if (!this.answered) return;
    this.onSpec(this.spec);
    this.share.update(this.spec, this.backend ?? (this.spec.backend === 'webgpu' ? 'webgpu' : 'cpu'));
  }

  private render() {
    const u = this.ui;
    const done = this.stepsDone >= this.spec.steps;
    u.play.disabled = this.playing || done || this.phase === 'failed';
    u.pause.disabled = !this.playing;
    u.stepOnce.disabled = this.playing || done || this.phase !== 'ready';
    u.step.textContent = String(this.stepsDone);
    u.target.textContent = ` / ${fmtInt(this.spec.steps)}`;
    const sps = this.stepsPerSecond;
    u.sps.textContent = sps >= 100 ? String(Math.round(sps)) : sps.toFixed(1);
    u.bar.style.width = `${Math.min(100, (100 * this.stepsDone) / this.spec.steps)}%`;
    u.status.textContent =
      this.phase === 'failed' ? 'failed'
      : this.phase === 'building' ? (this.backend ? 'setting up…' : 'loading…')
      : this.phase === 'done' ? 'done'
      : this.playing ? 'training…'
      : this.stepsDone > 0 ? 'paused'
      : 'ready: press ▶';
    u.status.dataset.phase = this.playing && this.phase === 'ready' ? 'training' : this.phase;
    u.backend.textContent = this.backend ?? '';
    u.backend.dataset.backend = this.backend ?? '';
    u.backend.classList.toggle('stale', this.phase === 'building');
    u.digest.textContent = this.digest;
    u.digestSteps.textContent = this.digest ? String(this.stepsDone) : '';
    u.digestLine.hidden = this.digest === '';
    if (this.backend === 'cpu') {
      const cli = cliCommand({ ...this.spec, steps: this.stepsDone || this.spec.steps }, this.toy, 'cpu');
      // Rebuilt only when it changes, so that a selection in it survives the next update.
      if (u.digestNote.dataset.cli !== cli) u.digestNote.replaceChildren('The command line prints the same: ', el('code', {}, cli));
      u.digestNote.dataset.cli = cli;
    } else {
      delete u.digestNote.dataset.cli;
      u.digestNote.textContent = this.backend === 'webgpu' ? 'WebGPU runs repeat exactly on one device and match the CPU within float tolerance.' : '';
    }
  }

  /** The run as exported: names, settings, rows and the link that reproduces it. */
  private record(): RunRecord {
    const backend = this.backend ?? 'cpu';
    return {
      toy: this.toy.id,
      config: this.spec.config,
      backend,
      stepsDone: this.stepsDone,
      digest: this.digest,
      metrics: this.metrics,
      rows: this.rows,
      figures: this.figureData,
      link: shareUrls({ ...this.spec, steps: this.stepsDone || this.spec.steps }, this.toy, backend, { hide: [], autoplay: false }).link,
    };
  }
}
