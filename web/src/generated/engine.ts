// Generated from the crate's types by `crate/src/typescript.rs` (ts-rs); do not edit.
// `cargo test` rewrites it and fails when it was stale.

export type Accepted = { config: Record<string, number | string>, rejected: Array<Rejected>, snapped: Snapped | null, };

export type Arm = { id: string, label: string, };

export type Figure = { "kind": "lines" } & Lines | { "kind": "heatmap" } & Heatmap | { "kind": "table" } & Table;

export type Heatmap = { id: string, title: string, rows: number, cols: number, values: Array<number>, row_labels: Array<string>, col_labels: Array<string>, };

export type Lines = { id: string, title: string, x_label: string, y_label: string, log_x: boolean, log_y: boolean, x: Array<number>, series: Array<Series>, };

export type MetricInfo = { 
/**
 * `arm/split/quantity`, or `arm/quantity` without a split.
 */
name: string, arm: Arm, split: Split, quantity: Quantity, };

export type MetricRow = { step: number, values: Array<number>, };

export type Paper = { title: string, authors: string, year: number, url: string, };

export type ParamSpec = { name: string, help: string, } & ({ "type": "int", min: number, max: number, } | { "type": "float", min: number, max: number, log: boolean, } | { "type": "choice", options: Array<string>, });

export type Quantity = { id: string, label: string, unit: string, scale: Scale, };

export type Rejected = { key: string, message: string, };

export type Scale = "linear" | "log" | "share";

export type Series = { name: string, 
/**
 * The arm (`metrics::Arm::id`) this series belongs to, so that it takes the arm's colour.
 */
arm: string | null, y: Array<number>, };

export type Snapped = { key: string, from: number, to: number, message: string, };

export type Split = { id: string, label: string, };

export type Table = { id: string, title: string, columns: Array<string>, rows: Array<TableRow>, };

export type TableRow = { cells: Array<string>, detail: Heatmap | null, };

export type ToyInfo = { id: string, title: string, claim: string, theme: string, papers: Array<Paper>, params: Array<ParamSpec>, defaults: Record<string, number | string>, default_steps: number, };

export type Verdict = { shown: boolean, line: string, };
