"""Timing for the Python side of `npm run bench`, the same rule as the Rust bench's timing.rs:
calibrate a number of iterations that takes about TARGET seconds, repeat REPS times, report the
median seconds per iteration. Slow calls (one iteration over TARGET) run once per repetition,
at most SLOW_BUDGET seconds of repetitions but at least 3."""

import json
import time

TARGET = 0.25
REPS = 7
SLOW_BUDGET = 8.0


def configure(quick):
    global TARGET, REPS
    if quick:
        TARGET, REPS = 0.05, 3


def measure(run):
    """run(n) performs n iterations. Returns dict(median, min, max, iters, reps) in seconds."""
    t = time.perf_counter()
    run(1)
    one = max(time.perf_counter() - t, 1e-7)
    iters, reps = 1, REPS
    if one >= TARGET:
        reps = max(3, min(REPS, int(SLOW_BUDGET / one)))
    else:
        iters = max(1, min(1_000_000, int(TARGET / one)))
        t = time.perf_counter()
        run(iters)
        elapsed = max(time.perf_counter() - t, 1e-7)
        if elapsed < 0.5 * TARGET:
            iters = max(1, min(1_000_000, int(iters * TARGET / elapsed)))
    samples = []
    for _ in range(reps):
        t = time.perf_counter()
        run(iters)
        samples.append((time.perf_counter() - t) / iters)
    samples.sort()
    return {"median": samples[len(samples) // 2], "min": samples[0], "max": samples[-1], "iters": iters, "reps": reps}


class Sink:
    """Appends one JSON object per line to `path` (nothing when path is None), with `tag` when given."""

    def __init__(self, path, tag=None):
        self.path = path
        self.tag = tag

    def record(self, rec):
        if self.tag:
            rec = {**rec, "tag": self.tag}
        if self.path:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
