/**
 * The flipflop page's text. Source: Liu, Ash, Goel, Krishnamurthy & Zhang (2023), "Exposing
 * Attention Glitches with Flip-Flop Language Modeling", https://arxiv.org/abs/2306.00946 — the
 * abstract for the claim, §3 for the flip-flop language, the body's recurrent (LSTM) baseline,
 * and the authors' released data
 * (FFL(0.8) training strings of 256 instructions; test sets of 16K in-distribution, 160K sparse
 * and 4K dense strings) for the setup. The toy itself is crate/src/toys/flipflop.rs.
 */

import type { ToyPage } from '../pages';

export default {
  id: 'flipflop',
  intro:
    'A flip-flop string is a list of instructions to a one-bit memory: `w1` writes a 1, `i0` is noise to ignore, and `r` ' +
    'reads — the bit after it must be the last bit written. A small transformer learns this from strings where 80% of the ' +
    'instructions are ignores, and on more such strings it soon reads the memory almost perfectly. But change the mix and ' +
    'it slips: on sparse strings (98% ignores, so the last write can be far back) and dense ones (10% ignores, many writes ' +
    'competing) it makes rare, sporadic read errors, even though the rule is exactly the same. Liu et al. call these ' +
    'attention glitches: “Transformer FFLMs suffer from a long tail of sporadic reasoning errors, some of which we can ' +
    'eliminate using various regularization techniques” (abstract). Beside the transformer, a small recurrent network (an ' +
    'LSTM) learns from the very same strings. It reads a string one token at a time and keeps a state, so it can simply ' +
    'carry the last written bit forward and overwrite it at the next write; the transformer has no such state and must ' +
    'find the last write among all earlier tokens by attention, every time. The paper reports that the LSTM makes no read ' +
    'errors at all. Press ▶ and watch the read-error curves of both models; the tables under the charts count the errors ' +
    'of each and list the transformer’s glitches — click one to see where its last layer looked.',
  differs: [
    'Much smaller, so that it trains in a tab: strings of 64 tokens (32 instructions) instead of the paper’s 512 (256 ' +
      'instructions), and a 2-layer transformer of width 32 with 2 heads trained for 3,000 steps of 32 fresh strings.',
    'Far fewer test strings: 512 per distribution (`test_strings`), where the authors’ released test sets hold 16,000 ' +
      'in-distribution, 160,000 sparse and 4,000 dense strings. Glitches are rare, so a small test set sees only some of ' +
      'them and an error rate of 0 here only means fewer than about one in a few thousand reads.',
    'The same language and tests: training on FFL(0.8), testing on FFL(0.8), FFL(0.98) and FFL(0.1), errors counted only ' +
      'at the bit after each `r`, the one position whose answer is determined. The loss differs: the paper trains the ' +
      'next-token loss at every position (`loss` = all); here it is taken at the reads only. Everything else in a string is ' +
      'a coin flip, so with the paper’s loss the read signal is a small part of the gradient: the model learns the register ' +
      'several times slower, and on some seeds it sits on a plateau, predicting coin flips, for the whole default run.',
    'Three of the paper’s interventions are here as the `regularization` switch, for the transformer only: dropout on ' +
      'the embeddings and residual branches, weight decay, and attention sharpening: the loss gains `sharpening` times ' +
      'the entropy of the attention rows (mean over rows and layers), so training prefers attention that puts its weight ' +
      'on few tokens. The penalty weight here (`sharpening` = 10⁻⁴) was picked by trying a few on this toy, not taken ' +
      'from the paper. The paper finds that such interventions make glitches rarer, not absent. Too large a penalty ' +
      'makes attention sharp before the model has learned where to look, and it may not learn the task at all.',
    'The recurrent baseline is a 1-layer LSTM with 32 hidden units (`lstm_hidden`), trained on the same batches with the ' +
      'same loss and plain AdamW at its own learning rate (`lstm_lr` = 0.01: at the transformer’s 0.003 it needs far more ' +
      'steps to start remembering). The paper reports that its small LSTMs extrapolate perfectly. Here too the LSTM soon ' +
      'reads (almost) every test string right, with only brief, occasional relapses, and ends the default run without an ' +
      'error, while the transformer still misreads some dense strings. ' +
      '`recurrent` = none trains the transformer alone, which is faster; its curves are exactly the same either way.',
    'At this scale the dense strings glitch most, and the sparse ones even less than the in-distribution ones. Sparse ' +
      'strings are easier here than in the paper: in 64-token strings the last write is ' +
      'never more than 62 tokens back, a distance the training strings cover, whereas the paper’s sparse strings of 512 ' +
      'tokens reach much further.',
    'Glitches depend on the seed: the paper trains many models and reports the spread; here one run shows one draw.',
  ],
  tryThis: [
    {
      text: 'Switch `regularization` to dropout (or weight_decay) and compare the sparse and dense curves with a run without it.',
      set: { regularization: 'dropout' },
    },
    {
      text: 'Switch `regularization` to sharpening, the paper’s attention-entropy penalty, and compare the dense curve with a run without it. Then try `sharpening` = 0.001.',
      set: { regularization: 'sharpening' },
    },
    {
      text: 'Set `loss` to all, the paper’s next-token loss at every position: the model learns the register much later, and on some seeds not within the run. The summary line says which.',
      set: { loss: 'all' },
    },
    {
      text: 'Roll a new seed (↻ new seed): which test set glitches, and how often, changes from run to run.',
      newSeed: true,
    },
    {
      text: 'Make the strings longer (`seq_len` = 128): the last write in a sparse string can now be further back than most training strings ever show. Does the distance matter to the LSTM, which carries the bit along in its state?',
      set: { seq_len: 128 },
    },
  ],
} satisfies ToyPage;
