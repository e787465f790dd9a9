/**
 * The grokking page's text. Source: Power et al., "Grokking: Generalization Beyond Overfitting
 * on Small Algorithmic Datasets" (2022), https://arxiv.org/abs/2201.02177 — §2, Figure 1 and
 * appendix A.1 for the setup. The toy itself is crate/src/toys/grokking.rs.
 */

import type { ToyPage } from '../pages';

export default {
  id: 'grokking',
  intro:
    'Show a small neural network half of a table of sums modulo 47 — equations like 15 + 40 = 8 (mod 47) — and ask it ' +
    'to fill in the other half. Early in training it answers every equation it has seen correctly, ' +
    'yet it is no better than a guess on the ones it has not: it has memorised, not understood. Power et al. found ' +
    'that if you simply keep training, long after there is nothing left to learn from the training set, accuracy on ' +
    'the unseen half suddenly climbs to nearly 100%: the network has found the rule. They called this grokking, and ' +
    'weight decay — a steady pull of every weight toward zero — turned out to be what makes it happen. Press ▶ and ' +
    'watch the two accuracy curves split apart, then meet again. The map under the charts shows every equation of ' +
    'the table, shaded by how sure the network is of the right answer: the training half lights up first, in a ' +
    'scatter of cells, and the gaps between them fill in when it groks.',
  differs: [
    'Smaller, so that it trains in a browser tab: the paper uses a 2-layer transformer of width 128 on a ∘ b mod 97; ' +
      'the defaults here are 1 layer of width 64 (`layers`, `d_model`, 4 `heads`) on a + b mod 47, a table of 2,209 equations instead of 9,409.',
    'A larger learning rate: `lr` = 3·10⁻³ instead of 10⁻³. The rest of the optimiser is the paper’s: AdamW with β₂ = 0.98, ' +
      '`weight_decay` 1, a 10-step linear warm-up and minibatches of 512.',
    'So everything happens much sooner. In the paper’s Figure 1 (division mod 97, half of the table for training), training ' +
      'accuracy is near 100% after about 10³ steps while validation accuracy only rises after about 10⁵. Here, with the ' +
      'defaults, both happen within the 1,500 steps of a run: training accuracy reaches 100% early and validation accuracy ' +
      'jumps well after. The delay — understanding long after memorising — is what carries over; the step counts do not, ' +
      'and they move with the seed and every setting.',
    'Addition by default rather than the division of Figure 1; `op` = div is there to try.',
    'After validation accuracy has jumped, both losses spike now and then and quickly recover. ' +
      'These are not in the paper’s smooth curves: with the larger learning rate, Adam takes big steps once the ' +
      'gradients have become small (the “slingshot” instabilities described by Thilak et al., 2022). A smaller `lr` ' +
      'makes them rarer, and everything else slower.',
    'Metrics are measured every `eval_every` steps on the whole training and validation halves, in 32-bit floats. On the CPU ' +
      'backend a run is bit-for-bit the same as the command line’s `papertoys run grokking`: the digest under the charts shows it.',
  ],
  tryThis: [
    {
      text: 'Set `weight_decay` to 0. Training accuracy still reaches 100%, but validation accuracy stays near chance long past the step where the default run generalises, while the weight norm grows instead of shrinking: without the pull toward small weights, memorising is good enough.',
      set: { weight_decay: 0 },
    },
    {
      text: 'Lower `train_fraction` to 0.3. With fewer equations to learn from, grokking comes later; raise `steps` if it has not happened yet.',
      set: { train_fraction: 0.3 },
    },
    {
      text: 'Try `op` = div, the task of the paper’s Figure 1: a ÷ b mod p, that is a times the inverse of b.',
      set: { op: 'div' },
    },
    {
      text: 'Watch the weight norm on a log-x axis: weight decay shrinks it throughout, and validation accuracy rises as it gets small. A common reading: memorising needs large weights, the general rule does not.',
      logX: true,
    },
    {
      text: 'Roll a new seed (↻ new seed). The step at which validation accuracy jumps moves; the shape of the curves stays.',
      newSeed: true,
    },
  ],
} satisfies ToyPage;
