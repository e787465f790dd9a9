/**
 * The controls panel, generated from the toy's parameter table (crate/src/toys/params.rs):
 * a slider for each number (a log slider for `log` floats and for wide integer ranges), a
 * select for each choice, a text box beside each slider for exact values, the help text, and
 * the run controls (steps, seed with "new seed", backend).
 *
 * Each control's box has `data-param="<name>"` and the class `ui-<name>` (after TensorFlow
 * Playground), so `hide=lr,weight_decay` and course authors' CSS can address it. The run
 * controls that are not config keys use `data-control="steps"` / `"backend"`.
 *
 * A control reports a committed change (slider released, Enter or blur in the text box) through
 * `onParam`, as it has it: a slider's value, a select's option, or a text box's raw text, which
 * the crate parses and checks. The caller answers with `set` (the values now in force) and `say`
 * (a message under the control).
 */

import { el } from './dom';
import type { ParamSpec, ToyInfo } from './generated/engine';
import { describeRange, displayValue, formatValue, type Config, type Value } from './params';
import { MAX_STEPS, readSteps } from './share/link';
import type { BackendChoice } from './worker/protocol';

export interface ControlEvents {
  /** A config key changed (text from a text box); `direction` is the sign of the change (for snapping to valid values). */
  onParam(name: string, value: Value, direction: 1 | -1): void;
  onSteps(steps: number): void;
  onBackend(choice: BackendChoice): void;
  onNewSeed(): void;
}

/** How a numeric slider's position maps to a value. */
interface Scale {
  positions: number;
  toValue(pos: number): number;
  toPos(v: number): number;
}

const SLIDER_POSITIONS = 1000;

function scaleFor(p: ParamSpec): Scale | null {
  if (p.type === 'choice') return null;
  const { min, max } = p;
  if (p.type === 'int' && max - min > 100_000) return null; // e.g. the seed: a text box only
  const logScale = (p.type === 'float' && p.log) || (p.type === 'int' && min > 0 && max / min >= 50);
  if (logScale) {
    const a = Math.log10(min);
    const b = Math.log10(max);
    const round = p.type === 'int' ? Math.round : (v: number) => Number(v.toPrecision(2));
    return {
      positions: SLIDER_POSITIONS,
      toValue: (pos) => Math.min(max, Math.max(min, round(10 ** (a + ((b - a) * pos) / SLIDER_POSITIONS)))),
      toPos: (v) => Math.round(((Math.log10(v) - a) / (b - a)) * SLIDER_POSITIONS),
    };
  }
  if (p.type === 'int') return { positions: max - min, toValue: (pos) => min + pos, toPos: (v) => Math.round(v - min) };
  // A linear float slider: about a hundred stops on a round step (0.1 for [0, 10], 0.01 for [0.05, 0.95]).
  const step = 10 ** Math.floor(Math.log10((max - min) / 100));
  const decimals = Math.max(0, -Math.floor(Math.log10(step)));
  const positions = Math.round((max - min) / step);
  return {
    positions,
    toValue: (pos) => Math.min(max, Math.max(min, Number((min + pos * step).toFixed(decimals)))),
    toPos: (v) => Math.round((v - min) / step),
  };
}

interface ParamControl {
  param: ParamSpec;
  box: HTMLElement;
  slider: HTMLInputElement | null;
  text: HTMLInputElement | null;
  select: HTMLSelectElement | null;
  message: HTMLElement;
  value: Value;
}

export class Controls {
  readonly root: HTMLElement;
  private params = new Map<string, ParamControl>();
  private steps!: HTMLInputElement;
  private stepsMessage!: HTMLElement;
  private backend = new Map<BackendChoice, HTMLInputElement>();

  constructor(private toy: ToyInfo, private events: ControlEvents) {
    const run = el('fieldset', { class: 'control-group' }, el('legend', {}, 'Run'));
    run.append(this.stepsControl(), this.paramControl(toy.params.find((p) => p.name === 'seed')), this.backendControl());
    const model = el('fieldset', { class: 'control-group' }, el('legend', {}, 'Task, model and optimiser'));
    for (const p of toy.params) if (p.name !== 'seed') model.append(this.paramControl(p));
    this.root = el('div', { class: 'controls' }, run, model);
  }

  /** Shows the values in force (never fires events). */
  set(config: Config, steps: number, backend: BackendChoice) {
    for (const c of this.params.values()) {
      const v = config[c.param.name];
      if (v === undefined) continue;
      c.value = v;
      this.show(c, v);
    }
    this.steps.value = String(steps);
    this.backend.get(backend)!.checked = true;
  }

  /** Shows `text` under the control of `name` (a config key or `steps`; empty clears it). `kind` colours it. */
  say(name: string, text: string, kind: 'error' | 'info' = 'error') {
    const m = name === 'steps' ? this.stepsMessage : this.params.get(name)?.message;
    if (!m) return;
    m.textContent = text;
    m.hidden = text === '';
    m.className = `control-msg is-${kind}`;
  }

