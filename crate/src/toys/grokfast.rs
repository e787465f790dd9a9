//! `grokfast` — Lee, Kang, Kim & Lee, "Grokfast: Accelerated Grokking by Amplifying Slow
//! Gradients" (2024), https://arxiv.org/abs/2405.20233.
//!
//! Claim: treat each parameter's gradient over the steps as a signal; adding back its slow
//! (low-pass) part, an exponential moving average scaled by λ, makes grokking arrive many times
//! sooner (the paper: more than ×50 on modular multiplication).
//!
//! The toy trains the `grokking` setup twice in lockstep, from the same initial weights on the
//! same minibatches: once plainly and once with the EMA filter (Algorithm 2, α = 0.98, λ = 2),
//! and reports each arm's steps to 95% validation accuracy and their ratio.
//!
//! The optimizer is the one of the paper's code: PyTorch's Adam (β2 = 0.98, lr 10⁻³, a 10-step
//! warm-up) with a small weight decay folded into the gradient after the filter (L2), not
//! AdamW's decoupled decay. With AdamW and the grokking toy's settings the filter made the
//! model memorise sooner but generalise later; with Adam + L2 it generalises sooner.

use super::modular::{self, ModularRun};
use super::{About, Experiment, Paper, Theme};
use crate::error::Result;
use crate::figures::{Figure, Table, TableRow};
use crate::learner::norm_of;
use crate::metrics::{ACC, Arm, History, LOSS, MetricRow, Metrics, NONE, TRAIN, VAL, Verdict, WEIGHT_NORM, name};
use crate::schema::{Optim, Run, Shape};
use crate::tensor::Device;

crate::choice! {
    pub enum Optimizer {
        /// Weight decay added to the gradient (L2), as the paper's code.
        Adam = "adam",
        /// AdamW's decoupled decay.
        Adamw = "adamw",
    }
}

crate::config! {
    pub struct Config {
        group base: modular::Config = modular::Config {
            run: Run { seed: 0, eval_every: 20 },
            p: 31,
            train_fraction: 0.7,
            shape: Shape { layers: 1, d_model: 64, heads: 4 },
            // The paper's lr and decay 0.005 stopped the plain arm from fitting at this size; 0.002 does not.
            optim: Optim { lr: 1e-3, weight_decay: 0.002, batch_size: 128 },
            ..modular::Config::default()
        },
        optimizer: Optimizer = Optimizer::Adam, choice(), "adam: weight decay added to the gradient (L2), as the paper's code; adamw: decoupled",
        alpha: f64 = 0.98, float(0.0, 0.999), "EMA momentum α: how slow the amplified part of the gradient is",
        lamb: f64 = 2.0, float(0.0, 10.0), "amplification λ of the slow gradient (0 turns the filter off)",
    }
}

const ARMS: [Arm; 2] = [Arm::new("plain", "plain Adam"), Arm::new("grokfast", "Grokfast (EMA filter)")];

/// Validation accuracy that counts as grokked, as in the paper's Table 1.
pub const GROKKED: f32 = 0.95;

pub struct Grokfast {
    arms: [ModularRun; 2],
    /// The first evaluated step at which each arm's validation accuracy reached `GROKKED`.
    grokked_at: [Option<u64>; 2],
    steps: u64,
}

impl Experiment for Grokfast {
    type Config = Config;
    const ABOUT: About = About {
        id: "grokfast",
        title: "Grokfast: amplify the slow gradients, grok sooner",
        claim: "adding λ × an EMA of past gradients to each gradient makes validation accuracy reach 95% several times sooner",
        theme: Theme::Generalization,
        papers: &[Paper {
            title: "Grokfast: Accelerated Grokking by Amplifying Slow Gradients",
            authors: "Lee, Kang, Kim & Lee",
            year: 2024,
            url: "https://arxiv.org/abs/2405.20233",
        }],
        default_steps: 8000,
    };

    fn validate(config: &Config) -> Result<()> {
        config.base.check()
    }

