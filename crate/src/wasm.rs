//! The browser's entry points (wasm-bindgen), used by the web worker: the toy table, `accept`
//! (a request's changes checked against a toy's schema), and a `Run` that steps a toy and keeps
//! its digest. The page never calls the engine any other way, and the CLI drives the same `Toy`
//! interface natively.
//!
//! The worker keeps one GPU device for its lifetime: every run on WebGPU reuses it, with its
//! compiled pipelines; a finished run hands its pooled buffers back (`Gpu::trim`). After a GPU
//! failure the page replaces the whole worker, and with it the device.

use std::cell::RefCell;
use std::rc::Rc;

use serde::Serialize;
use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;

use crate::Device;
use crate::backend::gpu::Gpu;
use crate::metrics::{Digest, MetricInfo};
use crate::toys::{self, REGISTRY, Toy, ToyEntry};

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

thread_local! {
    static GPU: RefCell<Option<Rc<Gpu>>> = const { RefCell::new(None) };
}

/// The worker's GPU device, made on first use.
async fn gpu() -> Result<Rc<Gpu>, JsError> {
    if let Some(g) = GPU.with(|g| g.borrow().clone()) {
        return Ok(g);
    }
    let g = Gpu::new().await.map_err(|e| JsError::new(&e))?;
    GPU.with(|slot| *slot.borrow_mut() = Some(g.clone()));
    Ok(g)
}

fn to_js<T: Serialize + ?Sized>(v: &T) -> JsValue {
    // Maps become plain JS objects (not `Map`s) so the page can read them with dot access.
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).expect("serialisable")
}

fn object(v: JsValue, what: &str) -> Result<Option<Map<String, Value>>, JsError> {
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    serde_wasm_bindgen::from_value(v).map(Some).map_err(|e| JsError::new(&format!("{what} must be an object of key → value: {e}")))
}

fn error(e: crate::Error) -> JsError {
    JsError::new(&e.0)
}

/// Every toy with its parameter table and defaults, for building pages and parsing links.
#[wasm_bindgen]
pub fn toys() -> JsValue {
    to_js(&REGISTRY.iter().map(ToyEntry::info).collect::<Vec<_>>())
}

/// `changes` (key → value, as text from a link or as numbers and strings from a control) applied
/// to `base` (a complete config, or null for the defaults), one at a time; each change that is
/// bad or breaks a rule is left out and listed (`schema::Accepted`). With `snap_key`, an integer
/// key that alone breaks a rule moves to the nearest value that works, first in `snap_direction`.
#[wasm_bindgen]
pub fn accept(toy: &str, base: JsValue, changes: JsValue, snap_key: Option<String>, snap_direction: i32) -> Result<JsValue, JsError> {
    let entry = toys::find(toy).map_err(error)?;
    let changes = object(changes, "changes")?.unwrap_or_default();
    let accepted = entry.accept(object(base, "base")?, &changes, snap_key.as_deref().map(|k| (k, snap_direction as i64)));
    Ok(to_js(&accepted))
}

struct RunState {
    toy: Box<dyn Toy>,
    digest: Digest,
}

/// Takes the toy out while it works, so that no RefCell borrow spans an await; a second call
/// meanwhile is refused.
fn take(state: &RefCell<Option<RunState>>) -> Result<RunState, JsError> {
    state.borrow_mut().take().ok_or_else(|| JsError::new("the run is busy (a step or figures call is in flight)"))
}

/// One training run of one toy on one backend.
#[wasm_bindgen]
pub struct Run {
    state: Rc<RefCell<Option<RunState>>>,
    metrics: Vec<MetricInfo>,
    eval_every: u64,
    device: Device,
    adapter: String,
}

