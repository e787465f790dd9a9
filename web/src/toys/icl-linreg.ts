/**
 * The icl-linreg page's text. Sources: Garg, Tsipras, Liang & Valiant (2022), "What Can
 * Transformers Learn In-Context? A Case Study of Simple Function Classes" (§3, Figure 2) for the
 * prompt format and the error-against-k plot; Akyürek, Schuurmans, Andreas, Ma & Zhou (2023),
 * "What learning algorithm is in-context learning? Investigations with linear models"; Ahn,
 * Cheng, Daneshmand & Sra (2023), "Transformers learn to implement preconditioned gradient
 * descent for in-context learning" (Theorem 1) and Mahankali, Hashimoto & Ma (2023), "One Step
 * of Gradient Descent is Provably the Optimal In-Context Learner with One Layer of Linear
 * Self-Attention" for the linear-attention arm. The toy itself is crate/src/toys/icl_linreg.rs.
 */

import type { ToyPage } from '../pages';

export default {
  id: 'icl-linreg',
  intro:
    'Every prompt here is a fresh little regression problem: a hidden random weight vector w, a few example ' +
    'points x with their answers y = w·x (plus a little noise), and then a new point whose answer the model must ' +
    'guess. The weights of the model never see w: it can only work it out from the examples in the prompt, a new ' +
    'one every time. This is in-context learning, and because the task is so simple we know the best possible ' +
    'answers: least squares, ridge regression, or one step of gradient descent on the examples. Two models train ' +
    'side by side. A small transformer reads the whole prompt x₁, y₁, x₂, y₂, … and, as Garg et al. found, ends up ' +
    'nearly as accurate as least squares once it has seen about as many examples as there are dimensions — far ' +
    'better than simply averaging the examples. A single layer of linear attention, which can only compute sums ' +
    'of products of its inputs, learns something exactly identifiable: one step of (preconditioned) gradient ' +
    'descent, as Ahn et al. and Mahankali et al. proved. Press ▶ and watch both error curves fall to their ' +
    'reference lines; the figures below the charts show the error against the number of examples, and the matrix ' +
    'the linear attention learned next to the one theory predicts.',
  differs: [
    'Much smaller. Garg et al. (§3) train a 12-layer transformer of width 256 on d = 20 dimensional inputs with up to 40 ' +
      'examples for 500,000 steps, with a curriculum that grows both the dimension and the prompt length. Here the defaults are d = 5, ' +
      'n = 10 examples, 3 layers of width 32 with 2 heads and 3,000 steps. The curriculum keeps only its first half: training prompts ' +
      'start with x in 1 dimension and gain one every `curriculum` = 150 steps, up to all 5 by step 600; the prompt length stays fixed. ' +
      'Without it (`curriculum` = 0) the transformer sits on a long plateau near the zero predictor first.',
    'So the transformer gets near least squares but not onto it: in Garg et al.’s Figure 2 its error is indistinguishable ' +
      'from least squares for every k. Here, after the default 3,000 steps, its error with all k = 10 examples is clearly ' +
      'above that of ridge and least squares, though far below one step of GD, averaging and predicting zero; with only a few ' +
      'examples it is close to least squares (measured numbers: docs/reproductions.md). It is still improving when the run stops: more steps, ' +
      'width or depth (`layers`, `d_model`) close more of the gap.',
    'Labels have noise σ = 0.25 by default (`noise`), as in Akyürek et al.’s noisy setting; Garg et al. use none. With noise, ' +
      'ridge regression with λ = σ² is the best possible predictor (w ~ N(0, I) makes it the posterior mean), and least squares ' +
      'without a ridge has a spike in its error at k = d, where it fits the noise exactly. The error axis is logarithmic to show both.',
    'Errors are squared errors divided by d, averaged over 512 fixed test prompts, as in Garg et al.’s plots. The reference lines ' +
      'in the step chart are the learners’ errors at the query after all n examples.',
    'The linear-attention arm trains only the parts of its two (d+1)×(d+1) matrices that reach the prediction (the last row of ' +
      'W^{PV} and d columns of W^{KQ}); the rest cannot change the output. Its learned Γ is read off as p_y·Q_xᵀ and compared with ' +
      'Ahn et al.’s optimal preconditioner Γ* = ((n+1)/n·Σ + tr(Σ)/n·I)⁻¹ (Theorem 1), to which we add the σ²/n term that label noise brings.',
    'Both arms use Adam without weight decay and see fresh prompts every step, so there is no overfitting to a training set.',
  ],
  tryThis: [
    {
      text: 'Switch `covariance` to skewed: the inputs are stretched along random directions. One plain GD step now does worse than ' +
        'the preconditioned step, and the linear attention’s Γ stops being a multiple of the identity: it learns the skewed Γ* on the right of the heatmap.',
      set: { covariance: 'skewed' },
    },
    {
      text: 'Set `noise` to 0. Least squares becomes exact once k ≥ d, and the transformer’s error keeps falling the longer it trains, while ' +
        'one step of GD stays well above it: one gradient step cannot solve a regression, so the transformer must be doing something else.',
      set: { noise: 0 },
    },
    {
      text: 'Raise `noise` to 1. Now the best answer shrinks towards zero (ridge), and least squares is beaten badly around k = d; see ' +
        'whether the transformer follows ridge or least squares there, the question of Akyürek et al.',
      set: { noise: 1 },
    },
    {
      text: 'Give the transformer a single layer (`layers` = 1) and compare its error curve with the default’s. Akyürek et al. (abstract, §4) ' +
        'find that which classical learner a trained transformer resembles — gradient descent, ridge or least squares — changes with its depth and with the label noise.',
      set: { layers: 1 },
    },
    {
      text: 'Try a shorter prompt with `n` = 5 = d: the linear attention’s Γ* shrinks (fewer examples, less trust in their average), and ' +
        'the learned Γ follows it.',
      set: { n: 5 },
    },
  ],
} satisfies ToyPage;
