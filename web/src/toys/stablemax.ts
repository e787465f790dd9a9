/**
 * The stablemax page's text. Source: Prieto, Barsbey, Mediano & Birdal, "Grokking at the Edge of
 * Numerical Stability" (2025), https://arxiv.org/abs/2501.04697 — §2 (Softmax Collapse), §3
 * (naïve loss minimisation), §4 (StableMax), §5 (⊥Grad). The toy itself is
 * crate/src/toys/stablemax.rs.
 */

import type { ToyPage } from '../pages';

export default {
  id: 'stablemax',
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
  differs: [
    'What reproduces. The paper’s Figure 1 (addition mod 113) shows softmax without weight decay collapsing and never ' +
      'generalising, while StableMax and ⊥AdamW reach full accuracy on the unseen equations without any regularisation. ' +
      'The same happens here with the defaults: softmax soon answers every training equation, then abruptly almost all ' +
      'its training losses become exactly 0, and its accuracy on the unseen equations stays near chance (1/47, about 2%). ' +
      'StableMax never produces a zero loss and groks gradually over the run. ⊥AdamW generalises almost as soon as it fits, ' +
      'with no delay at all: the paper’s point that it is the naïve scaling of the logits that delays generalisation ' +
      '(measured numbers: docs/reproductions.md).',
    'The network is the one in the authors’ code for Figure 1: a and b as one-hot vectors, two hidden ReLU layers of width ' +
      '200 without biases, full-batch training with learning rate 10⁻². What differs: p = 47 instead of 113 (so a step takes ' +
      'milliseconds), and 80% of the table for training instead of 40%. With 40% (`train_fraction` = 0.4) softmax still ' +
      'collapses and ⊥AdamW still groks quickly, but StableMax, which needed 80,000 epochs in the paper, does not grok ' +
      'here even in a run of 10,000 steps. Adam uses β₂ = 0.98 and ε = 10⁻⁸ (the paper’s runs 0.99 or 0.999, and ε as small ' +
      'as 10⁻²⁵), with a 10-step learning-rate warm-up shared with the grokking toy. Set `model` to transformer to run the ' +
      'same three arms on the grokking toy’s transformer instead.',
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
      text: 'Watch the zero-loss chart: softmax’s share sits near 0 while it memorises, then shoots up to 1 abruptly. Later it can drop back for a while (Adam amplifies the tiny gradients that are left until the loss spikes) and then collapse again. StableMax’s and ⊥AdamW’s stay at exactly 0.',
    },
    {
      text: 'Compare the logit norms on a log-x axis: softmax’s grows until the collapse, StableMax’s keeps growing all run long (its loss still rewards confidence, but never rounds to 0), and ⊥AdamW’s stays small because it cannot scale the weights up.',
      logX: true,
    },
    {
      text: 'Train on 40% of the table, as in the paper’s Figure 1 (`train_fraction` = 0.4). Softmax still collapses and ⊥AdamW still groks quickly, but StableMax now stays at chance: with less data it needs far longer (80,000 epochs in the paper).',
      set: { train_fraction: 0.4 },
    },
    {
      text: 'Run 3,000 steps (`steps` = 3000): late in the run StableMax starts to produce zero losses too. Its logits keep growing, only linearly, and in f32 even StableMax’s probabilities eventually round to 1; the paper computes its loss in 64-bit floats.',
      steps: 3000,
    },
    {
      text: 'Roll a new seed (↻ new seed). When the collapse happens moves with the seed; that only softmax collapses does not.',
      newSeed: true,
    },
  ],
} satisfies ToyPage;
