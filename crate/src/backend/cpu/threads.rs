//! Natively, kernels with enough work split their independent outputs into one part per thread
//! of rayon's pool, whose threads live for the whole process (a thread's start, ~20 µs, would
//! cost more than a small kernel's work); each output is still computed by exactly the same
//! instructions, so the split changes no bit. In the browser the CPU backend is single-threaded.

/// Below this much work (about one multiply-add per unit) handing parts to the pool costs more
/// than it saves.
#[cfg(not(target_arch = "wasm32"))]
const MIN_WORK: usize = 1 << 16;

/// How many parts a kernel with `work` units of work should cut its outputs into.
pub fn parts(work: usize) -> usize {
    #[cfg(target_arch = "wasm32")]
    {
        let _ = work;
        1
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        if work < MIN_WORK { 1 } else { rayon::current_num_threads().min(8) }
    }
}

/// Runs `f` on every part, all returning before this does: the first on the calling thread,
/// the others natively on the pool's threads, in the browser one after another.
pub fn run<P: Send>(parts: impl IntoIterator<Item = P>, f: impl Fn(P) + Sync) {
    let mut parts = parts.into_iter();
    let Some(first) = parts.next() else { return };
    #[cfg(target_arch = "wasm32")]
    {
        f(first);
        parts.for_each(f);
    }
    #[cfg(not(target_arch = "wasm32"))]
    rayon::in_place_scope(|s| {
        let f = &f;
        for p in parts {
            s.spawn(move |_| f(p));
        }
        f(first);
    });
}
