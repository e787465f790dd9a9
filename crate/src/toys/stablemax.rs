//! `stablemax` — Prieto, Barsbey, Mediano & Birdal, "Grokking at the Edge of Numerical
//! Stability" (2025), https://arxiv.org/abs/2501.04697.
//!
//! Claim: without weight decay, a model that has memorised its training set keeps lowering the
//! loss by scaling its logits up (the "naïve loss minimisation" direction, §3). In float32 the
//! softmax of a large enough margin rounds to exactly 1, the loss of that example to exactly 0,
//! and its gradient stops carrying information: "Softmax Collapse" (§2), and the model never
//! generalises. Removing the collapse lets it grok without any regularisation: StableMax
//! replaces exp by a function that grows linearly (§4), and ⊥AdamW removes each gradient's
//! component along its own weights, so the logits cannot simply grow (§5).
//!
//! The toy trains the paper's Figure 1 model three times side by side on the same data and
//! initialisation, all with weight decay 0: softmax + AdamW, StableMax + AdamW and softmax +
//! ⊥AdamW. The model is the authors' code's MLP (`models.py`: one-hot a and b, two hidden ReLU
//! layers of width 200, no biases), trained full-batch with lr 10⁻², as in their
//! `run_main_experiments.sh`. Every computation is in f32 on both backends, which is what makes
//! the collapse happen at all. What differs: p = 47 instead of 113, and 80% of the table for
//! training instead of 40%, so that StableMax groks within a default run (2,000 steps) rather
//! than after the paper's 80,000 epochs.

use super::modular::{self, ModelKind, ModularRun};
use super::{About, Experiment, Paper, Theme};
use crate::error::Result;
use crate::figures::Figure;
use crate::metrics::{ACC, Arm, History, LOSS, Metrics, Quantity, Scale, TRAIN, VAL, Verdict, name, percent};
use crate::schema::{Optim, Run, Shape};
use crate::tensor::{Device, Normalizer};

crate::config! {
    pub struct Config {
        group base: modular::Config = modular::Config {
            run: Run { seed: 0, eval_every: 25 },
            train_fraction: 0.8,
            model: ModelKind::Mlp,
            shape: Shape { layers: 2, d_model: 200, heads: 4 },
            optim: Optim { lr: 1e-2, weight_decay: 0.0, batch_size: 4096 },
            ..modular::Config::default()
        },
    }
}

/// The arms: who they are, the loss normalizer, ⊥AdamW.
const ARMS: [(Arm, Normalizer, bool); 3] = [
    (Arm::new("softmax", "softmax"), Normalizer::Softmax, false),
    (Arm::new("stablemax", "StableMax"), Normalizer::StableMax, false),
    (Arm::new("orthograd", "⊥AdamW"), Normalizer::Softmax, true),
];

const ZERO_LOSS: Quantity = Quantity::new("zero_loss", "share of training losses exactly 0 in f32", "", Scale::Share);
const LOGIT_NORM: Quantity = Quantity::new("logit_norm", "logit norm ‖z‖ (root mean square over equations)", "", Scale::Log);

pub struct StableMax {
    arms: Vec<ModularRun>,
}

impl Experiment for StableMax {
    type Config = Config;
    const ABOUT: About = About {
        id: "stablemax",
        title: "Softmax Collapse: grokking at the edge of float32",
        claim: "without weight decay, softmax's f32 loss rounds to exactly 0 and learning stalls (Softmax Collapse); StableMax and ⊥AdamW avoid the collapse and grok without any regularisation",
        theme: Theme::Generalization,
        papers: &[Paper {
            title: "Grokking at the Edge of Numerical Stability",
            authors: "Prieto, Barsbey, Mediano & Birdal",
            year: 2025,
            url: "https://arxiv.org/abs/2501.04697",
        }],
        default_steps: 2000,
    };

    fn validate(config: &Config) -> Result<()> {
        config.base.check()
    }

    fn build(config: Config, device: &Device) -> Result<StableMax> {
        let arm = |(_, norm, ortho): (Arm, Normalizer, bool)| {
            Ok(ModularRun::new(config.base.clone(), device, |l| if ortho { l.orthogonal() } else { l })?.with_normalizer(norm))
        };
        Ok(StableMax { arms: ARMS.into_iter().map(arm).collect::<Result<_>>()? })
    }

    async fn train_step(&mut self, _step: u64) -> Result<()> {
        self.arms.iter_mut().try_for_each(ModularRun::train_step)
    }

    async fn eval(&mut self, m: &mut Metrics) -> Result<()> {
        for ((arm, _, _), run) in ARMS.into_iter().zip(&self.arms) {
            let e = run.evaluate()?;
            let n = e.train_logits.shape()[0] as f32;
            m.scalar(arm, VAL, ACC, &e.val.acc);
            m.scalar(arm, TRAIN, ZERO_LOSS, &e.train.losses.zero_fraction());
            m.scalar_with(arm, TRAIN, LOGIT_NORM, &e.train_logits.sum_squares().scale(1.0 / n), f32::sqrt);
            m.scalar(arm, TRAIN, ACC, &e.train.acc);
            m.scalar(arm, TRAIN, LOSS, &e.train.loss);
            m.scalar(arm, VAL, LOSS, &e.val.loss);
        }
        Ok(())
    }

    /// Softmax collapses (90% of its training losses exactly 0) and stays near chance, while
    /// StableMax and ⊥AdamW, with no exactly-zero loss, reach 80% validation accuracy.
    fn verdict(_: &Config, h: &History, _: &[Figure]) -> Verdict {
        let [soft, stable, ortho] = ARMS.map(|(a, _, _)| (h.max(&name(a, TRAIN, ZERO_LOSS)), h.last(&name(a, VAL, ACC))));
        let collapsed = h.first_at(&name(ARMS[0].0, TRAIN, ZERO_LOSS), 0.9);
        let line = format!(
            "validation accuracy: softmax {}, StableMax {}, ⊥AdamW {}; {}",
            percent(soft.1),
            percent(stable.1),
            percent(ortho.1),
            collapsed.map_or("softmax did not collapse".into(), |s| format!("softmax's training losses were all but exactly 0 from step {s}"))
        );
        let fixed = |(zero, acc): (f32, f32)| zero == 0.0 && acc >= 0.8;
        Verdict::new(collapsed.is_some() && soft.1 < 0.1 && fixed(stable) && fixed(ortho), line)
    }
}
