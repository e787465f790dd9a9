//! The GPU backend: one wgpu device (WebGPU in the browser, Vulkan/Metal/DX12 natively), a pool
//! of storage buffers, cached pipelines, and a pending command encoder that batches many kernel
//! dispatches into one submission.
//!
//! How work flows (the pattern of wgpu's `repeated_compute` example):
//! - A kernel method (`kernels.rs`) only *records* a dispatch into the pending encoder; its
//!   uniform struct (`uniforms.rs`) goes into a CPU-side slot of the uniform arena. Nothing
//!   reaches the GPU until `flush`, `read` or a `write` that must be ordered after recorded work.
//! - `flush` uploads the arena's used slots with one `queue.write_buffer`, then submits.
//! - `read` copies any number of buffers into one pooled staging buffer, submits once, maps
//!   once and awaits the map through a oneshot channel. It never blocks: natively it drives the
//!   device with `poll`, in the browser the event loop does.
//! - Buffers come from a pool (`pool.rs`); after the first training step nothing new is created
//!   (`GpuStats::buffers_created` stays put).
//!
//! wgpu types are `!Send` on wasm, so everything here is single-threaded: `Rc`, `RefCell`. No
//! `RefCell` borrow is ever held across an `.await`.
//!
//! Aliasing rule (WebGPU's): a kernel's output must not be one of its inputs; the optimizer
//! updates, which work in place, take their state as read-write bindings instead.

mod kernels;
mod pipelines;
mod pool;
pub mod shaders;
mod uniforms;

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use pipelines::{Pipelines, UNIFORM_SLOT};
pub use pool::GpuBuffer;
use pool::Pool;
use shaders::Kernel;

/// Bytes of the uniform arena: 4096 dispatches per submission. When a submission records more,
/// it is flushed early and the arena starts over, so the arena never has to grow.
const ARENA_BYTES: u64 = 4096 * UNIFORM_SLOT;

/// WebGPU's limit on workgroups per dispatch dimension.
const MAX_GROUPS: u32 = crate::limits::MAX_WORKGROUPS_PER_DIMENSION as u32;

/// Counters for tests and the benchmark: how much the backend created and launched.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GpuStats {
    /// wgpu buffers created (storage, staging and the uniform arena), ever.
    pub buffers_created: u64,
    /// `queue.submit` calls.
    pub submissions: u64,
    /// Compute dispatches recorded.
    pub dispatches: u64,
}

/// Work recorded but not yet submitted.
#[derive(Default)]
struct Pending {
    encoder: Option<wgpu::CommandEncoder>,
    /// The open compute pass; consecutive dispatches share one. Ended before a copy or a submit.
    pass: Option<wgpu::ComputePass<'static>>,
    /// CPU copy of this submission's uniform slots, uploaded at flush.
    arena: Vec<u8>,
    /// Ids of the buffers the recorded commands use: a `write` to one of them must flush first.
    touched: HashSet<u64>,
}

impl Pending {
    fn encoder(&mut self, device: &wgpu::Device) -> &mut wgpu::CommandEncoder {
        self.pass = None;
        self.encoder.get_or_insert_with(|| device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("papertoys") }))
    }

    fn pass(&mut self, device: &wgpu::Device) -> &mut wgpu::ComputePass<'static> {
        if self.pass.is_none() {
            let encoder = self.encoder(device);
            let pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("kernels"), timestamp_writes: None });
            self.pass = Some(pass.forget_lifetime());
        }
        self.pass.as_mut().unwrap()
    }
}

/// Why no adapter was found, in the words that fit where we run. wgpu's own message lists
/// every native backend, which in a browser only buries the one fact that matters.
#[cfg(target_arch = "wasm32")]
fn no_adapter(_: &wgpu::RequestAdapterError) -> String {
    "WebGPU has no adapter here (navigator.gpu.requestAdapter() returned null)".into()
}

#[cfg(not(target_arch = "wasm32"))]
fn no_adapter(e: &wgpu::RequestAdapterError) -> String {
    format!(
        "no GPU adapter found (Vulkan/Metal/DX12): {e}. Install a Vulkan driver, e.g. Debian's \
         mesa-vulkan-drivers for the lavapipe CPU adapter"
    )
}

