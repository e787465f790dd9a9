//! A pool of CPU buffers, the CPU twin of the GPU backend's buffer pool. Every op allocates
//! its outputs and a training step frees them again, with the same sizes every step; fresh
//! vectors of that size come from `mmap` and cost a page fault per 4 KiB on first touch (a
//! quarter of the step time natively, before this pool). Freed buffers wait here, by length,
//! for the next op that wants that length. Kernels overwrite their outputs completely, so a
//! recycled buffer's old values are never read.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::{Deref, DerefMut};

thread_local! {
    static FREE: RefCell<HashMap<usize, Vec<Vec<f32>>>> = RefCell::new(HashMap::new());
}

/// An f32 buffer that returns to the pool when dropped.
pub struct CpuBuffer(Vec<f32>);

impl CpuBuffer {
    /// `len` values, from the pool when one of that length is free; contents unspecified.
    pub fn alloc(len: usize) -> CpuBuffer {
        let reused = FREE.with(|f| f.borrow_mut().get_mut(&len).and_then(Vec::pop));
        CpuBuffer(reused.unwrap_or_else(|| vec![0.0; len]))
    }

    pub fn from_vec(v: Vec<f32>) -> CpuBuffer {
        CpuBuffer(v)
    }
}

impl Drop for CpuBuffer {
    fn drop(&mut self) {
        let v = std::mem::take(&mut self.0);
        if !v.is_empty() {
            // `try_with`: at thread exit the pool may already be gone; then just free.
            let _ = FREE.try_with(|f| f.borrow_mut().entry(v.len()).or_default().push(v));
        }
    }
}

impl Deref for CpuBuffer {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.0
    }
}

impl DerefMut for CpuBuffer {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.0
    }
}