  /** Hides the controls named (config keys, `steps`, `backend`). */
  hide(names: string[]) {
    for (const box of this.root.querySelectorAll<HTMLElement>('[data-param], [data-control]')) {
      box.hidden = names.includes(box.dataset.param ?? box.dataset.control ?? '');
    }
  }

  private show(c: ParamControl, v: Value) {
    if (c.select) c.select.value = String(v);
    if (c.text && document.activeElement !== c.text) c.text.value = formatValue(v);
    if (c.slider && typeof v === 'number') c.slider.value = String(scaleFor(c.param)!.toPos(v));
    if (c.text) c.text.title = displayValue(v);
  }

  private commit(c: ParamControl, v: Value) {
    if (String(v) === formatValue(c.value)) {
      this.show(c, c.value);
      return;
    }
    // Only a hint for snapping (p = 48 → 47 or 53): the crate reads the value itself.
    const direction = Number(v) < Number(c.value) ? -1 : 1;
    this.say(c.param.name, '');
    this.events.onParam(c.param.name, v, direction);
  }

  private paramControl(p: ParamSpec | undefined): HTMLElement | string {
    if (!p) return '';
    const id = `ctl-${p.name}`;
    const head = el('div', { class: 'control-head' }, el('label', { for: id }, p.name));
    const message = el('div', { class: 'control-msg', hidden: true, role: 'status' });
    const c: ParamControl = { param: p, box: el('div'), slider: null, text: null, select: null, message, value: this.toy.defaults[p.name] };
    const body: HTMLElement[] = [];
    if (p.type === 'choice') {
      c.select = el('select', { id }, ...p.options.map((o) => el('option', { value: o }, o)));
      c.select.addEventListener('change', () => this.commit(c, c.select!.value));
      body.push(c.select);
    } else {
      const scale = scaleFor(p);
      c.text = el('input', { type: 'text', inputmode: p.type === 'int' ? 'numeric' : 'decimal', class: 'control-value', 'aria-label': `${p.name} value`, spellcheck: 'false', autocomplete: 'off' });
      c.text.addEventListener('change', () => this.commit(c, c.text!.value));
      c.text.addEventListener('keydown', (e) => {
        if (e.key === 'Enter') c.text!.blur();
      });
      if (scale) {
        c.text.id = `${id}-value`;
        c.slider = el('input', { type: 'range', id, min: 0, max: scale.positions, step: 1 });
        c.slider.addEventListener('input', () => {
          c.text!.value = formatValue(scale.toValue(Number(c.slider!.value)));
        });
        c.slider.addEventListener('change', () => this.commit(c, scale.toValue(Number(c.slider!.value))));
        head.append(c.text);
        body.push(c.slider, el('div', { class: 'control-range' }, el('span', {}, displayValue(p.min)), el('span', {}, displayValue(p.max))));
      } else {
        c.text.id = id;
        head.append(c.text);
        if (p.name === 'seed') {
          const again = el('button', { type: 'button', class: 'small', testid: 'new-seed', title: 'pick a random seed' }, '↻ new seed');
          again.addEventListener('click', () => this.events.onNewSeed());
          head.append(again);
        }
      }
    }
    c.box = el('div', { class: `control ui-${p.name}`, 'data-param': p.name }, head, ...body, el('div', { class: 'control-help' }, `${p.help} (${describeRange(p)})`), message);
    this.params.set(p.name, c);
    this.show(c, c.value);
    return c.box;
  }

  private stepsControl(): HTMLElement {
    this.steps = el('input', { type: 'number', id: 'ctl-steps', min: 1, max: MAX_STEPS, step: 1, class: 'control-value wide', testid: 'steps-target' });
    this.stepsMessage = el('div', { class: 'control-msg', hidden: true, role: 'status' });
    this.steps.addEventListener('change', () => {
      const r = readSteps(this.steps.value);
      if ('steps' in r) {
        this.say('steps', '');
        this.events.onSteps(r.steps);
      } else this.say('steps', r.error);
    });
    return el(
      'div',
      { class: 'control ui-steps', 'data-control': 'steps' },
      el('div', { class: 'control-head' }, el('label', { for: 'ctl-steps' }, 'steps'), this.steps),
      el('div', { class: 'control-help' }, 'how many training steps the run takes; ▶ stops exactly there'),
      this.stepsMessage,
    );
  }

  private backendControl(): HTMLElement {
    const options: [BackendChoice, string][] = [['auto', 'Auto'], ['webgpu', 'WebGPU'], ['cpu', 'CPU']];
    const group = el('div', { class: 'segmented', role: 'radiogroup', 'aria-label': 'backend' });
    for (const [value, label] of options) {
      const input = el('input', { type: 'radio', name: 'backend', value, id: `backend-${value}` });
      input.addEventListener('change', () => input.checked && this.events.onBackend(value));
      this.backend.set(value, input);
      group.append(input, el('label', { for: `backend-${value}` }, label));
    }
    return el(
      'div',
      { class: 'control ui-backend', 'data-control': 'backend' },
      el('div', { class: 'control-head' }, el('span', { class: 'label' }, 'backend')),
      group,
      el('div', { class: 'control-help' }, 'Auto uses WebGPU when the browser offers it, else the CPU (WebAssembly)'),
    );
  }
}
