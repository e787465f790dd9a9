// heads.wgsl — split_heads / merge_heads: the layout permutes between the model's (B, T, C)
// activations and the per-head (B, NH, T, hs) matrices that the UNFUSED attention reference
// multiplies with plain batched matmuls. (The fused kernels in attention.wgsl index the heads
// in place and need neither.) Benchmarks only; training never dispatches these.
//
// Shapes (hs = head size): x or out (B, T, width), the head channels of head h at
// offset + h·hs .. offset + (h+1)·hs of each row (width 3C, offset 0/C/2C for q/k/v in qkv;
// width C, offset 0 for out and dout); heads (B, NH, T, hs).
//   split_heads: heads[((b·NH + h)·T + t)·hs + i] = x[(b·T + t)·width + offset + h·hs + i]
//   merge_heads: out[(b·T + t)·width + offset + h·hs + i] = heads[((b·NH + h)·T + t)·hs + i]
//                (writes only its NH·hs channels of each row: three merges fill a dqkv)
//
// Workgroup layout: 256 threads, one element of (B, NH, T, hs) each; with g = ceil(n / 256)
// the host dispatches (min(g, 65535), ceil(g / 65535), 1). Nothing is summed.

struct Dims { b: u32, t: u32, nh: u32, hs: u32, width: u32, offset: u32 }

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

const WG: u32 = 256u;

// For element e of (B, NH, T, hs), its index in the (B, T, width) layout.
fn model_index(e: u32) -> u32 {
    let i = e % dims.hs;
    let t = (e / dims.hs) % dims.t;
    let bh = e / (dims.hs * dims.t);
    let h = bh % dims.nh;
    let b = bh / dims.nh;
    return (b * dims.t + t) * dims.width + dims.offset + h * dims.hs + i;
}

@compute @workgroup_size(256)
fn split_heads(@builtin(workgroup_id) wg: vec3<u32>,
               @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let e = (wg.x + wg.y * nwg.x) * WG + lid;
    if (e >= dims.b * dims.nh * dims.t * dims.hs) { return; }
    dst[e] = src[model_index(e)];
}

@compute @workgroup_size(256)
fn merge_heads(@builtin(workgroup_id) wg: vec3<u32>,
               @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let e = (wg.x + wg.y * nwg.x) * WG + lid;
    if (e >= dims.b * dims.nh * dims.t * dims.hs) { return; }
    dst[model_index(e)] = src[e];
}
