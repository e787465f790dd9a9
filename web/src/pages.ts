/**
 * What a toy's page says around its controls and charts, by toy id. Each file in toys/ is one
 * toy's page, `toys/<id>.ts`, whose default export is a `ToyPage`: Vite gathers every file
 * there, so a new page is one new file. The title and the papers are the crate's (`ToyInfo`);
 * a toy without a page file still gets a working page, from its claim. Text marks `code` with
 * backticks and is rendered as text nodes (dom.ts `prose`), never as HTML.
 *
 * web/tests/pages.test.mjs checks every page against the crate: its id names a toy, and every
 * "try it" item's settings are accepted in full.
 */

import type { ToyInfo } from './generated/engine';
import type { Changes } from './worker/protocol';

/** One thing to try; `set`, `steps` and `logX` make a "try it" button that applies it and trains. */
export interface TryItem {
  text: string;
  /** Config changes, as a link would write them; the crate checks them like any other. */
  set?: Changes;
  /** How far the run trains, when the experiment needs more (or fewer) steps than the default. */
  steps?: number;
  newSeed?: boolean;
  logX?: boolean;
}

export interface ToyPage {
  /** The toy's id in the crate's registry (and the file's name). */
  id: string;
  /** One paragraph in plain language, for a student who has not read the paper. */
  intro: string;
  /** What the toy does differently from the paper, and what that changes. */
  differs: string[];
  /** Three to five concrete experiments. */
  tryThis: TryItem[];
}

const PAGES = Object.values(import.meta.glob<ToyPage>('./toys/*.ts', { eager: true, import: 'default' }));

export function pageFor(toy: ToyInfo): ToyPage {
  return (
    PAGES.find((p) => p.id === toy.id) ?? {
      id: toy.id,
      intro: `${toy.claim.replace(/^./, (c) => c.toUpperCase())}.`,
      differs: [],
      tryThis: [],
    }
  );
}
