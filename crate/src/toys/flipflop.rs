//! `flipflop` — Liu, Ash, Goel, Krishnamurthy & Zhang, "Exposing Attention Glitches with
//! Flip-Flop Language Modeling" (2023), https://arxiv.org/abs/2306.00946.
//!
//! A transformer trained on flip-flop strings (`tasks::flipflop`) reads the register almost
//! perfectly on strings like its training data, yet makes rare read errors ("attention glitches")
//! once the instruction mix shifts: sparse strings (the last write far back) and dense ones (many
//! competing writes). As in the paper (§3–4): train on FFL(p_i = 0.8), score the reads, test on
//! FFL(0.8), FFL(0.98) and FFL(0.1), and offer
//! three of its interventions (dropout, weight decay, attention sharpening). Smaller: 64 tokens
//! instead of 512, a 2-layer width-32 model, hundreds of test strings instead of up to 10⁷, and
//! by default the loss at the reads only: the paper's loss at every position (`loss` = all) is
//! mostly coin flips, and with it some seeds do not leave the plateau within a default run.
//! The baseline, as the paper's, is a 1-layer LSTM trained on the very same batches.

use std::rc::Rc;

use super::{About, Experiment, Paper, Theme};
use crate::error::{Error, Result};
use crate::figures::{Figure, Heatmap, Table, TableRow};
use crate::learner::{Learner, Module};
use crate::metrics::{Arm, History, LOSS, Metrics, Quantity, Scale, Split, TRAIN, Verdict, name, percent};
use crate::nn::{Dropout, Lstm, Param, Transformer, TransformerShape};
use crate::rng::Rng;
use crate::schema::{Optim, Run, Shape};
use crate::tasks::flipflop::{Set, VOCAB, W, letter};
use crate::tensor::{Device, Index, Normalizer, Tensor, read_all};

crate::choice! {
    pub enum Loss { All = "all", Reads = "reads" }
}
crate::choice! {
    pub enum Regularization { None = "none", Dropout = "dropout", WeightDecay = "weight_decay", Sharpening = "sharpening" }
}
crate::choice! {
    pub enum Recurrent { Lstm = "lstm", None = "none" }
}

crate::config! {
    pub struct Config {
        group run: Run = Run { seed: 0, eval_every: 100 },
        seq_len: usize = 64, int(16, 256), "tokens per string (even): seq_len/2 instructions",
        group shape: Shape = Shape { layers: 2, d_model: 32, heads: 2 },
        group optim: Optim = Optim { lr: 3e-3, weight_decay: 0.1, batch_size: 32 },
        loss: Loss = Loss::Reads, choice(), "next-token loss only at the reads, or at every position (all, as in the paper: slower, and on some seeds stuck for thousands of steps)",
        regularization: Regularization = Regularization::None, choice(), "none, dropout (rate `dropout`), weight decay (`weight_decay`) or attention sharpening (`sharpening`)",
        dropout: f64 = 0.1, float(0.0, 0.5), "share of units dropped on the embeddings and residual branches, with regularization = dropout",
        sharpening: f64 = 1e-4, log(1e-6, 1.0), "weight of the attention-entropy penalty (mean over layers), with regularization = sharpening",
        recurrent: Recurrent = Recurrent::Lstm, choice(), "train a 1-layer LSTM beside the transformer on the same strings (lstm), or not (none)",
        lstm_hidden: usize = 32, int(8, 128), "hidden units of the LSTM",
        lstm_lr: f64 = 1e-2, log(1e-4, 1e-1), "the LSTM's AdamW learning rate",
        test_strings: usize = 512, int(32, 8192), "strings in each fixed test set (the paper uses up to 10⁷)",
    }
}

const TRANSFORMER: Arm = Arm::new("transformer", "transformer");
const LSTM: Arm = Arm::new("lstm", "LSTM");
/// The test distributions, FFL(p_i), as in the paper's §4.
const TESTS: [(Split, f32); 3] = [
    (Split::new("in_dist", "in distribution (p_i = 0.8)"), 0.8),
    (Split::new("sparse", "sparse (p_i = 0.98)"), 0.98),
    (Split::new("dense", "dense (p_i = 0.1)"), 0.1),
];
const READ_ERR: Quantity = Quantity::new("read_err", "read error rate", "", Scale::Log);
const TRAIN_P_IGNORE: f32 = 0.8;
/// Glitches listed per test set in the figure.
const GLITCHES_PER_TEST: usize = 4;

/// The models that read the strings.
enum Net {
    Transformer(Transformer),
    Lstm(Lstm),
}