#[wasm_bindgen]
impl Run {
    /// Builds the toy with `config`, a complete config from `accept`. `backend` is "cpu" or
    /// "webgpu"; a WebGPU failure (no adapter, no device) is returned as an error for the page to
    /// show before it falls back to the CPU.
    pub async fn create(toy: String, config: JsValue, backend: String) -> Result<Run, JsError> {
        let entry = toys::find(&toy).map_err(error)?;
        let config = object(config, "config")?.unwrap_or_else(entry.defaults);
        entry.check(&config).map_err(error)?;
        let (device, adapter) = match backend.as_str() {
            "cpu" => (Device::Cpu, "WebAssembly".to_string()),
            "webgpu" => {
                let g = gpu().await?;
                let name = g.describe();
                (Device::Gpu(g), name)
            }
            other => return Err(JsError::new(&format!("backend = {other} is not one of cpu, webgpu"))),
        };
        let toy = (entry.build)(config, device.clone()).await.map_err(error)?;
        Ok(Run {
            metrics: toy.metrics().to_vec(),
            eval_every: toy.eval_every(),
            state: Rc::new(RefCell::new(Some(RunState { toy, digest: Digest::default() }))),
            device,
            adapter,
        })
    }

    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        if matches!(self.device, Device::Cpu) { "cpu" } else { "webgpu" }.into()
    }

    /// The adapter's name ("WebAssembly" on the CPU).
    #[wasm_bindgen(getter)]
    pub fn adapter(&self) -> String {
        self.adapter.clone()
    }

    /// Whether the WebGPU adapter is a software one (SwiftShader, WARP): correct, not fast.
    #[wasm_bindgen(getter)]
    pub fn software_adapter(&self) -> bool {
        matches!(&self.device, Device::Gpu(g) if g.is_cpu_adapter())
    }

    /// Each metric's name, arm, split and quantity (`metrics::MetricInfo`).
    #[wasm_bindgen(getter)]
    pub fn metrics(&self) -> JsValue {
        to_js(&self.metrics)
    }

    #[wasm_bindgen(getter)]
    pub fn eval_every(&self) -> f64 {
        self.eval_every as f64
    }

    /// Advances `n` steps; resolves to the new metric rows [{step, values: [...]}, …].
    pub fn step(&self, n: u32) -> js_sys::Promise {
        let state = self.state.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let mut s = take(&state)?;
            let rows = s.toy.step(n as u64).await;
            if let Ok(rows) = &rows {
                rows.iter().for_each(|r| s.digest.update(r));
            }
            *state.borrow_mut() = Some(s);
            Ok(to_js(&rows.map_err(error)?))
        })
    }

    /// Resolves to the toy's figures now (crate/src/figures.rs), as plain objects.
    pub fn figures(&self) -> js_sys::Promise {
        let state = self.state.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let mut s = take(&state)?;
            let figures = s.toy.figures().await;
            *state.borrow_mut() = Some(s);
            Ok(to_js(&figures.map_err(error)?))
        })
    }

    /// Resolves to {shown, line}: whether the rows so far show the toy's claim, in one line.
    pub fn verdict(&self) -> js_sys::Promise {
        let state = self.state.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let mut s = take(&state)?;
            let verdict = s.toy.verdict().await;
            *state.borrow_mut() = Some(s);
            Ok(to_js(&verdict.map_err(error)?))
        })
    }

    /// The digest of every row so far: equal to `papertoys run … --json` for the same run.
    pub fn digest(&self) -> String {
        self.state.borrow().as_ref().map_or_else(String::new, |s| s.digest.hex())
    }

    #[wasm_bindgen(getter)]
    pub fn steps_done(&self) -> f64 {
        self.state.borrow().as_ref().map_or(0.0, |s| s.toy.steps_done() as f64)
    }
}

impl Drop for Run {
    /// The run's tensors go back to the pool when the toy drops; the next run may want other
    /// sizes, so the idle ones are released.
    fn drop(&mut self) {
        self.state.borrow_mut().take();
        if let Device::Gpu(g) = &self.device {
            g.trim();
        }
    }
}
