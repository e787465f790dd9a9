//! `grokking` — Power et al., "Grokking: Generalization Beyond Overfitting on Small Algorithmic
//! Datasets" (2022), https://arxiv.org/abs/2201.02177.
//!
//! Claim: a small transformer trained on part of the table of a ∘ b (mod p) fits its training
//! equations early, while its accuracy on the held-out equations stays near chance for a long
//! stretch; then, "well past the point of overfitting", validation accuracy climbs to ~100%.
//! Weight decay is the decisive knob: without it the same budget does not generalise.
//!
//! The setup is the paper's (`modular.rs`). What differs: the paper uses p = 97, 2 layers of
//! width 128 and 10⁵ steps; the defaults here are smaller (p = 47, 1 layer of width 64) with a
//! larger learning rate (3·10⁻³), so that the effect appears within a few minutes in a browser.

use super::modular::{Config, ModularRun};
use super::{About, Experiment, Paper, Theme};
use crate::error::Result;
use crate::figures::Figure;
use crate::learner::norm_of;
use crate::metrics::{ACC, History, LOSS, Metrics, NONE, TRAIN, VAL, Verdict, WEIGHT_NORM, name, percent};
use crate::tensor::Device;

pub const POWER_2022: Paper = Paper {
    title: "Grokking: Generalization Beyond Overfitting on Small Algorithmic Datasets",
    authors: "Power, Burda, Edwards, Babuschkin & Misra",
    year: 2022,
    url: "https://arxiv.org/abs/2201.02177",
};

pub struct Grokking(ModularRun);

impl Experiment for Grokking {
    type Config = Config;
    const ABOUT: About = About {
        id: "grokking",
        title: "Grokking: generalization long after overfitting",
        claim: "train accuracy reaches ~100% long before validation accuracy jumps; without weight decay it never does",
        theme: Theme::Generalization,
        papers: &[POWER_2022],
        default_steps: 1500,
    };

    fn validate(config: &Config) -> Result<()> {
        config.check()
    }

    fn build(config: Config, device: &Device) -> Result<Grokking> {
        Ok(Grokking(ModularRun::new(config, device, |l| l)?))
    }

    async fn train_step(&mut self, _step: u64) -> Result<()> {
        self.0.train_step()
    }

    async fn eval(&mut self, m: &mut Metrics) -> Result<()> {
        let r = &self.0;
        let (arm, e) = (r.config.arm(), r.evaluate()?);
        m.scalar(arm, TRAIN, LOSS, &e.train.loss);
        m.scalar(arm, TRAIN, ACC, &e.train.acc);
        m.scalar(arm, VAL, LOSS, &e.val.loss);
        m.scalar(arm, VAL, ACC, &e.val.acc);
        m.derived(arm, NONE, WEIGHT_NORM, &r.learner.squared_norms(), norm_of);
        Ok(())
    }

    async fn figures(&mut self) -> Result<Vec<Figure>> {
        Ok(vec![Figure::Heatmap(self.0.answer_map().await?)])
    }

    fn verdict(config: &Config, h: &History, _: &[Figure]) -> Verdict {
        let (train, val) = (name(config.arm(), TRAIN, ACC), name(config.arm(), VAL, ACC));
        let steps = h.last_step();
        match (h.first_at(&train, 0.95), h.first_at(&val, 0.95)) {
            (None, _) => Verdict::new(false, format!("training accuracy did not reach 95% in {steps} steps: try more steps or a larger learning rate")),
            (Some(fit), None) if config.optim.weight_decay == 0.0 => Verdict::new(
                false,
                format!(
                    "training accuracy reached 95% at step {fit}; without weight decay validation accuracy stayed at or below {} for all {steps} steps",
                    percent(h.max(&val))
                ),
            ),
            (Some(fit), None) => Verdict::new(
                false,
                format!("training accuracy reached 95% at step {fit}, validation accuracy at most {} in {steps} steps: try more steps", percent(h.max(&val))),
            ),
            (Some(fit), Some(grok)) if grok >= 2 * fit.max(1) => Verdict::new(
                true,
                format!(
                    "training accuracy reached 95% at step {fit}, validation accuracy only at step {grok}, {:.1}× later: grokking",
                    grok as f64 / fit.max(1) as f64
                ),
            ),
            (Some(fit), Some(grok)) => Verdict::new(
                false,
                format!("validation accuracy reached 95% at step {grok}, close behind training accuracy (step {fit}): no delay to speak of"),
            ),
        }
    }
}
