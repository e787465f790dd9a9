/**
 * The stablemax page's text. Source: Prieto, Barsbey, Mediano & Birdal, "Grokking at the Edge of
 * Numerical Stability" (2025), https://arxiv.org/abs/2501.04697 — §2 (Softmax Collapse), §3
 * (naïve loss minimisation), §4 (StableMax), §5 (⊥Grad). The toy itself is
 * crate/src/toys/stablemax.rs.
 */

import type { ToyPage } from './page';

export const stablemax: ToyPage = {
  id: 'stablemax',
  headline: 'Softmax Collapse: why grokking needs weight decay, and how to do without it',
  intro:
    'The grokking toy needs weight decay: without it, a network that has memorised a table of sums never finds the rule. ' +
    'Prieto et al. trace this to floating-point arithmetic. Once every training example is answered correctly, the ' +
    'cheapest way to lower the loss further is to make the network more confident by scaling all its answers up. The ' +
    'softmax then gives the right answer a probability so close to 1 that in 32-bit floats it becomes exactly 1, the ' +
    'loss of that example exactly 0, and the example stops teaching anything: “Softmax Collapse”. This page trains the ' +
    'same small transformer three times side by side, on the same data from the same starting weights, all without ' +
    'weight decay: with the usual softmax; with StableMax, which replaces the exponential inside the softmax by a ' +
    'function that grows only linearly, so nothing rounds to 1; and with the usual softmax but ⊥AdamW, an optimiser ' +
    'that removes from every update the part that would just scale the weights up. Watch the share of training examples ' +
    'whose loss is exactly 0, the size of the logits, and accuracy on the unseen equations for each.',
  paper: {
    cite: 'Prieto, Barsbey, Mediano & Birdal (2025). Grokking at the Edge of Numerical Stability. ICLR 2025.',
    url: 'https://arxiv.org/abs/2501.04697',
  },
  differs: [
    'What reproduces here and what does not. The paper’s Figure 1 (addition mod 113) shows softmax without weight decay ' +
      'collapsing and never generalising, while StableMax and ⊥AdamW reach full accuracy on the unseen equations without any ' +
      'regularisation. Here the collapse reproduces as described: with the defaults, softmax answers every training equation ' +
      'after about 100 steps, its zero-loss share jumps from 0 to 1 between steps 600 and 900, and its validation accuracy stays ' +
      'at 2–7%. StableMax never produces a single zero loss, and ⊥AdamW keeps its logit norm near 20 while StableMax’s grows past 3,000 — ' +
      'but within the default 3,000 steps neither groks: StableMax stays at chance like softmax, ⊥AdamW climbs only to about 17%. ' +
      'At this toy scale, without weight decay, generalising takes longer than the budget, collapse or no collapse.',
    'The model and task are this site’s grokking toy (a 1-layer transformer of width 32 on a + b mod 23, half of the table ' +
      'for training) rather than the paper’s models on addition mod 113, and the learning rate is larger (`lr` = 10⁻²), so that ' +
      'the collapse comes within a few hundred steps instead of thousands of epochs.',
    'Everything runs in 32-bit floats on both backends, as on a GPU. The paper shows that 64-bit floats postpone the collapse ' +
      '(§2); here there is no 64-bit switch.',
    'StableMax: s(x) = x + 1 for x ≥ 0 and 1/(1 − x) for x < 0, normalised like a softmax, and the loss is −log of the ' +
      'normalised s of the right answer (§4). The paper’s code computes that loss in 64-bit floats; here it is 32-bit like everything else.',
    '⊥AdamW removes, for each weight matrix separately, the component of its gradient along the matrix itself before the ' +
      'usual AdamW step (§5). The paper’s code also rescales the result back to the original gradient’s length; ' +
      'with Adam’s per-weight normalisation that changes little, and it is left out.',
    '“Zero loss” is measured on the whole training set every `eval_every` steps: the share of training equations ' +
      'whose 32-bit loss is exactly 0. “Logit norm” is the root-mean-square length of the training logit vectors.',
  ],
  tryThis: [
    {
      text: 'Watch the zero-loss chart: softmax’s share sits at 0 while it memorises, then shoots up to 1 within a few hundred steps. Later it can drop back for a while — Adam amplifies the tiny gradients that are left until the loss spikes — and then collapse again. StableMax’s and ⊥AdamW’s stay at exactly 0.',
    },
    {
      text: 'Compare the logit norms on a log-x axis: softmax’s grows until the collapse, StableMax’s keeps growing into the thousands (its loss still rewards confidence, but never rounds to 0), and ⊥AdamW’s stays near 20 because it cannot scale the weights up.',
      logX: true,
    },
    {
      text: 'Give it more data: `p` = 31 and `train_fraction` = 0.6. In our run (seed 0) ⊥AdamW got about half of the unseen equations right within a few hundred steps while softmax and StableMax stayed near 10%, and softmax started to collapse around step 800.',
      set: { p: 31, train_fraction: 0.6 },
    },
    {
      text: 'Lower the learning rate (`lr` = 3·10⁻³): the logits grow more slowly, so softmax’s collapse comes later.',
      set: { lr: 0.003 },
    },
    {
      text: 'Roll a new seed (↻ new seed). When the collapse happens moves with the seed; that only softmax collapses does not.',
      newSeed: true,
    },
  ],
};
