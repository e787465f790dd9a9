//! The browser's entry points (wasm-bindgen), used by the web worker: the toy table, config
//! validation, and a `Run` that steps a toy and keeps its digest. The page never calls the
//! engine any other way, and the CLI drives the same `Toy` interface natively.

use std::cell::RefCell;
use std::rc::Rc;

use serde::Serialize;
use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;

use crate::Device;
use crate::backend::gpu::Gpu;
use crate::metrics::Digest;
use crate::toys::{self, ParamSpec, REGISTRY, Toy};

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

fn to_js<T: Serialize + ?Sized>(v: &T) -> JsValue {
    // Maps become plain JS objects (not `Map`s) so the page can read them with dot access.
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).expect("serialisable")
}

fn object(config: JsValue) -> Result<Map<String, Value>, JsError> {
    if config.is_undefined() || config.is_null() {
        return Ok(Map::new());
    }
    serde_wasm_bindgen::from_value(config).map_err(|e| JsError::new(&format!("config must be an object of key → value: {e}")))
}

#[derive(Serialize)]
struct ToyInfo {
    id: &'static str,
    title: &'static str,
    claim: &'static str,
    paper: &'static str,
    paper_url: &'static str,
    params: Vec<&'static ParamSpec>,
    defaults: Map<String, Value>,
    default_steps: u64,
}

/// Every toy with its parameter table and defaults, for building pages and parsing links.
#[wasm_bindgen]
pub fn toys() -> JsValue {
    let infos: Vec<ToyInfo> = REGISTRY
        .iter()
        .map(|t| ToyInfo {
            id: t.id,
            title: t.title,
            claim: t.claim,
            paper: t.paper,
            paper_url: t.paper_url,
            params: t.params().collect(),
            defaults: (t.defaults)(),
            default_steps: t.default_steps,
        })
        .collect();
    to_js(&infos)
}

/// The full config for `overrides` (an object of key → value), or an error naming the bad key.
#[wasm_bindgen]
pub fn validate(toy: &str, overrides: JsValue) -> Result<JsValue, JsError> {
    let entry = toys::find(toy).map_err(|e| JsError::new(&e.0))?;
    let config = entry.config_from_json(&object(overrides)?).map_err(|e| JsError::new(&e.0))?;
    Ok(to_js(&config))
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
    names: &'static [&'static str],
    backend: &'static str,
    adapter: String,
}

#[wasm_bindgen]
impl Run {
    /// Builds the toy. `backend` is "cpu" or "webgpu"; a WebGPU failure (no adapter, no device)
    /// is returned as an error for the page to show before it falls back to the CPU.
    pub async fn create(toy: String, overrides: JsValue, backend: String) -> Result<Run, JsError> {
        let entry = toys::find(&toy).map_err(|e| JsError::new(&e.0))?;
        let config = entry.config_from_json(&object(overrides)?).map_err(|e| JsError::new(&e.0))?;
        let (device, adapter) = match backend.as_str() {
            "cpu" => (Device::Cpu, "WebAssembly".to_string()),
            "webgpu" => {
                let gpu = Gpu::new().await.map_err(|e| JsError::new(&e))?;
                let name = gpu.describe();
                (Device::Gpu(gpu), name)
            }
            other => return Err(JsError::new(&format!("backend = {other} is not one of cpu, webgpu"))),
        };
        let toy = (entry.build)(&config, &device).map_err(|e| JsError::new(&e.0))?;
        let names = toy.metric_names();
        Ok(Run {
            state: Rc::new(RefCell::new(Some(RunState { toy, digest: Digest::default() }))),
            names,
            backend: if matches!(device, Device::Cpu) { "cpu" } else { "webgpu" },
            adapter,
        })
    }

    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.backend.into()
    }

    /// The adapter's name ("WebAssembly" on the CPU).
    #[wasm_bindgen(getter)]
    pub fn adapter(&self) -> String {
        self.adapter.clone()
    }

    #[wasm_bindgen(getter)]
    pub fn metric_names(&self) -> Vec<String> {
        self.names.iter().map(|s| s.to_string()).collect()
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
            Ok(to_js(&rows.map_err(|e| JsError::new(&e.0))?))
        })
    }

    /// Resolves to the toy's figures now (crate/src/figures.rs), as plain objects.
    pub fn figures(&self) -> js_sys::Promise {
        let state = self.state.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let mut s = take(&state)?;
            let figures = s.toy.figures().await;
            *state.borrow_mut() = Some(s);
            Ok(to_js(&figures.map_err(|e| JsError::new(&e.0))?))
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
