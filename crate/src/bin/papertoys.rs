//! The native command line: the same toys, configs and digests as the web page.
//!
//!     papertoys list
//!     papertoys run grokking --seed 7 --backend cpu --steps 3000 --set weight_decay=0.3 --json

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use papertoys::backend::gpu::Gpu;
use papertoys::metrics::{Digest, row_json};
use papertoys::toys::{self, REGISTRY};
use papertoys::{Device, Error, Result};

#[derive(Parser)]
#[command(name = "papertoys", version, about = "Runnable toy reproductions of machine-learning papers")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the toys with their one-line claims.
    List,
    /// Train a toy and print its metric rows.
    Run {
        /// Toy id (see `papertoys list`).
        toy: String,
        /// Seed of every random draw (same as --set seed=N).
        #[arg(long)]
        seed: Option<u64>,
        #[arg(long, value_enum, default_value_t = Backend::Cpu)]
        backend: Backend,
        /// Training steps (default: the toy's own).
        #[arg(long)]
        steps: Option<u64>,
        /// Override a config key, e.g. --set weight_decay=0.3 (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// One JSON object per metric row, then {"digest", "toy", "config", "steps", "verdict"}.
        #[arg(long)]
        json: bool,
    },
    /// Run toys with their defaults on seeds 0…N−1 on the CPU and count on how many each shows
    /// its claim; writes the table as Markdown (docs/reproductions.md).
    Reproduce {
        /// Toy ids (default: every toy).
        toys: Vec<String>,
        /// Seeds 0…N−1.
        #[arg(long, default_value_t = 10)]
        seeds: u64,
        /// Where the Markdown table goes.
        #[arg(long, default_value = "docs/reproductions.md")]
        out: std::path::PathBuf,
        /// The per-toy counts the pages show, merged into this JSON file.
        #[arg(long, default_value = "web/src/generated/reproductions.json")]
        counts: std::path::PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Backend {
    Cpu,
    Gpu,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::List => {
            for t in REGISTRY {
                println!("{:<12} {}", t.id(), t.about.claim);
            }
            Ok(())
        }
        Command::Run { toy, seed, backend, steps, set, json } => {
            let entry = toys::find(&toy)?;
            let mut pairs = set
                .iter()
                .map(|kv| match kv.split_once('=') {
                    Some((k, v)) => Ok((k.trim().to_string(), v.trim().to_string())),
                    None => Err(Error::msg(format!("--set {kv}: expected KEY=VALUE"))),
                })
                .collect::<Result<Vec<_>>>()?;
            if let Some(s) = seed {
                pairs.push(("seed".into(), s.to_string()));
            }
            let config = entry.config_from_pairs(&pairs)?;
            let device = match backend {
                Backend::Cpu => Device::Cpu,
                Backend::Gpu => Device::Gpu(pollster::block_on(Gpu::new()).map_err(Error::msg)?),
            };
            let steps = steps.unwrap_or(entry.about.default_steps);
            let mut toy = pollster::block_on((entry.build)(config.clone(), device.clone()))?;
            let names: Vec<&str> = toy.metrics().iter().map(|m| m.name.as_str()).collect();
            let eval_every = toy.eval_every();
            let bar = std::io::stdout().is_terminal().then(|| indicatif::ProgressBar::new(steps));
            if !json {
                println!("{:>8}  {}", "step", names.iter().map(|n| format!(" {n:>17}")).collect::<String>());
            }
            let mut digest = Digest::default();
            let mut out = std::io::stdout().lock();
            let start = std::time::Instant::now();
            let mut done = 0;
            while done < steps || done == 0 {
                let n = eval_every.min(steps - done);
                let rows = pollster::block_on(toy.step(n))?;
                done += n;
                for row in &rows {
                    digest.update(row);
                    let line =
                        if json { row_json(row) } else { format!("{:>8}  {}", row.step, row.values.iter().map(|v| format!(" {v:>17.5}")).collect::<String>()) };
                    match &bar {
                        Some(b) => b.println(line),
                        None => writeln!(out, "{line}").map_err(|e| Error::msg(e.to_string()))?,
                    }
                }
                if let Some(b) = &bar {
                    b.set_position(done);
                }
                if n == 0 {
                    break;
                }
            }
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            let secs = start.elapsed().as_secs_f64();
            for figure in pollster::block_on(toy.figures())? {
                let line = if json { serde_json::json!({ "figure": figure }).to_string() } else { format!("\n{}\n", figure.to_text()) };
                writeln!(out, "{line}").map_err(|e| Error::msg(e.to_string()))?;
            }
            let verdict = pollster::block_on(toy.verdict())?;
            let summary =
                serde_json::json!({ "digest": digest.hex(), "toy": entry.id(), "backend": device.name(), "config": config, "steps": done, "verdict": verdict });
            if json {
                writeln!(out, "{summary}").map_err(|e| Error::msg(e.to_string()))?;
            } else {
                let mark = if verdict.shown { "claim shown" } else { "claim not shown" };
                writeln!(out, "{mark}: {}", verdict.line).map_err(|e| Error::msg(e.to_string()))?;
                writeln!(out, "digest {}  ({done} steps in {secs:.1} s, {:.1} steps/s on {})", digest.hex(), done as f64 / secs, device.name())
                    .map_err(|e| Error::msg(e.to_string()))?;
            }
            eprintln!("{done} steps in {secs:.1} s ({:.1} steps/s, {})", done as f64 / secs, device.name());
            Ok(())
        }
        Command::Reproduce { toys: ids, seeds, out, counts } => {
            let entries = if ids.is_empty() { REGISTRY.iter().collect() } else { ids.iter().map(|id| toys::find(id)).collect::<Result<Vec<_>>>()? };
            let mut results = Vec::new();
            for entry in entries {
                let mut verdicts = Vec::new();
                for seed in 0..seeds {
                    let start = std::time::Instant::now();
                    let config = entry.config_from_pairs(&[("seed".into(), seed.to_string())])?;
                    let mut toy = pollster::block_on((entry.build)(config, Device::Cpu))?;
                    pollster::block_on(toy.step(entry.about.default_steps))?;
                    let v = pollster::block_on(toy.verdict())?;
                    eprintln!(
                        "{} seed {seed}: {} — {} ({:.0} s)",
                        entry.id(),
                        if v.shown { "shown" } else { "NOT shown" },
                        v.line,
                        start.elapsed().as_secs_f64()
                    );
                    verdicts.push(v);
                }
                results.push((entry, verdicts));
            }
            let markdown = reproductions_markdown(&results, seeds);
            std::fs::write(&out, markdown).map_err(|e| Error::msg(format!("{}: {e}", out.display())))?;
            // The pages' counts: this run's toys replace theirs, the others stay.
            let mut table: serde_json::Map<String, serde_json::Value> =
                std::fs::read_to_string(&counts).ok().and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default();
            for (entry, verdicts) in &results {
                table.insert(entry.id().into(), serde_json::json!({ "shown": verdicts.iter().filter(|v| v.shown).count(), "seeds": verdicts.len() }));
            }
            table.sort_keys();
            let text = serde_json::to_string_pretty(&table).expect("a JSON map serialises") + "\n";
            std::fs::write(&counts, text).map_err(|e| Error::msg(format!("{}: {e}", counts.display())))?;
            println!("wrote {} and {}", out.display(), counts.display());
            Ok(())
        }
    }
}

