//! Natively, kernels with enough work split their independent outputs into one part per thread;
//! each output is still computed by exactly the same instructions, so the split changes no bit.
//! In the browser the CPU backend is single-threaded.

/// Below this much work (about one multiply-add per unit) a thread's start costs more than it saves.
#[cfg(not(target_arch = "wasm32"))]
const MIN_WORK: usize = 1 << 20;

/// How many parts a kernel with `work` units of work should cut its outputs into.
pub fn parts(work: usize) -> usize {
    #[cfg(target_arch = "wasm32")]
    {
        let _ = work;
        1
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        // Asked once: `available_parallelism` reads cgroup files, ~30 µs a call.
        static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
        let threads = *THREADS.get_or_init(|| std::thread::available_parallelism().map_or(1, |t| t.get()).min(8));
        if work < MIN_WORK { 1 } else { threads }
    }
}

/// Runs `f` on every part: the first on the calling thread, the others on threads of their own
/// (natively), all returning before this does.
pub fn run<P: Send>(parts: impl IntoIterator<Item = P>, f: impl Fn(P) + Sync) {
    let mut parts = parts.into_iter();
    let Some(first) = parts.next() else { return };
    #[cfg(target_arch = "wasm32")]
    {
        f(first);
        parts.for_each(f);
    }
    #[cfg(not(target_arch = "wasm32"))]
    std::thread::scope(|s| {
        let f = &f;
        for p in parts {
            s.spawn(move || f(p));
        }
        f(first);
    });
}
