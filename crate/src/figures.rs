//! Figures: what a toy shows besides its metrics against the training step, such as error
//! against context length, an attention map, or a table of examples. A toy computes them on
//! demand (`Toy::figures`); the page draws them under the step charts and the CLI prints them.
//! They are not part of the run digest, which covers the metric rows only.

use serde::Serialize;

use crate::metrics::Arm;

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "cli", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Figure {
    Lines(Lines),
    Heatmap(Heatmap),
    Table(Table),
}

/// Curves over a shared x that is not the training step. A NaN in a series is a gap.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "cli", derive(ts_rs::TS))]
pub struct Lines {
    pub id: String,
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub log_x: bool,
    pub log_y: bool,
    pub x: Vec<f64>,
    pub series: Vec<Series>,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "cli", derive(ts_rs::TS))]
pub struct Series {
    pub name: String,
    /// The arm (`metrics::Arm::id`) this series belongs to, so that it takes the arm's colour.
    pub arm: Option<String>,
    pub y: Vec<f64>,
}

impl Lines {
    /// Linear axes; `log_x()` and `log_y()` change them.
    pub fn new(id: &str, title: impl Into<String>, x_label: &str, y_label: &str, x: Vec<f64>, series: Vec<Series>) -> Lines {
        Lines { id: id.into(), title: title.into(), x_label: x_label.into(), y_label: y_label.into(), log_x: false, log_y: false, x, series }
    }

    pub fn log_x(self) -> Lines {
        Lines { log_x: true, ..self }
    }

    pub fn log_y(self) -> Lines {
        Lines { log_y: true, ..self }
    }
}

impl Figure {
    /// The Lines figure `id` among `figures`.
    pub fn lines<'a>(figures: &'a [Figure], id: &str) -> Option<&'a Lines> {
        figures.iter().find_map(|f| if let Figure::Lines(l) = f { (l.id == id).then_some(l) } else { None })
    }
}

impl Lines {
    /// The y values of `arm`'s series.
    pub fn of(&self, arm: Arm) -> Option<&[f64]> {
        self.series.iter().find(|s| s.arm.as_deref() == Some(arm.id)).map(|s| &s.y[..])
    }

    /// The y value of `arm` at the x nearest `x`.
    pub fn at(&self, arm: Arm, x: f64) -> Option<f64> {
        let i = (0..self.x.len()).min_by(|&a, &b| (self.x[a] - x).abs().total_cmp(&(self.x[b] - x).abs()))?;
        self.of(arm).map(|y| y[i])
    }
}

impl Series {
    pub fn new(name: impl Into<String>, y: Vec<f64>) -> Series {
        Series { name: name.into(), arm: None, y }
    }

    /// A series of `arm` under a name of its own.
    pub fn named(name: impl Into<String>, arm: Arm, y: Vec<f64>) -> Series {
        Series { name: name.into(), arm: Some(arm.id.into()), y }
    }

    /// A series of `arm`, named by its label.
    pub fn of(arm: Arm, y: Vec<f64>) -> Series {
        Series { name: arm.label.into(), arm: Some(arm.id.into()), y }
    }
}

/// A `rows` × `cols` matrix of values, row-major (attention weights: query rows, key columns).
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "cli", derive(ts_rs::TS))]
pub struct Heatmap {
    pub id: String,
    pub title: String,
    pub rows: usize,
    pub cols: usize,
    pub values: Vec<f32>,
    pub row_labels: Vec<String>,
    pub col_labels: Vec<String>,
}

/// Rows of text; a row's `detail` is shown when the row is clicked.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "cli", derive(ts_rs::TS))]
pub struct Table {
    pub id: String,
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<TableRow>,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "cli", derive(ts_rs::TS))]
pub struct TableRow {
    pub cells: Vec<String>,
    pub detail: Option<Heatmap>,
}

impl Heatmap {
    /// One sequence's attention weights (NH, T, T) averaged over the heads: query rows, key
    /// columns, each labelled by its token.
    pub fn attention(id: String, title: String, weights: &[f32], nh: usize, labels: Vec<String>) -> Heatmap {
        let t = labels.len();
        let mut values = vec![0.0f32; t * t];
        for h in 0..nh {
            for (v, &a) in values.iter_mut().zip(&weights[h * t * t..][..t * t]) {
                *v += a / nh as f32;
            }
        }
        Heatmap { id, title, rows: t, cols: t, values, row_labels: labels.clone(), col_labels: labels }
    }
}

impl Table {
    pub fn new(id: &str, title: impl Into<String>, columns: &[&str], rows: Vec<TableRow>) -> Table {
        Table { id: id.into(), title: title.into(), columns: columns.iter().map(|c| c.to_string()).collect(), rows }
    }
}

impl TableRow {
    pub fn new(cells: Vec<String>) -> TableRow {
        TableRow { cells, detail: None }
    }
}

impl Figure {
    pub fn id(&self) -> &str {
        match self {
            Figure::Lines(f) => &f.id,
            Figure::Heatmap(f) => &f.id,
            Figure::Table(f) => &f.id,
        }
    }

    /// The figure as plain text for a terminal: a column per series, the matrix, or the rows.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        match self {
            Figure::Lines(f) => {
                out += &format!("{}\n{:>10}", f.title, f.x_label);
                for s in &f.series {
                    out += &format!(" {:>12}", s.name);
                }
                for (i, x) in f.x.iter().enumerate() {
                    out += &format!("\n{x:>10}");
                    for s in &f.series {
                        out += &format!(" {:>12.5}", s.y.get(i).copied().unwrap_or(f64::NAN));
                    }
                }
            }
            // Small maps in full; a large one as its range (the JSON has every value).
            Figure::Heatmap(f) if f.cols > 16 => {
                let finite = f.values.iter().copied().filter(|v| v.is_finite());
                let (lo, hi) = finite.clone().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
                let mean = finite.clone().map(f64::from).sum::<f64>() / finite.count().max(1) as f64;
                out += &format!("{} ({}×{}): min {lo:.4}, mean {mean:.4}, max {hi:.4}", f.title, f.rows, f.cols);
            }
            Figure::Heatmap(f) => {
                out += &format!("{} ({}×{})", f.title, f.rows, f.cols);
                for (r, row) in f.values.chunks(f.cols.max(1)).enumerate() {
                    out += &format!("\n{:>6}", f.row_labels.get(r).map_or("", String::as_str));
                    for v in row {
                        out += &format!(" {v:>6.3}");
                    }
                }
            }
            Figure::Table(f) => {
                out += &format!("{}\n{}", f.title, f.columns.join(" | "));
                for row in &f.rows {
                    out += &format!("\n{}", row.cells.join(" | "));
                }
            }
        }
        out
    }
}