impl Module for Net {
    fn params(&self) -> Vec<Param> {
        match self {
            Net::Transformer(m) => m.params(),
            Net::Lstm(m) => m.params(),
        }
    }
}

/// Strings on the device, and the positions scored with their targets.
struct Batch {
    set: Set,
    tokens: Rc<Index>,
    rows: Rc<Index>,
    targets: Rc<Index>,
}

impl Batch {
    /// Scored at the reads, or at every position but the last of each string (`all`).
    fn new(device: &Device, set: Set, at_reads: bool) -> Result<Batch> {
        let (n, t) = (set.tokens.len(), set.seq_len);
        let (rows, targets) = if at_reads {
            (set.reads.clone(), set.bits.clone())
        } else {
            (0..n as u32).filter(|&i| i as usize % t != t - 1).map(|i| (i, set.tokens[i as usize + 1])).unzip()
        };
        Ok(Batch {
            tokens: Index::new(device, set.tokens.clone(), VOCAB)?,
            rows: Index::new(device, rows, n)?,
            targets: Index::new(device, targets, VOCAB)?,
            set,
        })
    }
}

pub struct FlipFlop {
    config: Config,
    device: Device,
    /// The transformer first, then the LSTM with `recurrent` = lstm.
    arms: Vec<(Arm, Learner<Net>)>,
    dropout: Option<Dropout>,
    data: Rng,
    /// The fixed test sets, scored at the reads.
    tests: Vec<Batch>,
    /// Each arm's loss on the last step's batch.
    losses: Vec<Tensor>,
}

impl Experiment for FlipFlop {
    type Config = Config;
    const ABOUT: About = About {
        id: "flipflop",
        title: "Attention glitches on flip-flop languages",
        claim: "a transformer reads a 1-bit register almost perfectly in distribution, but makes sporadic read errors on sparse and dense strings; a 1-layer LSTM makes none",
        theme: Theme::Attention,
        papers: &[Paper {
            title: "Exposing Attention Glitches with Flip-Flop Language Modeling",
            authors: "Liu, Ash, Goel, Krishnamurthy & Zhang",
            year: 2023,
            url: "https://arxiv.org/abs/2306.00946",
        }],
        default_steps: 3000,
    };

    fn validate(c: &Config) -> Result<()> {
        if !c.seq_len.is_multiple_of(2) {
            return Err(Error::msg(format!("seq_len = {} must be even: a string is instruction–bit pairs", c.seq_len)));
        }
        c.shape.check()
    }

    fn build(config: Config, device: &Device) -> Result<FlipFlop> {
        let (s, seed) = (&config.shape, config.run.seed);
        let shape = TransformerShape { vocab: VOCAB, seq_len: config.seq_len, d_model: s.d_model, heads: s.heads, layers: s.layers, n_out: VOCAB };
        let model = Transformer::new(device, &mut Rng::stream(seed, "init"), shape)?;
        let wd = if config.regularization == Regularization::WeightDecay { config.optim.weight_decay } else { 0.0 };
        let mut arms = vec![(TRANSFORMER, Learner::adamw(Net::Transformer(model), config.optim.lr, wd, 0.98))];
        if config.recurrent == Recurrent::Lstm {
            // A stream of its own, so that the transformer's run is the same with or without it.
            let lstm = Lstm::new(device, &mut Rng::stream(seed, "lstm init"), VOCAB, config.lstm_hidden, VOCAB)?;
            arms.push((LSTM, Learner::adamw(Net::Lstm(lstm), config.lstm_lr, 0.0, 0.98)));
        }
        let dropout = (config.regularization == Regularization::Dropout).then(|| Dropout::new(config.dropout as f32, Rng::stream(seed, "dropout")));
        let mut test_rng = Rng::stream(seed, "test");
        let tests =
            TESTS.iter().map(|&(_, p)| Batch::new(device, Set::sample(&mut test_rng, config.test_strings, config.seq_len, p), true)).collect::<Result<_>>()?;
        Ok(FlipFlop { data: Rng::stream(seed, "data"), config, device: device.clone(), arms, dropout, tests, losses: vec![] })
    }

    /// One AdamW update of every arm on the same fresh FFL(0.8) strings.
    async fn train_step(&mut self, _step: u64) -> Result<()> {
        let set = train_set(&self.config, &mut self.data);
        let batch = self.batch(set)?;
        let mut losses = Vec::with_capacity(self.arms.len());
        for k in 0..self.arms.len() {
            let dropout = if k == 0 { self.dropout.as_ref() } else { None };
            let (loss, objective) = self.losses(&self.arms[k].1.model, &batch, dropout)?;
            self.arms[k].1.update(&objective)?;
            losses.push(Tensor::from_shared(&loss, &[1]));
        }
        self.losses = losses;
        Ok(())
    }

