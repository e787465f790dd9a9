/**
 * The page text of every toy, by toy id. A toy without an entry still gets a working page,
 * built from the crate's own title, claim and paper link (`pageFor`).
 */

import type { ToyInfo } from '../params';
import { grokking } from './grokking';
import { flipflop } from './flipflop';
import { grokfast } from './grokfast';
import { iclLinreg } from './icl-linreg';
import { stablemax } from './stablemax';
import { backtrack } from './backtrack';
import { sharpening } from './sharpening';
import { hedgehog } from './hedgehog';
import type { ToyPage } from './page';

const PAGES: ToyPage[] = [grokking, grokfast, flipflop, iclLinreg, stablemax, backtrack, sharpening, hedgehog];

export function pageFor(toy: ToyInfo): ToyPage {
  return (
    PAGES.find((p) => p.id === toy.id) ?? {
      id: toy.id,
      intro: `${toy.claim.replace(/^./, (c) => c.toUpperCase())}.`,
      paper: { cite: toy.paper, url: toy.paper_url },
      differs: [],
      tryThis: [],
    }
  );
}
