/**
 * The grokfast page's text. Source: Lee, Kang, Kim & Lee, "Grokfast: Accelerated Grokking by
 * Amplifying Slow Gradients" (2024), https://arxiv.org/abs/2405.20233 — Algorithm 2 (the EMA
 * filter), Table 1 and the authors' code (main.py, grokfast.py) for the setup. The toy itself is
 * crate/src/toys/grokfast.rs; it reuses the grokking toy's trainer.
 */

import type { ToyPage } from '../pages';

export default {
  id: 'grokfast',
  intro:
    'A network that groks first memorises its training equations and only much later finds the rule that also ' +
    'answers the ones it has not seen. Lee et al. looked at the gradient of each weight as a signal over the training ' +
    'steps: it has a fast, jittery part and a slow, steady part, and they argue that the slow part is what leads to ' +
    'the rule. Their fix is a few lines: keep a running average of each weight’s past gradients (an exponential ' +
    'moving average, which lets through only the slow part), multiply it by λ and add it to the gradient before the ' +
    'optimiser takes its step. This toy trains the same small transformer twice, side by side, on sums modulo 31: ' +
    'once plainly and once with that filter, from the same starting weights on the same minibatches. Watch the two ' +
    'validation accuracy curves; the table under the charts counts the steps each run needs to reach 95% validation ' +
    'accuracy, and their ratio.',
  differs: [
    'Much smaller, so that it trains in a browser tab: the paper trains a 2-layer transformer of width 128 on ' +
      'multiplication mod 97 with half of the table for training; the defaults here are 1 layer of width 64 on a + b mod 31 ' +
      'with 70% of the table (`train_fraction`), minibatches of 128 instead of 512.',
    'The same optimiser as the paper’s code: Adam with β₂ = 0.98, learning rate 10⁻³, a 10-step warm-up and a small ' +
      'weight decay added to the gradient after the filter (`optimizer` = adam). The filter uses the paper’s α = 0.98 and λ = 2, ' +
      'and its average starts at the first gradient, as in their code.',
    'A smaller speed-up. In the paper the run without the filter needs about 40,000 steps to reach 95% validation accuracy and ' +
      'the filtered run about 900 (×44 for this filter; ×50 for the moving-average variant, Table 1). There the plain run has ' +
      'no weight decay and the filtered one 0.005; here both runs use the same decay, 0.002 (with 0.005, a plain run of width 32 ' +
      'did not even fit its training set). Here the filtered run still reaches 95% several times sooner than the plain ' +
      'one, but nowhere near ×44 (measured numbers: docs/reproductions.md).',
    'Not robust at this scale. In the seeds we tried the filtered run reached 95% first, but the margin moves a lot ' +
      'with the seed, and with other settings the filter can make things worse: with AdamW’s decoupled weight decay ' +
      '(`optimizer` = adamw, the grokking toy’s optimiser) the filtered run memorised sooner but generalised later.',
    'Metrics are measured every `eval_every` steps on the whole training and validation sets. On the CPU backend a run is ' +
      'bit-for-bit the same as the command line’s `papertoys run grokfast`: the digest under the charts shows it.',
  ],
  tryThis: [
    {
      text: 'Set `lamb` to 0: the filter adds nothing, and the two runs are the same run, step for step — the curves lie on top of each other.',
      set: { lamb: 0 },
    },
    {
      text: 'Switch `optimizer` to adamw, with decoupled weight decay as in the grokking toy. The filtered run still memorises first, but it no longer generalises first.',
      set: { optimizer: 'adamw' },
    },
    {
      text: 'Lower `alpha` to 0.8: the average now follows the gradient over about 5 steps instead of 50, so it amplifies faster-moving parts too. Does the filtered run still win?',
      set: { alpha: 0.8 },
    },
    {
      text: 'Roll a new seed (↻ new seed). The step at which each run reaches 95% moves a lot; see whether the filtered run stays ahead.',
      newSeed: true,
    },
  ],
} satisfies ToyPage;
