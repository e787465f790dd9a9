/**
 * What a toy's page says around its controls and charts. One file per toy (grokking.ts, …)
 * exports a `ToyPage`; index.ts lists them. Text marks `code` with backticks and is rendered
 * as text nodes (dom.ts `prose`), never as HTML.
 */

import type { Config } from '../params';

/** One thing to try; `set`, `steps` and `logX` make a "try it" button that applies it and trains. */
export interface TryItem {
  text: string;
  set?: Config;
  /** How far the run trains, when the experiment needs more (or fewer) steps than the default. */
  steps?: number;
  newSeed?: boolean;
  logX?: boolean;
}

export interface ToyPage {
  id: string;
  /** The page's headline (the crate's title when absent). */
  headline?: string;
  /** One paragraph in plain language, for a student who has not read the paper. */
  intro: string;
  /** The paper as it is cited, and where to read it. */
  paper: { cite: string; url: string };
  /** What the toy does differently from the paper, and what that changes. */
  differs: string[];
  /** Three to five concrete experiments. */
  tryThis: TryItem[];
}
