/**
 * Share links: the one schema that names a run in a URL, and how to read it back.
 *
 *     ?toy=grokking&v=1&seed=7&backend=cpu&weight_decay=0.3&steps=500
 *
 * A run is named by (toy, config, seed, backend) — DESIGN.md, "Reproducibility contract". The
 * link carries the toy id, the format version `v`, the seed, the backend, then only the config
 * keys that differ from the toy's defaults (snake_case, as in the crate and the CLI's `--set`),
 * and `steps` when it is not the toy's default. View options ride along: `embed=1`,
 * `hide=lr,weight_decay` (controls to hide), `autoplay=1`.
 *
 * Reading only splits the query (after TensorFlow Playground's `state.ts`, but with a version
 * that is actually read): the page's own keys (toy, v, backend, steps, view options) are checked
 * here; the config keys go to the crate as written (`accept`, via the worker), which parses and
 * range-checks each and names the key of a bad one, for the page to fall back to its default.
 * An unknown toy falls back to the first toy; a `v` this page does not know is refused as a
 * whole (there is no older format to migrate yet).
 */

import type { ToyInfo } from '../generated/engine';
import { findParam, formatValue, type Config } from '../params';
import type { Backend, BackendChoice } from '../worker/protocol';

export const LINK_VERSION = 1;
export const MAX_STEPS = 10_000_000;

/** Everything that names one run. `config` is complete and includes `seed`. */
export interface RunSpec {
  toy: string;
  config: Config;
  backend: BackendChoice;
  steps: number;
}

/** How the page is shown; not part of the run. */
export interface ViewOptions {
  embed: boolean;
  /** Names of controls to hide (config keys, or `steps` / `backend`). */
  hide: string[];
  autoplay: boolean;
}

export interface DecodedLink {
  toy: ToyInfo;
  /** The link's config keys and their text, in link order, unchecked: the crate checks them. */
  changes: Record<string, string>;
  backend: BackendChoice;
  steps: number;
  view: ViewOptions;
  /** One sentence per problem found, each naming the key. Empty for a good link. */
  problems: string[];
}

const VIEW_KEYS = ['embed', 'hide', 'autoplay'];
/** Controls that `hide` may name besides the config keys. */
export const EXTRA_CONTROLS = ['steps', 'backend'];

const clip = (s: string) => (s.length > 40 ? `${s.slice(0, 40)}…` : s);

/** A step count typed in a link or the steps box: a whole number in [1, MAX_STEPS]. */
export function readSteps(text: string): { steps: number } | { error: string } {
  const t = text.trim();
  const n = Number(t);
  if (/^\d+$/.test(t) && n >= 1 && n <= MAX_STEPS) return { steps: n };
  return { error: `steps = ${clip(t) || '(empty)'} is not a whole number in [1, ${MAX_STEPS}]` };
}

function flag(q: URLSearchParams, key: string, problems: string[]): boolean {
  const v = q.get(key);
  if (v === null) return false;
  if (['1', 'true', ''].includes(v)) return true;
  if (['0', 'false'].includes(v)) return false;
  problems.push(`${key} = ${clip(v)} is not 1 or 0; ignored.`);
  return false;
}

/** Reads a link's query string. Never throws: every problem becomes a message. */
export function decodeLink(search: string, toys: ToyInfo[]): DecodedLink {
  const q = new URLSearchParams(search);
  const problems: string[] = [];
  const fallback = toys[0];
  const view: ViewOptions = { embed: flag(q, 'embed', problems), hide: [], autoplay: flag(q, 'autoplay', problems) };

  const toyId = q.get('toy');
  let toy = fallback;
  if (toyId !== null) {
    const found = toys.find((t) => t.id === toyId);
    if (found) toy = found;
    else {
      problems.push(`unknown toy '${clip(toyId)}' (known: ${toys.map((t) => t.id).join(', ')}); showing ${fallback.id} with its defaults instead.`);
    }
  }
  const hide = q.get('hide');
  if (hide) {
    for (const name of hide.split(',').map((s) => s.trim()).filter(Boolean)) {
      if (findParam(toy, name) || EXTRA_CONTROLS.includes(name)) view.hide.push(name);
      else problems.push(`hide: there is no control named '${clip(name)}'; ignored.`);
    }
  }
  const fresh = { toy, changes: {}, backend: 'auto' as BackendChoice, steps: toy.default_steps, view, problems };
  if (toyId !== null && toy.id !== toyId) return { ...fresh, view: { ...view, autoplay: false } };

  const v = q.get('v');
  if (v !== null && v !== String(LINK_VERSION)) {
    problems.push(`this link has format version v=${clip(v)}, but this page reads v=${LINK_VERSION} links only, so none of its settings were applied; showing the defaults.`);
    return { ...fresh, view: { ...view, autoplay: false } };
  }

  const changes: Record<string, string> = {};
  let backend: BackendChoice = 'auto';
  let steps = toy.default_steps;
  for (const [key, text] of q) {
    if (VIEW_KEYS.includes(key) || key === 'toy' || key === 'v') continue;
    if (key === 'backend') {
      if (text === 'cpu' || text === 'webgpu' || text === 'auto') backend = text;
      else problems.push(`backend = ${clip(text)} is not one of webgpu, cpu, auto; choosing automatically.`);
    } else if (key === 'steps') {
      const r = readSteps(text);
      if ('steps' in r) steps = r.steps;
      else problems.push(`${r.error}; using the default ${toy.default_steps}.`);
    } else {
      changes[key] = text;
    }
  }
  return { toy, changes, backend, steps, view, problems };
}

/**
 * The query of the link that names `spec` as it runs on `backend`: the backend in use for a
 * share link; `auto` (left out) for the address bar, which keeps the person's choice.
 */
export function encodeLink(spec: RunSpec, toy: ToyInfo, backend: Backend | 'auto'): [string, string][] {
  const q: [string, string][] = [
    ['toy', toy.id],
    ['v', String(LINK_VERSION)],
    ['seed', formatValue(spec.config.seed ?? toy.defaults.seed ?? 0)],
  ];
  if (backend !== 'auto') q.push(['backend', backend]);
  for (const p of toy.params) {
    if (p.name === 'seed') continue;
    const value = spec.config[p.name];
    if (value !== undefined && value !== toy.defaults[p.name]) q.push([p.name, formatValue(value)]);
  }
  if (spec.steps !== toy.default_steps) q.push(['steps', String(spec.steps)]);
  return q;
}

/** `key=value&…`, percent-encoded except for the commas of `hide` lists. */
export function queryString(q: [string, string][]): string {
  return q.map(([k, v]) => `${k}=${encodeURIComponent(v).replace(/%2C/gi, ',')}`).join('&');
}

/** The share URL (this page's address with the run's query) and the embed variant. */
export function shareUrls(spec: RunSpec, toy: ToyInfo, backend: Backend, embed: { hide: string[]; autoplay: boolean }, base: Location = location) {
  const page = `${base.origin}${base.pathname}`;
  const q = encodeLink(spec, toy, backend);
  const e: [string, string][] = [...q, ['embed', '1']];
  if (embed.hide.length) e.push(['hide', embed.hide.join(',')]);
  if (embed.autoplay) e.push(['autoplay', '1']);
  return { link: `${page}?${queryString(q)}`, embed: `${page}?${queryString(e)}` };
}
