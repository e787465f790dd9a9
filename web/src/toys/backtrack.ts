/**
 * The backtrack page's text. Source: Botta, Li, Mehta, Ash, Zhang & Risteski (2025), "On the
 * Query Complexity of Verifier-Assisted Language Generation", ICML 2025,
 * https://arxiv.org/abs/2502.12123 — the abstract for the claim, Algorithm 1 for tokenwise
 * rejection sampling with backtracking, §5.1 for the Dyck grammar experiments; the authors'
 * released code for the data's bracket-type mix and the greedy redo after a backtrack.
 * The toy itself is crate/src/toys/backtrack.rs.
 */

import type { ToyPage } from '../pages';

export default {
  id: 'backtrack',
  intro:
    'A small language model learns to write balanced brackets, like ([]()) — strings of 28 brackets that never nest ' +
    'more than 4 deep. Then it is asked to finish prompts that open 9 brackets at once, deeper than anything it has ' +
    'seen, and mostly with the bracket type it saw least: here it often writes something invalid. How many calls to ' +
    'the model (generator queries, one per token drawn) does it take to get a valid string? Blockwise rejection writes ' +
    'the whole string and starts over if it is wrong. With a process verifier, a checker that tells whether a ' +
    'half-written string can still be finished correctly, tokenwise rejection redraws just the token that made it ' +
    'unfinishable. Botta et al. prove that such a verifier can turn an intractable search into a cheap one, and found ' +
    'that letting the sampler backtrack, erasing its last few tokens when the checker says no, helps most. Train the ' +
    'model, then read the charts under the loss curve: the share of prompts solved against the queries spent, the ' +
    'cost per valid string against how far the sampler backs up, a table of accuracy and diversity per sampler, and ' +
    'sample strings in which the tokens that backtracking erased are struck through.',
  differs: [
    'Much smaller. The authors’ released Dyck configuration trains a 6-layer transformer of width 512 on strings of length 32 ' +
      'over 2 bracket types; here it is 2 layers of width 48 (`layers`, `d_model`) trained for 600 steps on strings of length 28 (`length`).',
    'The verifier is exact: a prefix can be completed when every closing bracket matches and the open brackets fit in the ' +
      'tokens left. The paper also trains verifiers from the model’s own hidden states; an exact one isolates what the ' +
      'sampler does with a verifier’s answers.',
    'Off-distribution prompts: training strings use the second bracket type 80% of the time (`type_skew`), as in the ' +
      'authors’ released Dyck data, and the prompts mostly use the first, as in their out-of-distribution set. The depth of ' +
      'the prompts (`prompt_depth` 9 against `train_depth` 4) is our addition: with the type shift alone, this small model ' +
      'still writes valid strings most of the time and there is little left to compare.',
    'After a backtrack the erased positions are redone with the model’s most likely token, as the authors’ code does by ' +
      'default; a backtrack erases `backtrack` tokens (B = 4), at most `max_backtracks` times per string.',
    'A query is one token drawn from the model, as in the paper’s cost model: a token redrawn after a rejection counts ' +
      'again. Every sampler runs on every prompt until it has spent `budget` queries; “accuracy” in the first chart is the ' +
      'share of prompts with at least one valid string by then.',
    'What does not carry over: in the paper, backtracking also clearly beats plain tokenwise rejection. Here the two ' +
      'are close, and which one is cheaper changes with the seed (the chart of queries against B shows both, B = 0 being ' +
      'plain tokenwise rejection). Across seeds neither solves clearly more prompts, nor is consistently cheaper per valid ' +
      'string (measured numbers: docs/reproductions.md). With an exact verifier every token that can still lead somewhere is accepted, so ' +
      'erasing good tokens only helps when the model’s own earlier draws led it astray; in this toy most of its mistakes ' +
      'come from the deep prompt itself, which no backtrack can erase.',
    'Results move with the seed: with 16 prompts one prompt is 6 points of accuracy. Raise `prompts` and `budget` for ' +
      'steadier numbers (the figures then take longer).',
  ],
  tryThis: [
    {
      text: 'Set `prompt_depth` to 4, no deeper than training. The model is now right most of the time and every sampler looks alike: a verifier pays when the generator is wrong.',
      set: { prompt_depth: 4 },
    },
    {
      text: 'Set `length` to 32 and `prompt_depth` to 10. Longer strings have more places to go wrong: blockwise rejection pays for the whole string each time and now finds almost nothing within the budget, while the tokenwise samplers, which pay only for the bad tokens, still solve some prompts.',
      set: { length: 32, prompt_depth: 10 },
    },
    {
      text: 'Set `type_skew` to 0.5, so that prompts use the same bracket types as training. Which sampler gains most from the easier prompts?',
      set: { type_skew: 0.5 },
    },
    {
      text: 'Look at the last chart: for a uniform random generator and one valid string of length L, blockwise rejection needs L·4^L queries on average, tokenwise rejection with a verifier only 4·L. That gap is the paper’s theory in its simplest form.',
    },
    {
      text: 'Roll a new seed (↻ new seed): which differences between the samplers survive a new model and new prompts?',
      newSeed: true,
    },
  ],
} satisfies ToyPage;