/// The per-toy count, then every seed's line.
fn reproductions_markdown(results: &[(&toys::ToyEntry, Vec<papertoys::metrics::Verdict>)], seeds: u64) -> String {
    let mut md = format!(
        "# Reproductions\n\nWritten by `papertoys reproduce` (crate version {}): each toy with its defaults and its default step count, on the CPU backend, on seeds 0–{}. A seed counts when the toy's own verdict (`Experiment::verdict`, the line the page shows when a run ends) finds its claim. Regenerate with `cargo run --release -p papertoys --features cli -- reproduce`.\n\n| toy | claim | shown on | not on seeds |\n| --- | --- | ---: | --- |\n",
        env!("CARGO_PKG_VERSION"),
        seeds - 1
    );
    for (entry, verdicts) in results {
        let missed: Vec<String> = verdicts.iter().enumerate().filter(|(_, v)| !v.shown).map(|(s, _)| s.to_string()).collect();
        let shown = verdicts.len() - missed.len();
        let missed = if missed.is_empty() { "—".to_string() } else { missed.join(", ") };
        md += &format!("| `{}` | {} | {shown} of {} | {missed} |\n", entry.id(), entry.about.claim, verdicts.len());
    }
    for (entry, verdicts) in results {
        md += &format!("\n## `{}`\n\n| seed | shown | what happened |\n| ---: | :---: | --- |\n", entry.id());
        for (seed, v) in verdicts.iter().enumerate() {
            md += &format!("| {seed} | {} | {} |\n", if v.shown { "yes" } else { "no" }, v.line);
        }
    }
    md
}
