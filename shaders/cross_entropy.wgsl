// cross_entropy.wgsl — softmax cross-entropy over rows of logits, forward and backward
// (spec: docs/kernels.md).
//
// The StableMax variant (Prieto et al. 2025, §4) swaps exp for s(x) = x + 1 (x >= 0),
// 1/(1 - x) (x < 0), which cannot overflow, so nothing is subtracted first:
//   stablemax_cross_entropy_forward:  probs = s(l) / sum_v s(l); losses = ln sum_v s(l) - ln s(l[target]);
//   stablemax_cross_entropy_backward: dlogits[i,v] = (probs - onehot) * dloss[0] * scale / (1 + |l|)
//     (because s'(x)/s(x) = 1/(1 + |x|) on both branches). Same grids as the softmax pair.
//
// Shapes: logits, probs, dlogits (N, V) with N = dims.n rows, V = dims.v classes;
// targets (N) u32 (host guarantees target < V); losses, correct (N); dloss (1).
//   forward:  mx = max_v l; se = sum_v exp(l - mx); probs = exp(l - mx) / se;
//             losses = mx + ln(se) - l[target]   (logsumexp form: no log of a tiny prob);
//             correct = 1.0 iff the FIRST index of the row maximum equals target, else 0.0.
//   backward: dlogits[i,v] = (probs[i,v] - [v == target_i]) * dloss[0] * scale
//             (scale = 1/N for a mean loss).
//
// Workgroup layout and EXACT dispatch grids (64 threads per workgroup):
//   cross_entropy_forward: one workgroup per row;
//     dispatch (min(N, 65535), ceil(N / 65535), 1); row = wg.x + wg.y * num_workgroups.x.
//   cross_entropy_backward: one thread per element of (N, V);
//     dispatch (min(g, 65535), ceil(g / 65535), 1) with g = ceil(N*V / 64);
//     idx = gid.x + gid.y * num_workgroups.x * 64.
//   Threads/groups past the end return.
//
// Summation, fixed order, no atomics: thread l first scans its columns l, l+64, ... in
// ascending order, then 64 partials meet in a fixed tree (stride 32, 16, ..., 1) in workgroup
// memory. The argmax tree keeps the lower index on ties, so "first index of the maximum" holds
// whatever the tree shape.

struct Dims { n: u32, v: u32 }
struct BwDims { n: u32, v: u32, scale: f32 }   // 12 bytes; a 16-byte uniform buffer is fine

const WG: u32 = 64u;
const NONE: u32 = 0xffffffffu;   // "this thread saw no column" (V < 64)

// ---------------------------------------------------------------- forward
// bindings: 0 dims {n, v}; 1 logits r; 2 targets r; 3 losses rw; 4 probs rw; 5 correct rw
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<u32>;
@group(0) @binding(3) var<storage, read_write> losses: array<f32>;
@group(0) @binding(4) var<storage, read_write> probs: array<f32>;
@group(0) @binding(5) var<storage, read_write> correct: array<f32>;

var<workgroup> part_val: array<f32, WG>;
var<workgroup> part_idx: array<u32, WG>;

// Does candidate (bv, bi) beat the current best (av, ai)? Larger value wins; an equal value
// wins only with a lower index; an empty slot (NONE) always loses.
fn beats(bv: f32, bi: u32, av: f32, ai: u32) -> bool {
    if (bi == NONE) { return false; }
    if (ai == NONE) { return true; }
    return bv > av || (bv == av && bi < ai);
}

struct Best { val: f32, idx: u32 }

// The row maximum and its first index over logits[base .. base + V], found by all 64 threads
// together; every thread returns the same answer. Within a thread columns ascend, so a strict
// '>' keeps the first one; across threads beats() breaks ties by index.
fn row_argmax(l: u32, base: u32, V: u32) -> Best {
    var bv = 0.0;
    var bi = NONE;
    for (var c = l; c < V; c += WG) {
        let x = logits[base + c];
        if (beats(x, c, bv, bi)) { bv = x; bi = c; }
    }
    part_val[l] = bv;
    part_idx[l] = bi;
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        workgroupBarrier();
        if (l < s && beats(part_val[l + s], part_idx[l + s], part_val[l], part_idx[l])) {
            part_val[l] = part_val[l + s];
            part_idx[l] = part_idx[l + s];
        }
    }
    workgroupBarrier();
    return Best(part_val[0], part_idx[0]);
}

// The sum of every thread's `mine`, by the fixed tree. part_val is reused, so it first waits
// until every thread has read the previous result.
fn row_sum(l: u32, mine: f32) -> f32 {
    workgroupBarrier();
    part_val[l] = mine;
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        workgroupBarrier();
        if (l < s) { part_val[l] += part_val[l + s]; }
    }
    workgroupBarrier();
    return part_val[0];
}