    /// Per arm: the loss of the step's batch (at step 0, of a batch from a stream of its own),
    /// then the read error rate on each test set, counted.
    async fn eval(&mut self, m: &mut Metrics) -> Result<()> {
        if self.losses.is_empty() {
            let first = self.batch(train_set(&self.config, &mut Rng::stream(self.config.run.seed, "first batch")))?;
            self.losses = self.arms.iter().map(|(_, l)| Ok(self.losses(&l.model, &first, None)?.0)).collect::<Result<_>>()?;
        }
        for ((arm, learner), loss) in self.arms.iter().zip(&self.losses) {
            m.scalar(*arm, TRAIN, LOSS, loss);
            for ((split, _), test) in TESTS.iter().zip(&self.tests) {
                let correct = self.logits(&learner.model, test, None)?.cross_entropy_with(&test.targets, Normalizer::Softmax)?.correct;
                let reads = test.set.reads.len() as f32;
                m.scalar_with(*arm, *split, READ_ERR, &correct.sum(1.0), move |right| (reads - right) / reads);
            }
        }
        Ok(())
    }

    async fn figures(&mut self) -> Result<Vec<Figure>> {
        self.glitch_figures().await
    }

    /// At the end: the transformer misreads at most 1% of in-distribution reads and more of the
    /// sparse or dense ones; the LSTM, when trained, misreads none.
    fn verdict(config: &Config, h: &History, _: &[Figure]) -> Verdict {
        let [in_dist, sparse, dense] = TESTS.map(|(split, _)| h.last(&name(TRANSFORMER, split, READ_ERR)));
        let lstm = TESTS.map(|(split, _)| h.last(&name(LSTM, split, READ_ERR))).into_iter().fold(0.0, f32::max);
        let line =
            format!("the transformer misreads {} of in-distribution reads, {} of sparse, {} of dense", percent(in_dist), percent(sparse), percent(dense));
        let line = if config.recurrent == Recurrent::Lstm { format!("{line}; the LSTM {}", percent(lstm)) } else { line };
        if in_dist > 0.01 {
            return Verdict::new(false, format!("{line}: it has not learnt the task in distribution; try more steps or another seed"));
        }
        let lstm_clean = config.recurrent == Recurrent::None || lstm == 0.0;
        Verdict::new(sparse.max(dense) > in_dist && lstm_clean, line)
    }
}

/// A batch of fresh FFL(0.8) training strings.
fn train_set(c: &Config, rng: &mut Rng) -> Set {
    Set::sample(rng, c.optim.batch_size, c.seq_len, TRAIN_P_IGNORE)
}

impl FlipFlop {
    /// Training strings on the device, scored as `loss` says.
    fn batch(&self, set: Set) -> Result<Batch> {
        Batch::new(&self.device, set, self.config.loss == Loss::Reads)
    }

    /// The logits (rows, VOCAB) at a batch's scored positions. Dropout only reaches the transformer.
    fn logits(&self, net: &Net, b: &Batch, dropout: Option<&Dropout>) -> Result<Tensor> {
        match net {
            Net::Transformer(m) => m.logits_at(&m.hidden_with(&b.tokens, dropout)?.0, &b.rows),
            Net::Lstm(m) => m.logits_at(&m.hidden(&b.tokens, self.config.seq_len)?, &b.rows),
        }
    }

    /// The cross-entropy (for the metrics) and the objective the optimizer follows: the same,
    /// plus for the transformer with regularization = sharpening `sharpening` times the mean
    /// entropy of its attention rows, averaged over the layers (attention sharpening).
    fn losses(&self, net: &Net, b: &Batch, dropout: Option<&Dropout>) -> Result<(Tensor, Tensor)> {
        match (net, self.config.regularization) {
            (Net::Transformer(m), Regularization::Sharpening) => {
                let (hidden, atts) = m.hidden_with(&b.tokens, dropout)?;
                let ce = m.logits_at(&hidden, &b.rows)?.cross_entropy(&b.targets)?.0;
                let w = self.config.sharpening as f32 / atts.len() as f32;
                let mut objective = ce.clone();
                for att in &atts {
                    objective = objective.add(&att.attention_entropy()?.scale(w))?;
                }
                Ok((ce, objective))
            }
            _ => {
                let ce = self.logits(net, b, dropout)?.cross_entropy(&b.targets)?.0;
                Ok((ce.clone(), ce))
            }
        }
    }

