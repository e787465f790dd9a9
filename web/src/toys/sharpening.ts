/**
 * The sharpening page's text. Source: Huang, Block, Foster, Rohatgi, Zhang, Simchowitz, Ash &
 * Krishnamurthy, "Self-Improvement in Language Models: The Sharpening Mechanism", ICLR 2025,
 * https://arxiv.org/abs/2412.01951 — the abstract for the claim (a model verifies better than
 * it generates; sharpening amortizes inference-time selection; SFT-sharpening needs coverage),
 * Figure 1 for best-of-N with the sequence log-likelihood as the self-reward. The toy itself is
 * crate/src/toys/sharpening.rs.
 */

import type { ToyPage } from '../pages';

export default {
  id: 'sharpening',
  intro:
    'Can a language model improve with no new information, just by grading its own work? Huang et al. argue that it can ' +
    'when the model is a better judge than writer: it may give the correct answer the highest probability of any ' +
    'answer and still rarely write it, because its probability is spread over many wrong ones. Here a tiny model learns ' +
    '32 questions (“prompts”), each with a correct answer of 3 letters, from noisy data: only 30% of the training ' +
    'answers are correct; the others start with the same tempting wrong letter and go on at random. The model learns ' +
    'just that: about 0.3 of its probability on the correct answer, far more than on any single wrong one (about ' +
    '0.7/64 ≈ 0.01 each), yet one sample is right only 30% of the time, and greedy decoding, which takes the likeliest ' +
    'letter at each step, starts with the tempting letter and is nearly always wrong. Best-of-N: draw N answers and keep ' +
    'the one the model itself finds likeliest, log π(answer | prompt). No checker and no correct labels are involved; ' +
    'the model is its own verifier. From step 600 on, the model is fine-tuned on its own best-of-8 answers ' +
    '(“SFT-sharpening”). Watch the accuracy chart: one sample (which is exactly the model’s mass on the correct ' +
    'answer), greedy decoding and best-of-8, before and after step 600. The first chart under it plots best-of-N ' +
    'accuracy against N for the model at step 600 and at the end; the others show the mass on each prompt’s correct ' +
    'answer before and after.',
  differs: [
    'What reproduces. At step 600 the base model is rarely right with one sample and almost never greedily, yet ' +
      'best-of-N by self-likelihood climbs steeply with N and finds the correct answer for almost every prompt by N = 64. ' +
      'After the 300 steps of SFT-sharpening in a default run, one plain sample, and greedy decoding too, is right about as ' +
      'often as best-of-N with a large N was for the base model: the mass on the correct answers has gone most of the way ' +
      'to 1. That is the amortization of the abstract (measured numbers: docs/reproductions.md).',
    'A synthetic task in which the likeliest answer is the correct one by construction: the paper’s “maximum-likelihood ' +
      'sharpening”, where quality simply is likelihood under the base model. On real tasks likelihood is only correlated ' +
      'with correctness; the paper’s Figure 1 measures how much best-of-N by sequence log-likelihood gains over greedy ' +
      'decoding for real models and benchmarks. A wrong answer can never be the likeliest here (a setting where it would ' +
      'be is refused: `coverage` must exceed (1 − coverage) / alphabet^(answer_len − 1)).',
    'The paper’s SFT-sharpening samples N answers from the base model, keeps the likeliest under the base model, and ' +
      'fine-tunes once on those. Here every step samples from, and scores with, the model as it is being fine-tuned: an ' +
      'iterated, online variant that needs no frozen copy of the model. It sharpens further than one round would (the ' +
      'mass on the chosen answers soon goes almost to 1), and mistakes reinforce themselves: in the default run, a prompt ' +
      'that the base model covers poorly ends with all its mass on a wrong answer. The paper proves that ' +
      'SFT-sharpening is minimax optimal when the base model has sufficient coverage, that is, samples the good answers ' +
      'often enough; the `coverage` slider lets you take that away. The paper’s RL-based sharpening, which can do without ' +
      'coverage by exploring, is not here.',
    'Much smaller: a 2-layer transformer of width 32 (`layers`, `d_model`), 32 prompts (`prompts`), answers of 3 letters ' +
      '(`answer_len`) from 8 (`alphabet`), pre-trained for 600 steps (`sharpen_at`) on 64 fresh noisy labels per step, then ' +
      'sharpened on the best of 8 (`n`) samples for each of 64 prompts per step. The base model fits the data imperfectly: ' +
      'the data give every prompt 0.3, the model more to some prompts and less to others, so its best-of-N curve sits near, not on, ' +
      'the ideal 1 − 0.7^N drawn beside it.',
    'The `best_of_n/acc` metric uses 4 groups of N samples per prompt (128 trials with the defaults), so it is noisy from ' +
      'row to row; the best-of-N chart uses 64 samples per prompt split into disjoint groups of N.',
  ],
  tryThis: [
    {
      text: 'Set `n` to 1: fine-tune on one own sample per prompt, with no selection. The model sharpens anyway, but around whatever it happened to draw, and accuracy collapses. Selection by likelihood is what points the sharpening at the correct answers.',
      set: { n: 1 },
    },
    {
      text: 'Set `sharpen_at` to 0: a model that has learnt nothing sharpens onto random answers. Self-improvement cannot create information that is not already in the model (the abstract’s own caveat).',
      set: { sharpen_at: 0 },
    },
    {
      text: 'Lower `coverage` to 0.1, set `sharpen_at` to 1500 and raise `steps` to 1800 (the noisier labels take longer to learn). Best-of-8 of the base model now finds the correct answer for only about half of the prompts (ideally 1 − 0.9^8 ≈ 0.57), and sharpening with N = 8 ends near that. Then set `n` to 32: more prompts have their correct answer among the samples, and sharpening ends higher, near best-of-32. That is the coverage condition.',
      set: { coverage: 0.1, sharpen_at: 1500 },
    },
    {
      text: 'Raise `coverage` to 0.6: the correct first letter is now the likeliest one, so greedy decoding is already mostly right and there is less for sharpening to do.',
      set: { coverage: 0.6 },
    },
    {
      text: 'Roll a new seed (↻ new seed): which prompts end on a wrong answer? Look for them at the top of the per-prompt table, the ones the base model covered least.',
      newSeed: true,
    },
  ],
} satisfies ToyPage;
