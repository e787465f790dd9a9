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
    'paper’s small network three times side by side, on the same data from the same starting weights, all without ' +
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
      'collapsing and never generalising, ⊥AdamW reaching full accuracy on the unseen equations within a few hundred ' +
      'epochs, and StableMax reaching it too after tens of thousands. With the defaults here (seed 0), softmax answers every ' +
      'training equation by step 50, its zero-loss share jumps from 0.03 to 0.99 between steps 500 and 700, and its ' +
      'validation accuracy never rises above 3% (chance is 2%). ⊥AdamW passes 90% on the unseen equations at step 300 and ' +
      '99% at step 375, with no regularisation at all. StableMax never produces a single zero loss, but it does not grok ' +
      'within the 1,500 steps either: the paper ran it for 80,000 epochs.',
    'The network is the one in the authors’ code for Figure 1: a and b as one-hot vectors, two hidden ReLU layers of width ' +
      '200 without biases, full-batch training on 40% of the table with learning rate 10⁻². What differs: p = 47 instead of 113 ' +
      '(so a step takes milliseconds), 1,500 steps instead of 80,000 epochs, β₂ = 0.98 and ε = 10⁻⁸ in Adam ' +
      '(the paper’s runs use 0.99 and ε as small as 10⁻²⁵), and a 10-step learning-rate warm-up shared with the grokking toy. ' +
      'Set `model` to transformer to run the same three arms on the grokking toy’s transformer instead.',
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
      text: 'Watch the zero-loss chart: softmax’s share sits near 0 while it memorises, then shoots up to 1 within a hundred steps. Later it can drop back for a while (Adam amplifies the tiny gradients that are left until the loss spikes) and then collapse again. StableMax’s and ⊥AdamW’s stay at exactly 0.',
    },
    {
      text: 'Compare the logit norms on a log-x axis: softmax’s grows until the collapse, StableMax’s keeps growing into the tens of thousands (its loss still rewards confidence, but never rounds to 0), and ⊥AdamW’s stays below 40 because it cannot scale the weights up.',
      logX: true,
    },
    {
      text: 'Switch to the grokking toy’s transformer (`model` = transformer, width 64, one layer): softmax still collapses (around step 900 in our run) and neither fix does, but within 1,500 steps none of the three generalises, ⊥AdamW included. How fast ⊥AdamW groks depends on the architecture; the paper’s quick result is for the MLP.',
      set: { model: 'transformer', d_model: 64, layers: 1, batch_size: 512 },
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