    fn build(config: Config, device: &Device) -> Result<Grokfast> {
        // The same seed gives both arms the same split, initial weights and minibatches.
        let adam = config.optimizer == Optimizer::Adam;
        let arm = |filter: bool| {
            ModularRun::new(config.base.clone(), device, |l| {
                let l = if filter { l.with_filter(config.alpha as f32, config.lamb as f32) } else { l };
                if adam { l.with_l2_decay() } else { l }
            })
        };
        Ok(Grokfast { arms: [arm(false)?, arm(true)?], grokked_at: [None; 2], steps: 0 })
    }

    async fn train_step(&mut self, step: u64) -> Result<()> {
        for arm in &mut self.arms {
            arm.train_step()?;
        }
        self.steps = step + 1;
        Ok(())
    }

    async fn eval(&mut self, m: &mut Metrics) -> Result<()> {
        let e = [self.arms[0].evaluate()?, self.arms[1].evaluate()?];
        for (arm, e) in ARMS.into_iter().zip(&e) {
            m.scalar(arm, TRAIN, ACC, &e.train.acc);
        }
        for (arm, e) in ARMS.into_iter().zip(&e) {
            m.scalar(arm, VAL, ACC, &e.val.acc);
        }
        for (arm, e) in ARMS.into_iter().zip(&e) {
            m.scalar(arm, TRAIN, LOSS, &e.train.loss);
        }
        for (arm, e) in ARMS.into_iter().zip(&e) {
            m.scalar(arm, VAL, LOSS, &e.val.loss);
        }
        for (arm, r) in ARMS.into_iter().zip(&self.arms) {
            m.derived(arm, NONE, WEIGHT_NORM, &r.learner.squared_norms(), norm_of);
        }
        Ok(())
    }

    fn observe(&mut self, rows: &[MetricRow]) {
        for row in rows {
            for (at, arm) in self.grokked_at.iter_mut().zip(ARMS) {
                if at.is_none() && row.get(&format!("{}/val/acc", arm.id)).is_some_and(|a| a >= GROKKED) {
                    *at = Some(row.step);
                }
            }
        }
    }

    fn verdict(_: &Config, h: &History, _: &[Figure]) -> Verdict {
        let [plain, fast] = ARMS.map(|a| h.first_at(&name(a, VAL, ACC), GROKKED));
        let steps = h.last_step();
        match (fast, plain) {
            (None, None) => Verdict::new(false, format!("neither run reached 95% validation accuracy in {steps} steps: try more steps")),
            (None, Some(p)) => Verdict::new(false, format!("the plain run reached 95% validation accuracy at step {p}, the filtered run not in {steps} steps")),
            (Some(f), None) => Verdict::new(
                true,
                format!(
                    "the filtered run reached 95% validation accuracy at step {f}; the plain run had not by step {steps} (more than {:.1}× as long)",
                    steps as f64 / f as f64
                ),
            ),
            (Some(f), Some(p)) => {
                Verdict::new(f < p, format!("95% validation accuracy: filtered run at step {f}, plain run at step {p} (×{:.1})", p as f64 / f.max(1) as f64))
            }
        }
    }

    async fn figures(&mut self) -> Result<Vec<Figure>> {
        Ok(vec![Figure::Table(self.speedup())])
    }
}

impl Grokfast {
    /// Steps to 95% validation accuracy per arm and their ratio.
    fn speedup(&self) -> Table {
        let cell = |at: Option<u64>| at.map_or(format!("not yet (> {})", self.steps), |s| s.to_string());
        let mut rows: Vec<TableRow> = ARMS.iter().zip(self.grokked_at).map(|(arm, at)| TableRow::new(vec![arm.label.to_string(), cell(at)])).collect();
        let ratio = match self.grokked_at {
            [Some(p), Some(f)] => format!("×{:.1}", p as f64 / f.max(1) as f64),
            [None, Some(f)] => format!("> ×{:.1}", self.steps as f64 / f.max(1) as f64),
            _ => "—".into(),
        };
        rows.push(TableRow::new(vec!["plain ÷ grokfast".into(), ratio]));
        Table {
            id: "speedup".into(),
            title: format!("steps to {:.0}% validation accuracy", GROKKED * 100.0),
            columns: vec!["arm".into(), "steps".into()],
            rows,
        }
    }
}