@compute @workgroup_size(64)
fn cross_entropy_forward(@builtin(workgroup_id) wg: vec3<u32>,
                         @builtin(num_workgroups) nwg: vec3<u32>,
                         @builtin(local_invocation_id) lid: vec3<u32>) {
    let row = wg.x + wg.y * nwg.x;
    if (row >= dims.n) { return; }   // uniform per workgroup: the barriers below stay legal
    let l = lid.x;
    let V = dims.v;
    let base = row * V;

    // 1) max and its first index; 2) se = sum exp(l - mx)
    let best = row_argmax(l, base, V);
    let mx = best.val;
    var se = 0.0;
    for (var c = l; c < V; c += WG) { se += exp(logits[base + c] - mx); }
    let sum = row_sum(l, se);

    // 3) outputs
    for (var c = l; c < V; c += WG) { probs[base + c] = exp(logits[base + c] - mx) / sum; }
    if (l == 0u) {
        let tgt = targets[row];
        losses[row] = mx + log(sum) - logits[base + tgt];
        correct[row] = select(0.0, 1.0, best.idx == tgt);
    }
}

// ---------------------------------------------------------------- backward
// bindings: 0 dims {n, v, scale: f32}; 1 probs r; 2 targets r; 3 dloss r; 4 dlogits rw
@group(0) @binding(0) var<uniform> bw_dims: BwDims;
@group(0) @binding(1) var<storage, read> bw_probs: array<f32>;
@group(0) @binding(2) var<storage, read> bw_targets: array<u32>;
@group(0) @binding(3) var<storage, read> dloss: array<f32>;
@group(0) @binding(4) var<storage, read_write> dlogits: array<f32>;

@compute @workgroup_size(64)
fn cross_entropy_backward(@builtin(global_invocation_id) gid: vec3<u32>,
                          @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = gid.x + gid.y * nwg.x * WG;
    if (idx >= bw_dims.n * bw_dims.v) { return; }
    let row = idx / bw_dims.v;
    let c = idx % bw_dims.v;
    let onehot = select(0.0, 1.0, c == bw_targets[row]);
    // same association as the CPU: ((p - onehot) * dloss) * scale
    dlogits[idx] = (bw_probs[idx] - onehot) * dloss[0] * bw_dims.scale;
}

// ---------------------------------------------------------------- StableMax
// forward: the same bindings as cross_entropy_forward.
fn stablemax_s(x: f32) -> f32 {
    return select(1.0 / (1.0 - x), x + 1.0, x >= 0.0);
}

@compute @workgroup_size(64)
fn stablemax_cross_entropy_forward(@builtin(workgroup_id) wg: vec3<u32>,
                                   @builtin(num_workgroups) nwg: vec3<u32>,
                                   @builtin(local_invocation_id) lid: vec3<u32>) {
    let row = wg.x + wg.y * nwg.x;
    if (row >= dims.n) { return; }
    let l = lid.x;
    let V = dims.v;
    let base = row * V;
    let best = row_argmax(l, base, V);
    var ss = 0.0;
    for (var c = l; c < V; c += WG) { ss += stablemax_s(logits[base + c]); }
    let sum = row_sum(l, ss);
    for (var c = l; c < V; c += WG) { probs[base + c] = stablemax_s(logits[base + c]) / sum; }
    if (l == 0u) {
        let tgt = targets[row];
        losses[row] = log(sum) - log(stablemax_s(logits[base + tgt]));
        correct[row] = select(0.0, 1.0, best.idx == tgt);
    }
}

// backward bindings: 0 dims {n, v, scale: f32}; 1 logits r; 2 probs r; 3 targets r; 4 dloss r;
// 5 dlogits rw
@group(0) @binding(1) var<storage, read> sm_logits: array<f32>;
@group(0) @binding(2) var<storage, read> sm_probs: array<f32>;
@group(0) @binding(3) var<storage, read> sm_targets: array<u32>;
@group(0) @binding(4) var<storage, read> sm_dloss: array<f32>;
@group(0) @binding(5) var<storage, read_write> sm_dlogits: array<f32>;

@compute @workgroup_size(64)
fn stablemax_cross_entropy_backward(@builtin(global_invocation_id) gid: vec3<u32>,
                                    @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = gid.x + gid.y * nwg.x * WG;
    if (idx >= bw_dims.n * bw_dims.v) { return; }
    let row = idx / bw_dims.v;
    let c = idx % bw_dims.v;
    let onehot = select(0.0, 1.0, c == sm_targets[row]);
    // same association as the CPU: ((p - onehot) * dloss) * scale / (1 + |l|)
    sm_dlogits[idx] = (sm_probs[idx] - onehot) * sm_dloss[0] * bw_dims.scale / (1.0 + abs(sm_logits[idx]));
}