/// A wgpu device with its queue, buffer pool, pipeline cache and pending work.
pub struct Gpu {
    device: wgpu::Device,
    queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    /// The uniform arena on the GPU: `ARENA_BYTES`, bound one 256-byte slot at a time through a
    /// dynamic offset.
    uniforms: wgpu::Buffer,
    pub(crate) pool: RefCell<Pool>,
    pipelines: RefCell<Pipelines>,
    pending: RefCell<Pending>,
    stats: Cell<GpuStats>,
    /// The first validation error or device loss wgpu reported. wgpu's default handler would
    /// panic, which in the browser kills the worker's wasm instance; instead `read` returns it
    /// as an error, so the page can fall back to the CPU and keep the config.
    failure: Arc<Mutex<Option<String>>>,
}

impl Gpu {
    /// Opens the first adapter wgpu offers (a CPU adapter such as Mesa's lavapipe counts) and
    /// a device with WebGPU's default limits, plus the adapter's larger maximum buffer size.
    pub async fn new() -> Result<Rc<Gpu>, String> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                force_fallback_adapter: false,
                compatible_surface: None,
                apply_limit_buckets: false,
            })
            .await
            .map_err(|e| no_adapter(&e))?;
        let info = adapter.get_info();
        let have = adapter.limits();
        let mut limits = wgpu::Limits::default();
        // Every limit stays at the defaults every WebGPU device offers, so that a run behaves the
        // same everywhere: the tensor ops refuse a tensor past the default 128 MiB binding
        // (`limits::MAX_BUFFER_BYTES`) on both backends. Only the staging buffer of a read,
        // which holds several tensors at once and is never bound, may grow past the default.
        limits.max_buffer_size = limits.max_buffer_size.max(have.max_buffer_size);
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("papertoys"),
                required_features: wgpu::Features::empty(),
                required_limits: limits,
                ..Default::default()
            })
            .await
            .map_err(|e| format!("GPU adapter {} could not open a device: {e}", info.name))?;
        let failure = Arc::new(Mutex::new(None::<String>));
        let slot = failure.clone();
        device.on_uncaptured_error(Arc::new(move |e| {
            slot.lock().expect("not poisoned").get_or_insert_with(|| format!("GPU error: {e}"));
        }));
        let slot = failure.clone();
        device.set_device_lost_callback(move |reason, msg| {
            slot.lock().expect("not poisoned").get_or_insert_with(|| format!("GPU device lost ({reason:?}): {msg}"));
        });
        let uniforms = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("uniform arena"),
            size: ARENA_BYTES,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let gpu = Gpu {
            device,
            queue,
            info,
            uniforms,
            pool: RefCell::new(Pool::default()),
            pipelines: RefCell::new(Pipelines::default()),
            pending: RefCell::new(Pending::default()),
            stats: Cell::new(GpuStats { buffers_created: 1, ..Default::default() }),
            failure,
        };
        Ok(Rc::new(gpu))
    }

    /// Adapter name and backend, e.g. "llvmpipe (LLVM 15.0.6, 256 bits) / Vulkan".
    pub fn describe(&self) -> String {
        // Browsers may hide the adapter's name; the driver or vendor fields then say more.
        let name = [&self.info.name, &self.info.driver, &self.info.driver_info].into_iter().find(|s| !s.is_empty()).map_or("unnamed adapter", |s| s.as_str());
        format!("{name} / {:?}", self.info.backend)
    }

    /// Whether the adapter is a CPU implementation (lavapipe, SwiftShader, WARP).
    pub fn is_cpu_adapter(&self) -> bool {
        self.info.device_type == wgpu::DeviceType::Cpu
    }

    /// Frees every idle pooled buffer and the cached bind groups (which keep buffers alive),
    /// e.g. when the page switches to a toy with other tensor sizes. Buffers in use are kept.
    pub fn trim(&self) {
        self.pool.borrow_mut().clear();
        self.pipelines.borrow_mut().clear_bind_groups();
    }

    pub fn stats(&self) -> GpuStats {
        self.stats.get()
    }

    fn count(&self, f: impl FnOnce(&mut GpuStats)) {
        let mut s = self.stats.get();
        f(&mut s);
        self.stats.set(s);
    }

    /// A buffer of `len` elements; its contents are unspecified (a recycled buffer keeps its
    /// old data). Comes from the pool when one of that size is free.
    pub fn alloc(self: &Rc<Self>, len: usize) -> GpuBuffer {
        self.alloc_from_pool(len, false)
    }

    /// `for_write`: skip pooled buffers that recorded-but-unsubmitted work still uses, since
    /// writing one would force a submission first (`write`); uploads use this, so a training
    /// step stays one submission.
    fn alloc_from_pool(self: &Rc<Self>, len: usize, for_write: bool) -> GpuBuffer {
        // WebGPU cannot bind a zero-sized buffer, so an empty tensor still gets 4 bytes.
        let bytes = 4 * len.max(1) as u64;
        let found = if for_write {
            let pending = self.pending.borrow();
            self.pool.borrow_mut().take_storage_where(bytes, |id| !pending.touched.contains(&id))
        } else {
            self.pool.borrow_mut().take_storage(bytes)
        };
        let (id, raw) = found.unwrap_or_else(|| {
            self.count(|s| s.buffers_created += 1);
            let raw = self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("tensor"),
                size: bytes,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            (self.pool.borrow_mut().new_id(), raw)
        });
        GpuBuffer { gpu: self.clone(), raw, id, len }
    }

    pub fn upload(self: &Rc<Self>, data: &[f32]) -> GpuBuffer {
        let buf = self.alloc_from_pool(data.len(), true);
        self.write(&buf, data);
        buf
    }

    pub fn upload_u32(self: &Rc<Self>, data: &[u32]) -> GpuBuffer {
        let buf = self.alloc_from_pool(data.len(), true);
        self.write_u32(&buf, data);
        buf
    }

    /// Overwrites `buf` with `data` (same length), in program order: `queue.write_buffer` runs
    /// before any command not yet submitted, so if recorded work uses `buf` it is flushed first.
    pub fn write(&self, buf: &GpuBuffer, data: &[f32]) {
        self.write_bytes(buf, bytemuck::cast_slice(data), data.len());
    }

    pub fn write_u32(&self, buf: &GpuBuffer, data: &[u32]) {
        self.write_bytes(buf, bytemuck::cast_slice(data), data.len());
    }

    fn write_bytes(&self, buf: &GpuBuffer, bytes: &[u8], len: usize) {
        assert_eq!(len, buf.len, "write: {len} values into a buffer of {}", buf.len);
        if bytes.is_empty() {
            return;
        }
        if self.pending.borrow().touched.contains(&buf.id) {
            self.flush();
        }
        self.queue.write_buffer(&buf.raw, 0, bytes);
    }

    /// Submits the pending encoder, if any.
    pub fn flush(&self) {
        let mut p = self.pending.borrow_mut();
        p.pass = None; // ends the compute pass, which unlocks the encoder
        let Some(encoder) = p.encoder.take() else {
            return;
        };
        if !p.arena.is_empty() {
            self.queue.write_buffer(&self.uniforms, 0, &p.arena);
        }
        p.arena.clear();
        p.touched.clear();
        drop(p);
        self.queue.submit([encoder.finish()]);
        self.count(|s| s.submissions += 1);
    }

    /// Reads buffers back as f32 (a u32 buffer's bits can be recovered with `f32::to_bits`).
    /// One submission and one map for all of them, through a pooled staging buffer.
    pub async fn read(&self, bufs: &[&GpuBuffer]) -> Result<Vec<Vec<f32>>, String> {
        self.check()?;
        let total: u64 = bufs.iter().map(|b| 4 * b.len as u64).sum();
        if total == 0 {
            return Ok(bufs.iter().map(|_| Vec::new()).collect());
        }
        // Staging sizes are rounded to a power of two so that reads of slightly different
        // sizes share buffers.
        let size = total.next_power_of_two().max(256);
        let found = self.pool.borrow_mut().take_staging(size);
        let staging = found.unwrap_or_else(|| {
            self.count(|s| s.buffers_created += 1);
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("read staging"),
                size,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        });
        {
            let mut p = self.pending.borrow_mut();
            let encoder = p.encoder(&self.device);
            let mut offset = 0;
            for b in bufs {
                let bytes = 4 * b.len as u64;
                if bytes > 0 {
                    encoder.copy_buffer_to_buffer(&b.raw, 0, &staging, offset, bytes);
                }
                offset += bytes;
            }
        }
        self.flush(); // submit first, then map
        let (tx, rx) = futures_channel::oneshot::channel();
        staging.slice(..total).map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        #[cfg(not(target_arch = "wasm32"))]
        self.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| format!("GPU read: waiting for the device failed: {e}"))?;
        rx.await
            .map_err(|_| "GPU read: the map callback was dropped (device lost?)".to_string())?
            .map_err(|e| format!("GPU read: mapping the staging buffer failed: {e}"))?;
        let out = {
            let view = staging.slice(..total).get_mapped_range().map_err(|e| format!("GPU read: {e}"))?;
            let mut offset = 0;
            let mut out = Vec::with_capacity(bufs.len());
            for b in bufs {
                let bytes = 4 * b.len;
                out.push(bytemuck::pod_collect_to_vec(&view[offset..offset + bytes]));
                offset += bytes;
            }
            out
        };
        staging.unmap();
        self.pool.borrow_mut().give_staging(staging);
        self.check()?;
        Ok(out)
    }

    /// Waits until the GPU has finished everything submitted so far (after a flush), without
    /// blocking the browser: a chunk of training steps that ends without a readback still
    /// resolves only when its work is done, so the page measures real steps per second.
    pub async fn finish(&self) -> Result<(), String> {
        self.flush();
        let (tx, rx) = futures_channel::oneshot::channel();
        self.queue.on_submitted_work_done(move || {
            let _ = tx.send(());
        });
        #[cfg(not(target_arch = "wasm32"))]
        self.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| format!("GPU: waiting for the device failed: {e}"))?;
        rx.await.map_err(|_| "GPU: the work-done callback was dropped (device lost?)".to_string())?;
        self.check()
    }

    /// The error wgpu reported since the device was opened (a failed validation, a lost
    /// device), if any: after one, no result of this device can be trusted.
    pub fn check(&self) -> Result<(), String> {
        match self.failure.lock().expect("not poisoned").as_ref() {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Records one dispatch of `kernel`: `uniforms` is its shader's uniform struct (one of
    /// `uniforms.rs`, copied byte for byte), `bufs` bind at 1.., `groups` is the workgroup grid.
    /// Public for kernels outside the engine (the attention benchmark's unfused reference).
    pub fn dispatch<U: bytemuck::Pod>(&self, kernel: &Kernel, uniforms: &U, bufs: &[&GpuBuffer], groups: [u32; 3]) {
        const { assert!(size_of::<U>() as u64 <= UNIFORM_SLOT, "a uniform struct must fit one slot of the arena") };
        assert_eq!(bufs.len(), kernel.storage.len(), "{}: wrong number of buffers", kernel.entry);
        assert!(groups.iter().all(|&g| g <= MAX_GROUPS), "{}: grid {groups:?} exceeds {MAX_GROUPS} workgroups per dimension", kernel.entry);
        if groups.contains(&0) {
            return; // empty tensors: nothing to compute
        }
        let pipeline = self.pipelines.borrow_mut().get(&self.device, kernel);
        let bind_group = self.pipelines.borrow_mut().bind_group(&self.device, kernel, &pipeline, &self.uniforms, bufs);
        if self.pending.borrow().arena.len() as u64 + UNIFORM_SLOT > ARENA_BYTES {
            self.flush();
        }
        let mut p = self.pending.borrow_mut();
        let offset = p.arena.len();
        p.arena.extend_from_slice(bytemuck::bytes_of(uniforms));
        p.arena.resize(offset + UNIFORM_SLOT as usize, 0);
        for b in bufs {
            p.touched.insert(b.id);
        }
        let pass = p.pass(&self.device);
        pass.set_pipeline(&pipeline.pipeline);
        pass.set_bind_group(0, &bind_group, &[offset as u32]);
        pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
        drop(p);
        self.count(|s| s.dispatches += 1);
    }
}

/// The grid for `groups` workgroups along one axis: (min(g, 65535), ceil(g / 65535), 1). Shaders
/// recover the linear workgroup index as wg.x + wg.y·num_workgroups.x and skip the overshoot.
pub fn grid_1d(groups: usize) -> [u32; 3] {
    let g = groups as u64;
    let max = MAX_GROUPS as u64;
    [g.min(max) as u32, g.div_ceil(max) as u32, 1]
}

impl Drop for Gpu {
    fn drop(&mut self) {
        // Work recorded but never flushed would be silently lost; submit it.
        self.flush();
    }
}