    /// A table of error counts per model and test set, and a table of the transformer's glitches
    /// (wrong reads) whose rows open the last layer's attention map of their string.
    async fn glitch_figures(&self) -> Result<Vec<Figure>> {
        let logits = self.arms.iter().flat_map(|(_, l)| self.tests.iter().map(move |p| self.logits(&l.model, p, None))).collect::<Result<Vec<_>>>()?;
        let values = read_all(&logits.iter().collect::<Vec<_>>()).await?;
        let mut counts = vec![];
        let mut glitches = vec![]; // the transformer's: (test, flat read position, predicted token)
        for (k, ((arm, _), values)) in self.arms.iter().zip(values.chunks(TESTS.len())).enumerate() {
            for (test, (((split, p), probe), v)) in TESTS.iter().zip(&self.tests).zip(values).enumerate() {
                let mut errors = 0;
                for ((row, &at), &bit) in v.chunks(VOCAB).zip(&probe.set.reads).zip(&probe.set.bits) {
                    let predicted = (0..VOCAB).fold(0, |best, j| if row[j] > row[best] { j } else { best }) as u32;
                    if predicted != bit {
                        if k == 0 && errors < GLITCHES_PER_TEST {
                            glitches.push((test, at, predicted));
                        }
                        errors += 1;
                    }
                }
                let reads = probe.set.reads.len();
                let cells = [arm.label, split.id, &p.to_string(), &probe.set.len().to_string(), &reads.to_string(), &errors.to_string()];
                counts.push(TableRow::new(cells.iter().map(|s| s.to_string()).chain([format!("{:.2e}", errors as f64 / reads as f64)]).collect()));
            }
        }
        let maps = self.attention_maps(&glitches).await?;
        let t = self.config.seq_len;
        let rows = glitches.iter().zip(maps).map(|(&(test, at, predicted), detail)| {
            let set = &self.tests[test].set;
            let (s, pos) = (at as usize / t, at as usize % t);
            let write = (0..pos).step_by(2).rev().find(|&j| set.tokens[s * t + j] == W).expect("strings start with a write");
            let cells = vec![
                TESTS[test].0.id.into(),
                set.text(s),
                pos.to_string(),
                (pos - write).to_string(),
                letter(set.tokens[at as usize + 1]).into(),
                letter(predicted).into(),
            ];
            TableRow { cells, detail: Some(detail) }
        });
        Ok(vec![
            Figure::Table(Table::new(
                "read-errors",
                "Read errors on the test sets now",
                &["model", "test", "p_i", "strings", "reads", "errors", "error rate"],
                counts,
            )),
            Figure::Table(Table::new(
                "glitches",
                "Glitches: the transformer's wrong reads (click a row for its last-layer attention)",
                &["test", "string", "read at", "tokens since the write", "expected", "predicted"],
                rows.collect(),
            )),
        ])
    }

    /// The last block's attention (T × T, mean over heads) of each glitch's string, in one pass.
    async fn attention_maps(&self, glitches: &[(usize, u32, u32)]) -> Result<Vec<Heatmap>> {
        let Net::Transformer(model) = &self.arms[0].1.model else { unreachable!("the transformer is the first arm") };
        if glitches.is_empty() {
            return Ok(vec![]);
        }
        let (t, nh) = (self.config.seq_len, self.config.shape.heads);
        let string = |&(test, at, _): &(usize, u32, u32)| &self.tests[test].set.tokens[at as usize / t * t..][..t];
        let tokens: Vec<u32> = glitches.iter().flat_map(|g| string(g).iter().copied()).collect();
        let (_, atts) = model.hidden_with(&Index::new(&self.device, tokens, VOCAB)?, None)?;
        let probs = atts.last().and_then(|a| a.attention_probs()).expect("attention outputs carry their probabilities").to_vec().await?;
        Ok(glitches
            .iter()
            .enumerate()
            .map(|(g, glitch @ &(test, at, _))| {
                let labels = string(glitch).iter().enumerate().map(|(i, &tok)| format!("{i}{}", letter(tok))).collect();
                let name = TESTS[test].0.id;
                let title = format!("Last-layer attention, {name} string, read at {}: query rows, key columns", at as usize % t);
                Heatmap::attention(format!("attention-{name}-{at}"), title, &probs[g * nh * t * t..][..nh * t * t], nh, labels)
            })
            .collect())
    }
}
