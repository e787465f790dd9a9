/**
 * The hedgehog page's text. Sources: Zhang, Bhatia, Kumbong & Ré (2024), "The Hedgehog & the
 * Porcupine: Expressive Linear Attentions with Softmax Mimicry", https://arxiv.org/abs/2402.04347
 * — the abstract for the claim (spiky, monotonic weights; over 99% of softmax quality); the
 * authors' feature-map code (HazyResearch/lolcats, src/model/feature_map.py, `SoftmaxDim`) for
 * the map; Arora et al. (2023), "Zoology", https://arxiv.org/abs/2312.04927, for multi-query
 * associative recall; Katharopoulos et al. (2020), https://arxiv.org/abs/2006.16236, for elu+1.
 * The toy itself is crate/src/toys/hedgehog.rs.
 */

import type { ToyPage } from '../pages';

export default {
  id: 'hedgehog',
  intro:
    'Softmax attention compares every query with every earlier key, so its cost grows with the square of the sequence ' +
    'length. Linear attention swaps exp(q·k) for a dot product of feature maps φ(q)·φ(k); then the sum over the past can ' +
    'be kept as a running state, and the cost grows only linearly. The price, Zhang et al. find, is that common feature ' +
    'maps such as elu+1 give flat attention: they cannot put almost all the weight on one token, as softmax does. ' +
    'Their Hedgehog map is learned — a linear layer, then exp of both signs — and it learns to be “spiky” again. ' +
    'Here three copies of one small transformer learn associative recall side by side: a sequence lists key–value pairs, ' +
    'then asks for some of the keys again, and the model must answer each with its value. Press ▶ and compare the ' +
    'recall curves, the attention entropy (low = spiky) and the attention maps under the charts.',
  differs: [
    'The task is multi-query associative recall from Zoology (Arora et al. 2023), not the paper’s language modelling ' +
      'and GLUE benchmarks: 8 key–value pairs over 64 tokens, then the 8 keys again in random order (32 tokens), scored ' +
      'at the queries only. Zoology spreads the queries over a longer sequence with noise between them; here they come ' +
      'back to back.',
    'A 2-layer transformer of width 32 with one head, trained for 1,000 steps of 32 fresh sequences, the same batches ' +
      'for all three arms. At this scale softmax recalls almost every test query, elu+1 few of them, and Hedgehog lands ' +
      'in between: it recovers only part of softmax’s recall, where the paper reports over 99% of softmax’s quality. Its ' +
      'attention rows, though, are nearly as low in entropy as softmax’s, and elu+1’s are much flatter (measured numbers: ' +
      'docs/reproductions.md).',
    'Everything is trained from scratch on the task. The paper’s main recipe for converting a trained transformer — ' +
      'first train the feature map to copy the softmax attention weights (attention distillation), then fine-tune — is ' +
      'not in this toy.',
    'The Hedgehog map is φ(x) = [softmax(xW + b), softmax(−(xW + b))] over the features: the paper writes exp of both ' +
      'signs; the authors’ code normalises each half with a softmax, which keeps exp from overflowing, and so do we. W ' +
      'starts as the identity. One map per layer for queries and one for keys, shared by the heads (the authors’ code learns one per head).',
    'Both linear arms never form the T × T weights in training: the kernel keeps the running sums S = Σ φ(k)vᵀ and ' +
      'z = Σ φ(k) and scans over time. The maps and entropies are computed from φ(q), φ(k) for the pictures only. ' +
      'Their denominator adds ε = 10⁻⁶, so a Hedgehog row whose dot products are tiny sums to a little under 1.',
    'The entropy metric is the mean over every attention row of every layer of 16 test sequences, the first rows ' +
      'included (row 0 always has entropy 0); its maximum for a row over t tokens is ln t.',
  ],
  tryThis: [
    {
      text: 'More pairs to remember: with 16 pairs (and 16 queries) a linear attention’s fixed-size state has more to hold.',
      set: { pairs: 16, queries: 16 },
    },
    {
      text: 'A wider model (`d_model` = 64) gives both linear arms more features: does elu+1 catch up?',
      set: { d_model: 64 },
    },
    {
      text: 'Two heads of 16 channels: smaller feature maps per head.',
      set: { heads: 2 },
    },
    {
      text: 'Roll a new seed (↻ new seed): when softmax finds its recall circuit, and how far Hedgehog gets, varies from run to run.',
      newSeed: true,
    },
  ],
} satisfies ToyPage;
