/**
 * Config values as the page shows them. The schema itself (keys, ranges, defaults) is the
 * crate's (`ParamSpec` in generated/engine.ts), and so is every parse and range check: a value
 * typed by a person or read from a link goes to the worker as text, and the crate's `accept`
 * answers with the config in force (worker/protocol.ts). Here are only the shapes and the text.
 */

import type { ParamSpec, ToyInfo } from './generated/engine';

export type Value = number | string;
/** A complete config, as `accept` returns it: every key of the toy. */
export type Config = Record<string, Value>;

/** The allowed values, written as the crate writes them in its messages: "[0, 10]" or "add, sub". */
export function describeRange(p: ParamSpec): string {
  return p.type === 'choice' ? p.options.join(', ') : `[${p.min}, ${p.max}]`;
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

export function findParam(toy: ToyInfo, name: string): ParamSpec | undefined {
  return toy.params.find((p) => p.name === name);
}
