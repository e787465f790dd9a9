/**
 * The toy table as the page sees it: what `toys()` in the wasm crate returns (crate/src/wasm.rs,
 * crate/src/toys/params.rs), plus the one place that parses, range-checks and formats a config
 * value typed by a person or read from a link. Sliders, share links and the share dialog all
 * go through `parseValue` / `formatValue`, so a value means the same thing everywhere.
 */

export type Value = number | string;
export type Config = Record<string, Value>;

export type ParamInfo =
  | { name: string; type: 'int'; min: number; max: number; help: string }
  | { name: string; type: 'float'; min: number; max: number; log: boolean; help: string }
  | { name: string; type: 'choice'; options: string[]; help: string };

export interface ToyInfo {
  id: string;
  title: string;
  claim: string;
  paper: string;
  paper_url: string;
  params: ParamInfo[];
  defaults: Config;
  default_steps: number;
}

/** The allowed values, written as the crate writes them in its messages: "[0, 10]" or "add, sub". */
export function describeRange(p: ParamInfo): string {
  return p.type === 'choice' ? p.options.join(', ') : `[${p.min}, ${p.max}]`;
}

const INT = /^[+-]?\d+$/;
const FLOAT = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/**
 * Parses `text` for parameter `p`. Returns the value, or a message naming the key, the value
 * and the allowed range (never a bare `+text`: "1e999", "0x10", "" and "NaN" are all refused).
 */
export function parseValue(p: ParamInfo, text: string): { value: Value } | { error: string } {
  const t = text.trim();
  const shown = t.length > 40 ? `${t.slice(0, 40)}…` : t;
  if (p.type === 'choice') {
    return p.options.includes(t) ? { value: t } : { error: `${p.name} = ${shown || '(empty)'} is not one of ${describeRange(p)}` };
  }
  const ok = p.type === 'int' ? INT.test(t) : FLOAT.test(t);
  const x = Number(t);
  if (!ok || !Number.isFinite(x) || (p.type === 'int' && !Number.isSafeInteger(x))) {
    const what = p.type === 'int' ? 'an integer' : 'a number';
    return { error: `${p.name} = ${shown || '(empty)'} is not ${what} (allowed: ${describeRange(p)})` };
  }
  if (x < p.min || x > p.max) return { error: `${p.name} = ${shown} is out of range ${describeRange(p)}` };
  return { value: x };
}

/** The text of a value in links and inputs: the shortest text that reads back as the same number. */
export function formatValue(v: Value): string {
  return String(v);
}

/** Nice display of a number for labels: 0.003, 1e-5, 4,096. */
export function displayValue(v: Value): string {
  if (typeof v === 'string') return v;
  if (Number.isInteger(v) && Math.abs(v) >= 10000) return v.toLocaleString('en-US');
  if (v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e6)) return v.toExponential().replace('e-', 'e−');
  return String(v);
}

export function findParam(toy: ToyInfo, name: string): ParamInfo | undefined {
  return toy.params.find((p) => p.name === name);
}
