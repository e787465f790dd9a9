//! Buffer pooling: `GpuBuffer`, an owned storage buffer that goes back to its `Gpu`'s pool when
//! dropped, and `Pool`, the free lists it goes back to.
//!
//! Why a pool: a training step allocates and frees the same activations and gradients every
//! time, and creating a wgpu buffer costs a driver allocation (and in the browser, a trip
//! through the JS bridge). With free lists keyed by exact byte size, after the first step every
//! `alloc` is a `Vec::pop`, and `GpuStats::buffers_created` stops growing. Idle buffers are
//! kept until `Gpu::trim` or the end of the `Gpu`.
//!
//! Reuse is safe without waiting for the GPU: every command runs in queue order, so a buffer
//! freed after being recorded into the pending encoder can be handed out again at once — later
//! commands that write it run after the earlier ones that read it. The one exception, a
//! `queue.write_buffer` (which runs before the pending commands), is handled in `Gpu::write`.

use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

use super::Gpu;

/// An owned, pooled storage buffer of `len` 4-byte elements (f32 or u32). Dropping it returns
/// the wgpu buffer to the pool of the `Gpu` that made it. Not `Clone`: one owner, like a `Vec`.
pub struct GpuBuffer {
    pub(crate) gpu: Rc<Gpu>,
    pub(crate) raw: wgpu::Buffer,
    /// Unique per wgpu buffer for the life of the `Gpu`: the key of cached bind groups and of
    /// the pending encoder's "touched" set.
    pub(crate) id: u64,
    pub(crate) len: usize,
}

impl GpuBuffer {
    /// Number of 4-byte elements.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Drop for GpuBuffer {
    fn drop(&mut self) {
        self.gpu.pool.borrow_mut().give_storage(self.id, self.raw.clone());
    }
}

impl fmt::Debug for GpuBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GpuBuffer {{ id: {}, len: {} }}", self.id, self.len)
    }
}

/// Free lists of idle wgpu buffers.
#[derive(Default)]
pub(crate) struct Pool {
    /// Storage buffers (STORAGE | COPY_SRC | COPY_DST) by exact byte size, with their ids.
    /// Used last-in first-out, so that a repeated sequence of allocs and drops gets the same
    /// buffers back in the same roles (and so hits the bind group cache).
    storage: HashMap<u64, Vec<(u64, wgpu::Buffer)>>,
    /// MAP_READ | COPY_DST staging buffers for `Gpu::read`, by power-of-two byte size.
    staging: HashMap<u64, Vec<wgpu::Buffer>>,
    next_id: u64,
}

impl Pool {
    /// Drops every idle buffer (wgpu frees it once no submitted work uses it).
    pub(crate) fn clear(&mut self) {
        self.storage.clear();
        self.staging.clear();
    }

    /// An idle storage buffer of exactly `bytes`, if any.
    pub(crate) fn take_storage(&mut self, bytes: u64) -> Option<(u64, wgpu::Buffer)> {
        self.storage.get_mut(&bytes)?.pop()
    }

    /// The most recently freed buffer of `bytes` whose id passes `ok`.
    pub(crate) fn take_storage_where(&mut self, bytes: u64, ok: impl Fn(u64) -> bool) -> Option<(u64, wgpu::Buffer)> {
        let free = self.storage.get_mut(&bytes)?;
        let i = free.iter().rposition(|(id, _)| ok(*id))?;
        Some(free.remove(i))
    }

    pub(crate) fn give_storage(&mut self, id: u64, buf: wgpu::Buffer) {
        self.storage.entry(buf.size()).or_default().push((id, buf));
    }

    /// A fresh id for a newly created storage buffer (ids start at 1; 0 means "no buffer").
    pub(crate) fn new_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// An idle staging buffer of exactly `bytes` (a power of two), if any.
    pub(crate) fn take_staging(&mut self, bytes: u64) -> Option<wgpu::Buffer> {
        self.staging.get_mut(&bytes)?.pop()
    }

    /// Returns an unmapped staging buffer.
    pub(crate) fn give_staging(&mut self, buf: wgpu::Buffer) {
        self.staging.entry(buf.size()).or_default().push(buf);
    }
}
