//! The engine's ops through its public API (`Tensor`, `autograd::backward`, `optim`), in three
//! kinds of claim:
//! 1. Forward, by hand: each op on a tiny CPU case whose answer is worked out in a comment.
//! 2. Gradients: autograd's dL/dx equals central finite differences (L(x+h) − L(x−h))/2h on the
//!    CPU, for every differentiable op and a small transformer. L = Σ_i w_i·y_i with fixed random
//!    w, so every output contributes. In f32 with h = 1e-2 the quotient is good to ~1e-4
//!    (truncation h²·f'''/6 plus roundoff ε·|L|/h; measured ≤ 6e-5), so the bar is
//!    |autograd − fd| ≤ 2e-4 + 2e-3·|fd|. Tried once by hand: dropping the softmax-Jacobian term
//!    of attention's backward, the xhat term of layernorm's, gelu's 3·0.044715x² term, the sum
//!    over repeated ids in gather's, or cross-entropy's 1/N each fails it (the transformer too).
//! 3. Parity: the GPU gives the CPU's outputs and gradients for the same cases, within
//!    |gpu − cpu| ≤ 1e-5 + 1e-4·|cpu| (the GPU sums in a fixed tree, may fuse multiply-adds and
//!    uses WGSL's exp/tanh), looser only where a comment says why.
//!
//! The GPU is whatever adapter wgpu finds (Mesa's lavapipe in CI). Without one the parity tests
//! FAIL with `Gpu::new`'s error; they never skip.

use std::rc::Rc;

use papertoys::Result;
use papertoys::autograd::backward;
use papertoys::backend::DropoutMask;
use papertoys::backend::gpu::Gpu;
use papertoys::nn::{Param, Transformer, TransformerShape};
use papertoys::optim::{AdamW, SlowGradientFilter};
use papertoys::rng::Rng;
use papertoys::tensor::{Device, Index, Tensor};

// ------------------------------------------------------------------ helpers

fn gpu() -> Device {
    let g = pollster::block_on(Gpu::new()).unwrap_or_else(|e| panic!("Gpu::new failed (GPU tests never skip): {e}"));
    Device::Gpu(g)
}

fn tensor(dev: &Device, shape: &[usize], data: &[f32]) -> Tensor {
    Tensor::from_vec(dev, shape, data.to_vec(), false).unwrap()
}

fn param(dev: &Device, shape: &[usize], data: &[f32]) -> Tensor {
    Tensor::from_vec(dev, shape, data.to_vec(), true).unwrap()
}

fn index(dev: &Device, ids: &[u32], rows: usize) -> Rc<Index> {
    Index::new(dev, ids.to_vec(), rows).unwrap()
}

fn vals(t: &Tensor) -> Vec<f32> {
    pollster::block_on(t.to_vec()).unwrap()
}

fn uniform(r: &mut Rng, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    (0..n).map(|_| lo + r.uniform() * (hi - lo)).collect()
}

/// L = Σ_i w_i·y_i as (1, n)·(n, 1): a scalar that every output of `y` feeds.
fn weighted_sum(y: &Tensor, w: &[f32]) -> Tensor {
    let n = y.numel();
    y.reshape(&[1, n]).unwrap().matmul(&tensor(y.device(), &[n, 1], w)).unwrap()
}

/// The gradient of `x`, which must have one.
fn grad_of(g: &papertoys::autograd::Grads, x: &Tensor) -> Vec<f32> {
    vals(g.get(x).expect("a tensor that requires a gradient got none"))
}

#[derive(Clone, Copy)]
struct Tol {
    atol: f32,
    rtol: f32,
}
/// Hand-worked answers are written to 6–7 significant digits.
const HAND: Tol = Tol { atol: 1e-5, rtol: 1e-5 };
const FINITE_DIFF: Tol = Tol { atol: 2e-4, rtol: 2e-3 };
const PARITY: Tol = Tol { atol: 1e-5, rtol: 1e-4 };

/// llm.c's `check_tensor`: every |got − want| ≤ atol + rtol·|want|, else panic naming the first
/// bad index, the worst index and both values there. `labels` names the two sides.
#[track_caller]
fn check(what: &str, labels: (&str, &str), got: &[f32], want: &[f32], tol: Tol) {
    let (a, b) = labels;
    assert_eq!(got.len(), want.len(), "{what}: {a} has {} values, {b} {}", got.len(), want.len());
    let (mut worst, mut at, mut bad, mut first) = (0.0f32, 0, 0, None);
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let diff = (g - w).abs();
        let ok = diff <= tol.atol + tol.rtol * w.abs(); // false for NaN
        if !ok {
            bad += 1;
            first.get_or_insert(i);
        }
        if diff > worst || diff.is_nan() {
            (worst, at) = (diff, i);
        }
    }
    eprintln!("{what}: n = {}, max |{a} − {b}| = {worst:e} at [{at}]", want.len());
    if let Some(i) = first {
        panic!(
            "{what}: {bad} of {} values off by more than {:e} + {:e}·|{b}|; first at [{i}]: {a} {} vs {b} {}; \
             max abs diff {worst:e} at [{at}]: {a} {} vs {b} {}",
            want.len(),
            tol.atol,
            tol.rtol,
            got[i],
            want[i],
            got[at],
            want[at]
        );
    }
}

/// A forward result against its hand-worked shape and values.
#[track_caller]
fn expect(what: &str, t: &Tensor, shape: &[usize], want: &[f32]) {
    assert_eq!(t.shape(), shape, "{what}: shape");
    check(what, ("got", "by hand"), &vals(t), want, HAND);
}

/// candle's `test_device!`, as a function: runs `f` on the CPU and on the GPU and checks that
/// every named result agrees within `tol`.
#[track_caller]
fn on_both_devices(what: &str, tol: Tol, f: impl Fn(&Device) -> Vec<(String, Vec<f32>)>) {
    let gpu_out = f(&gpu());
    let cpu_out = f(&Device::Cpu);
    assert_eq!(gpu_out.len(), cpu_out.len(), "{what}: number of results");
    for ((name, g), (_, c)) in gpu_out.iter().zip(&cpu_out) {
        check(&format!("{what}: {name}"), ("gpu", "cpu"), g, c, tol);
    }
}

// ------------------------------------------------------------------ forward, by hand (CPU)

#[test]
fn matmul_multiplies_plain_shared_and_batched() {
    let cpu = Device::Cpu;
    // [1 2; 3 4]·[5; 6] = [1·5 + 2·6; 3·5 + 4·6] = [17; 39]
    let a = tensor(&cpu, &[2, 2], &[1., 2., 3., 4.]);
    expect("2-D", &a.matmul(&tensor(&cpu, &[2, 1], &[5., 6.])).unwrap(), &[2, 1], &[17., 39.]);
    // A (2, 1, 2) against one shared W = [1 0; 1 1]: [1 2]·W = [3 2], [3 4]·W = [7 4]
    let a3 = tensor(&cpu, &[2, 1, 2], &[1., 2., 3., 4.]);
    let w = tensor(&cpu, &[2, 2], &[1., 0., 1., 1.]);
    expect("shared weight", &a3.matmul(&w).unwrap(), &[2, 1, 2], &[3., 2., 7., 4.]);
    // batched, B (2, 2, 1): [1 2]·[5; 6] = 17, [3 4]·[7; 8] = 21 + 32 = 53
    let b3 = tensor(&cpu, &[2, 2, 1], &[5., 6., 7., 8.]);
    expect("batched", &a3.matmul(&b3).unwrap(), &[2, 1, 1], &[17., 53.]);
    assert!(a.matmul(&tensor(&cpu, &[3, 1], &[0.; 3])).is_err(), "(2,2)·(3,1) must be refused");
}

#[test]
fn elementwise_ops_add_mul_scale_and_add_bias() {
    let cpu = Device::Cpu;
    let a = tensor(&cpu, &[2, 2], &[1., 2., 3., 4.]);
    let b = tensor(&cpu, &[2, 2], &[3., 5., -1., 0.5]);
    expect("add", &a.add(&b).unwrap(), &[2, 2], &[4., 7., 2., 4.5]);
    expect("mul", &a.mul(&b).unwrap(), &[2, 2], &[3., 10., -3., 2.]);
    expect("scale", &a.scale(-0.5), &[2, 2], &[-0.5, -1., -1.5, -2.]);
    // [1 2; 3 4] + [10 20] on every row = [11 22; 13 24]
    expect("add_bias", &a.add_bias(&tensor(&cpu, &[2], &[10., 20.])).unwrap(), &[2, 2], &[11., 22., 13., 24.]);
    // A (T·C) positional bias over (B, T·C) rows: here B = 1, T·C = 4
    let pos = tensor(&cpu, &[4], &[1., 1., 2., 2.]);
    expect("add_bias (B, T·C)", &a.reshape(&[1, 4]).unwrap().add_bias(&pos).unwrap(), &[1, 4], &[2., 3., 5., 6.]);
    assert!(a.add(&tensor(&cpu, &[4], &[0.; 4])).is_err(), "add of shapes (2,2) and (4) must be refused");
}

#[test]
fn gelu_and_relu_match_their_definitions() {
    let x = tensor(&Device::Cpu, &[5], &[0., 1., -1., 3., -3.]);
    // gelu(x) = 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))):
    // gelu(1) = 0.5(1 + tanh(0.797885·1.044715)) = 0.5(1 + 0.682384) = 0.841192,
    // gelu(−x) = −x + gelu(x), so gelu(−1) = −0.158808; gelu(3) = 2.996363, gelu(−3) = −0.003637
    expect("gelu", &x.gelu(), &[5], &[0., 0.841192, -0.158808, 2.996363, -0.003637]);
    expect("relu", &x.relu(), &[5], &[0., 1., 0., 3., 0.]);
}

#[test]
fn layernorm_normalises_each_row() {
    let cpu = Device::Cpu;
    // row [1 2 3 4]: mean 2.5, var (2.25 + 0.25 + 0.25 + 2.25)/4 = 1.25, rstd = 1/√(1.25 + 1e-5)
    // = 0.894424, xhat = [−1.341635 −0.447212 0.447212 1.341635]; y = 2·xhat + 1.
    // row [3 3 3 3]: x − mean = 0, so y = beta = 1 (and no division by zero).
    let x = tensor(&cpu, &[2, 4], &[1., 2., 3., 4., 3., 3., 3., 3.]);
    let (gamma, beta) = (tensor(&cpu, &[4], &[2.; 4]), tensor(&cpu, &[4], &[1.; 4]));
    let y = x.layernorm(&gamma, &beta).unwrap();
    expect("layernorm", &y, &[2, 4], &[-1.683271, 0.105576, 1.894424, 3.683271, 1., 1., 1., 1.]);
}

#[test]
fn gather_rows_looks_up_embedding_rows() {
    let cpu = Device::Cpu;
    let table = tensor(&cpu, &[3, 2], &[0., 1., 10., 11., 20., 21.]);
    let out = table.gather_rows(&index(&cpu, &[2, 0, 2], 3)).unwrap();
    expect("gather_rows", &out, &[3, 2], &[20., 21., 0., 1., 20., 21.]);
    assert!(Index::new(&cpu, vec![3], 3).is_err(), "id 3 of 3 rows must be refused");
}

#[test]
fn attention_is_causal_softmax_over_the_past() {
    // One head, C = hs = 2, scale 1/√2; each row of qkv is [q | k | v].
    // t=0 sees only itself: out_0 = v_0 = [1 2], although q_0·k_1/√2 = 20/√2 would dominate.
    // t=1: q_1 = 0, scores [0 0], att [½ ½]: out_1 = (v_0 + v_1)/2 = [50.5 101].
    // t=2: q_2 = [a 0] with a = ln2·√2/10, scores [0, 10a/√2 = ln 2, 0], att = [1 2 1]/4:
    //      out_2 = ([1 2] + 2·[100 200] + [3 −2])/4 = [51 100].
    let a = 0.098_025_81;
    #[rustfmt::skip]
    let qkv = tensor(&Device::Cpu, &[1, 3, 6], &[
        1., 1.,   0., 0.,    1., 2.,
        0., 0.,   10., 10.,  100., 200.,
        a, 0.,    0., 0.,    3., -2.,
    ]);
    expect("attention", &qkv.attention(1).unwrap(), &[1, 3, 2], &[1., 2., 50.5, 101., 51., 100.]);
}

#[test]
fn attention_entropy_of_uniform_rows_is_ln_of_their_length() {
    // q = 0 makes every score 0, so row t is uniform over its t + 1 keys, with entropy ln(t + 1):
    // the mean over the 3 rows is (0 + ln 2 + ln 3)/3 = 0.5972532.
    let qkv = tensor(&Device::Cpu, &[1, 3, 3], &[0., 1., 2., 0., -1., 3., 0., 5., 4.]);
    expect("attention entropy", &qkv.attention(1).unwrap().attention_entropy().unwrap(), &[1], &[0.597_253_2]);
    assert!(qkv.attention_entropy().is_err(), "qkv is not an attention output");
}

#[test]
fn attention_heads_use_their_own_channels() {
    // Two heads, hs = 1, scale 1. Head 0 uses channel 0 of q, k, v; head 1 channel 1.
    // t=1, head 0: scores 0·0, 0·5 = [0 0] → [½ ½]: out = (2 + 6)/2 = 4.
    // t=1, head 1: scores ln3·0, ln3·1 → e^s = [1 3] → [¼ ¾]: out = (4 + 3·8)/4 = 7.
    #[rustfmt::skip]
    let qkv = tensor(&Device::Cpu, &[1, 2, 6], &[
        0., 0.,                  0., 0.,   2., 4.,
        0., 1.098_612_3,         5., 1.,   6., 8.,   // q_1 = [0, ln 3]
    ]);
    expect("attention, 2 heads", &qkv.attention(2).unwrap(), &[1, 2, 2], &[2., 4., 4., 7.]);
}

#[test]
fn lstm_cell_carries_its_state_over_time() {
    // H = 1, W_h = 0, both steps' pre-activations (i, f, g, o) = (0, 0, 1, 0): every σ gate is ½
    // and g = tanh 1 = 0.7615942. t=0: c = ½·0 + ½·g = 0.3807971, h = ½·tanh c = 0.1816997.
    // t=1: c = ½·0.3807971 + ½·g = 0.5711956 (the old cell, half forgotten), h = 0.2581184.
    let xw = tensor(&Device::Cpu, &[1, 2, 4], &[0., 0., 1., 0., 0., 0., 1., 0.]);
    let w_h = tensor(&Device::Cpu, &[1, 4], &[0.; 4]);
    expect("lstm", &xw.lstm(&w_h).unwrap(), &[1, 2, 1], &[0.181_699_7, 0.258_118_4]);
    let bad = tensor(&Device::Cpu, &[2, 4], &[0.; 8]);
    assert!(xw.lstm(&bad).is_err(), "w_h (2, 4) does not match xw's 4H = 4");
}

#[test]
fn cross_entropy_loss_accuracy_and_first_index_ties() {
    let cpu = Device::Cpu;
    // row 0: [0, ln 3] → p = [¼ ¾], target 1: loss −ln ¾ = 0.287682; argmax 1 = target: correct.
    // row 1: [2, 2] → p = [½ ½], target 1: loss ln 2 = 0.693147; a tie goes to the first index,
    //        0 ≠ target: wrong. Mean loss (0.287682 + 0.693147)/2 = 0.490415; accuracy ½.
    let logits = param(&cpu, &[2, 2], &[0., 3f32.ln(), 2., 2.]);
    let (loss, acc) = logits.cross_entropy(&index(&cpu, &[1, 1], 2)).unwrap();
    expect("loss", &loss, &[1], &[0.490415]);
    expect("accuracy", &acc, &[1], &[0.5]);
    // dL/dlogits = (softmax − onehot)/N: ([¼ ¾] − [0 1])/2 = [⅛ −⅛], ([½ ½] − [0 1])/2 = [¼ −¼]
    let g = backward(&loss).unwrap();
    let want = [0.125, -0.125, 0.25, -0.25];
    check("dL/dlogits", ("autograd", "by hand"), &grad_of(&g, &logits), &want, HAND);
}

#[test]
fn log_softmax_gives_log_probabilities_per_row() {
    // Row [0, ln 3]: probabilities 1/4, 3/4 → ln ¼ = −1.386294, ln ¾ = −0.287682. A shift of a row
    // changes nothing (the second row is the first + 100, which would overflow a naive exp(x) in f32).
    let x = tensor(&Device::Cpu, &[2, 2], &[0., 3f32.ln(), 100., 100. + 3f32.ln()]);
    expect("log_softmax", &x.log_softmax(), &[2, 2], &[-1.386294, -0.287682, -1.386294, -0.287682]);
}

#[test]
fn sums_and_reshape() {
    let x = tensor(&Device::Cpu, &[2, 2], &[1., 2., 3., -4.]);
    expect("sum·½", &x.sum(0.5), &[1], &[1.]); // (1 + 2 + 3 − 4)/2
    expect("sum_squares", &x.sum_squares(), &[1], &[30.]); // 1 + 4 + 9 + 16
    expect("reshape", &x.reshape(&[4, 1]).unwrap(), &[4, 1], &[1., 2., 3., -4.]);
    assert!(x.reshape(&[3]).is_err(), "reshape must keep the size");
}

// ------------------------------------------------------------------ gradients, by hand (CPU)

#[test]
fn gradient_of_x_squared_plus_5x() {
    let cpu = Device::Cpu;
    // y = x·x + 5x, L = Σy, so dL/dx = 2x + 5 (x is used twice; both paths are summed)
    let x = param(&cpu, &[3], &[-1., 0.5, 2.]);
    let y = x.mul(&x).unwrap().add(&x.scale(5.)).unwrap();
    let g = backward(&weighted_sum(&y, &[1.; 3])).unwrap();
    check("d(x² + 5x)/dx", ("autograd", "by hand"), &grad_of(&g, &x), &[3., 6., 9.], HAND);
}

#[test]
fn gradients_of_matmul_add_bias_gather_and_relu() {
    let cpu = Device::Cpu;
    // y = A·B with A = [1 2; 3 4], B = [5; 6], L = w·y, w = [1; −1]:
    // dA = w·Bᵀ = [5 6; −5 −6], dB = Aᵀ·w = [1 − 3; 2 − 4] = [−2; −2]
    let (a, b) = (param(&cpu, &[2, 2], &[1., 2., 3., 4.]), param(&cpu, &[2, 1], &[5., 6.]));
    let g = backward(&weighted_sum(&a.matmul(&b).unwrap(), &[1., -1.])).unwrap();
    check("dA", ("autograd", "by hand"), &grad_of(&g, &a), &[5., 6., -5., -6.], HAND);
    check("dB", ("autograd", "by hand"), &grad_of(&g, &b), &[-2., -2.], HAND);

    // y = x + bias, L = Σ w⊙y, w = [1 2; 3 4; 5 6]: dx = w, dbias = Σ_rows w = [9 12]
    let w = [1., 2., 3., 4., 5., 6.];
    let (x, bias) = (param(&cpu, &[3, 2], &[0.; 6]), param(&cpu, &[2], &[0.; 2]));
    let g = backward(&weighted_sum(&x.add_bias(&bias).unwrap(), &w)).unwrap();
    check("dx", ("autograd", "by hand"), &grad_of(&g, &x), &w, HAND);
    check("dbias", ("autograd", "by hand"), &grad_of(&g, &bias), &[9., 12.], HAND);

    // out = table[[2 0 2]], L = Σ w⊙out: dtable[0] = w_1 = [3 4], row 1 never gathered = 0,
    // dtable[2] = w_0 + w_2 = [1+5 2+6] = [6 8]
    let table = param(&cpu, &[3, 2], &[0.; 6]);
    let g = backward(&weighted_sum(&table.gather_rows(&index(&cpu, &[2, 0, 2], 3)).unwrap(), &w)).unwrap();
    check("dtable", ("autograd", "by hand"), &grad_of(&g, &table), &[3., 4., 0., 0., 6., 8.], HAND);

    // y = relu(x): dx = [x > 0]·w
    let x = param(&cpu, &[3], &[-2., 0.5, 3.]);
    let g = backward(&weighted_sum(&x.relu(), &[1., 2., 3.])).unwrap();
    check("drelu", ("autograd", "by hand"), &grad_of(&g, &x), &[0., 2., 3.], HAND);
}

// ------------------------------------------------------------------ optimizers, by hand (CPU)

#[test]
fn adamw_steps_by_sign_of_constant_gradient_plus_decay() {
    let cpu = Device::Cpu;
    // After t steps of the same g: m = (1 − β1ᵗ)g and v = (1 − β2ᵗ)g², so m̂ = g, v̂ = g² and
    // m̂/(√v̂ + ε) = sign(g) (|g| ≫ ε; 0 when g = 0). With lr = 0.1, wd = 0.1:
    // p ← p·(1 − lr·wd) − lr·sign(g) = 0.99p − 0.1·sign(g)
    // step 1: [1 −1 0.5] → [0.89 −0.89 0.495]; step 2: → [0.7811 −0.7811 0.49005]
    // (bc2 = 1 − 0.999ᵗ loses ~4 digits in f32: tolerance 2e-5)
    let p = param(&cpu, &[3], &[1., -1., 0.5]);
    let params = [Param { name: "p".into(), tensor: p.clone() }];
    let grads = backward(&weighted_sum(&p, &[0.5, -2., 0.])).unwrap(); // dL/dp = [0.5 −2 0]
    let mut adam = AdamW::new(&params, 0.1, 0.1, 0.999);
    let tol = Tol { atol: 2e-5, rtol: 0. };
    adam.step(&params, &grads).unwrap();
    check("AdamW step 1", ("got", "by hand"), &vals(&p), &[0.89, -0.89, 0.495], tol);
    adam.step(&params, &grads).unwrap();
    check("AdamW step 2", ("got", "by hand"), &vals(&p), &[0.7811, -0.7811, 0.49005], tol);
}

// ------------------------------------------------------------------ gradients vs finite differences, and GPU parity

type OpFn = fn(&Device, &[Tensor]) -> Result<Tensor>;

/// One differentiable op on random inputs: y = f(x_0, x_1, …), L = Σ w_i·y_i.
struct Case {
    name: &'static str,
    inputs: Vec<(Vec<usize>, Vec<f32>)>,
    f: OpFn,
}

impl Case {
    /// Inputs drawn uniformly from [lo, hi) on a stream named after the case.
    fn new(name: &'static str, inputs: &[(&[usize], f32, f32)], f: OpFn) -> Case {
        let mut r = Rng::stream(1, name);
        let inputs = inputs.iter().map(|&(s, lo, hi)| (s.to_vec(), uniform(&mut r, s.iter().product(), lo, hi))).collect();
        Case { name, inputs, f }
    }

    /// The inputs as parameters on `dev`, the output y and the loss L.
    fn run(&self, dev: &Device, data: &[Vec<f32>]) -> (Vec<Tensor>, Tensor, Tensor) {
        let xs: Vec<Tensor> = self.inputs.iter().zip(data).map(|((s, _), d)| param(dev, s, d)).collect();
        let y = (self.f)(dev, &xs).unwrap_or_else(|e| panic!("{}: {e}", self.name));
        let w = uniform(&mut Rng::stream(2, self.name), y.numel(), -1., 1.);
        let l = weighted_sum(&y, &w);
        (xs, y, l)
    }

    fn check_gradients(&self) {
        let h = 1e-2f32;
        let data: Vec<Vec<f32>> = self.inputs.iter().map(|(_, d)| d.clone()).collect();
        let (xs, _, l) = self.run(&Device::Cpu, &data);
        let grads = backward(&l).unwrap();
        let loss_at = |i: usize, j: usize, dx: f32| {
            let mut d = data.clone();
            d[i][j] += dx;
            vals(&self.run(&Device::Cpu, &d).2)[0]
        };
        for (i, x) in xs.iter().enumerate() {
            let numeric: Vec<f32> = (0..x.numel()).map(|j| (loss_at(i, j, h) - loss_at(i, j, -h)) / (2. * h)).collect();
            let what = format!("{}: dL/dx{i} {:?}", self.name, x.shape());
            check(&what, ("autograd", "finite diff"), &grad_of(&grads, x), &numeric, FINITE_DIFF);
        }
    }

    fn check_parity(&self) {
        on_both_devices(self.name, PARITY, |dev| {
            let data: Vec<Vec<f32>> = self.inputs.iter().map(|(_, d)| d.clone()).collect();
            let (xs, y, l) = self.run(dev, &data);
            let grads = backward(&l).unwrap();
            let mut out = vec![("y".to_string(), vals(&y))];
            out.extend(xs.iter().enumerate().map(|(i, x)| (format!("dL/dx{i}"), grad_of(&grads, x))));
            out
        });
    }
}

/// For each case function, a module of the same name with its two claims.
macro_rules! gradient_and_parity_tests {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[test]
            fn gradient_matches_finite_differences() {
                super::$case().check_gradients()
            }
            #[test]
            fn gpu_matches_cpu_forward_and_backward() {
                super::$case().check_parity()
            }
        }
    )*};
}

gradient_and_parity_tests!(
    matmul_2d,
    matmul_shared_weight,
    matmul_batched,
    add,
    mul,
    scale,
    add_bias,
    gelu,
    relu,
    layernorm,
    gather_rows,
    attention,
    cross_entropy,
    reshape,
    log_softmax,
    lstm,
    attention_entropy,
);

// out = A·B: dA = dOut·Bᵀ, dB = Aᵀ·dOut
fn matmul_2d() -> Case {
    Case::new("matmul_2d", &[(&[3, 4], -1., 1.), (&[4, 2], -1., 1.)], |_, x| x[0].matmul(&x[1]))
}
// A (B, m, k) · W (k, n) with one W for every batch: dW = Σ_b A_bᵀ·dOut_b
fn matmul_shared_weight() -> Case {
    Case::new("matmul_shared_weight", &[(&[2, 3, 4], -1., 1.), (&[4, 2], -1., 1.)], |_, x| x[0].matmul(&x[1]))
}
// out_b = A_b·B_b: dA_b = dOut_b·B_bᵀ, dB_b = A_bᵀ·dOut_b
fn matmul_batched() -> Case {
    Case::new("matmul_batched", &[(&[2, 3, 4], -1., 1.), (&[2, 4, 2], -1., 1.)], |_, x| x[0].matmul(&x[1]))
}
// y = a + b: da = db = dy
fn add() -> Case {
    Case::new("add", &[(&[2, 3], -1., 1.), (&[2, 3], -1., 1.)], |_, x| x[0].add(&x[1]))
}
// y = a⊙b: da = dy⊙b, db = dy⊙a
fn mul() -> Case {
    Case::new("mul", &[(&[2, 3], -2., 2.), (&[2, 3], -2., 2.)], |_, x| x[0].mul(&x[1]))
}
// y = −1.5x: dx = −1.5·dy
fn scale() -> Case {
    Case::new("scale", &[(&[5], -1., 1.)], |_, x| Ok(x[0].scale(-1.5)))
}
// y = x + b over rows: dx = dy, db = Σ_rows dy
fn add_bias() -> Case {
    Case::new("add_bias", &[(&[3, 4], -1., 1.), (&[4], -1., 1.)], |_, x| x[0].add_bias(&x[1]))
}
// gelu'(x) = ½(1 + tanh u) + ½x(1 − tanh²u)·√(2/π)(1 + 3·0.044715x²), u = √(2/π)(x + 0.044715x³)
fn gelu() -> Case {
    Case::new("gelu", &[(&[12], -3., 3.)], |_, x| Ok(x[0].gelu()))
}
// relu'(x) = [x > 0]; inputs keep |x| ≥ 0.1 > h so the kink is never straddled
fn relu() -> Case {
    Case::new("relu", &[(&[12], 0.1, 2.)], |dev, x| {
        let signs: Vec<f32> = (0..12).map(|i| if i % 3 == 0 { 1. } else { -1. }).collect();
        Ok(x[0].mul(&tensor(dev, &[12], &signs))?.relu())
    })
}
// dx = rstd·(dxhat − mean(dxhat) − xhat·mean(dxhat·xhat)), dxhat = dy⊙γ; dγ = Σ dy⊙xhat; dβ = Σ dy
fn layernorm() -> Case {
    Case::new("layernorm", &[(&[3, 5], -2., 2.), (&[5], 0.5, 1.5), (&[5], -1., 1.)], |_, x| x[0].layernorm(&x[1], &x[2]))
}
// out_j = table[ids_j]: dtable_r = Σ_{j: ids_j = r} dout_j (ids repeat 2 three times; row 1 unused)
fn gather_rows() -> Case {
    Case::new("gather_rows", &[(&[4, 3], -1., 1.)], |dev, x| x[0].gather_rows(&index(dev, &[2, 0, 2, 3, 2], 4)))
}
// dpre = att⊙(datt − Σ_u att·datt), dq = dpre·k/√hs, dk = dpreᵀ·q/√hs, dv = attᵀ·dout
fn attention() -> Case {
    Case::new("attention", &[(&[2, 4, 12], -1.5, 1.5)], |_, x| x[0].attention(2))
}
// L = mean_i (logsumexp(l_i) − l_i[t_i]): dl = (softmax − onehot)/N
fn cross_entropy() -> Case {
    Case::new("cross_entropy", &[(&[3, 5], -2., 2.)], |dev, x| Ok(x[0].cross_entropy(&index(dev, &[4, 0, 2], 5))?.0))
}
// reshape moves no data: dx = dy reshaped; layernorm after it makes the new shape matter
fn reshape() -> Case {
    Case::new("reshape", &[(&[2, 6], -1., 1.), (&[4], 0.5, 1.5), (&[4], -1., 1.)], |_, x| x[0].reshape(&[3, 4])?.layernorm(&x[1], &x[2]))
}

// y = x − logsumexp(x) per row: dx = dy − softmax(x)·Σ_v dy
fn log_softmax() -> Case {
    Case::new("log_softmax", &[(&[3, 5], -3., 3.)], |_, x| Ok(x[0].log_softmax()))
}

// H = mean_rows −Σ a·ln a: dH/da = −(ln a + 1)/rows, through the softmax ds = −a(ln a + H_row)/rows,
// then into q and k as attention's dpre; y = out + H (broadcast) so both paths reach qkv.
fn attention_entropy() -> Case {
    Case::new("attention_entropy", &[(&[2, 4, 12], -1.5, 1.5)], |_, x| {
        let out = x[0].attention(2)?;
        out.add_bias(&out.attention_entropy()?)
    })
}

// BPTT: dpre_t = gate'·(dh_t + W_h·dpre_{t+1}, and dc carried through f); dxw = dpre,
// dW_h = Σ_t h_{t−1}ᵀ·dpre_t. Two sequences of 5 steps, H = 3, so the state crosses 4 steps.
fn lstm() -> Case {
    Case::new("lstm", &[(&[2, 5, 12], -1.5, 1.5), (&[3, 12], -1., 1.)], |_, x| x[0].lstm(&x[1]))
}

// ------------------------------------------------------------------ a small transformer

const TINY: TransformerShape = TransformerShape { vocab: 5, seq_len: 3, d_model: 4, heads: 2, layers: 2, n_out: 3 };

/// Logits at the last position of each of two sequences, the mean cross-entropy and accuracy.
fn tiny_forward(model: &Transformer, dev: &Device) -> (Tensor, Tensor, Tensor) {
    let ids = index(dev, &[1, 4, 2, 0, 3, 3], TINY.vocab);
    let hidden = model.hidden(&ids).unwrap();
    let logits = model.logits_at(&hidden, &index(dev, &[2, 5], 6)).unwrap();
    let (loss, acc) = logits.cross_entropy(&index(dev, &[1, 2], TINY.n_out)).unwrap();
    (logits, loss, acc)
}

/// Adds `delta` to element j of a CPU parameter, in place, as an optimizer would.
fn nudge(p: &Param, j: usize, delta: f32) {
    p.tensor.storage_mut().cpu_mut()[j] += delta;
}

#[test]
fn transformer_gradients_match_finite_differences() {
    let cpu = Device::Cpu;
    let model = Transformer::new(&cpu, &mut Rng::stream(3, "init"), TINY).unwrap();
    let grads = backward(&tiny_forward(&model, &cpu).1).unwrap();
    let h = 1e-2;
    for p in model.params() {
        let n = p.tensor.numel();
        let coords = [0, n / 2, n - 1];
        let analytic = grad_of(&grads, &p.tensor);
        let numeric: Vec<f32> = coords
            .iter()
            .map(|&j| {
                nudge(&p, j, h);
                let (x_plus, l_plus) = (vals(&p.tensor)[j], vals(&tiny_forward(&model, &cpu).1)[0]);
                nudge(&p, j, -2. * h);
                let (x_minus, l_minus) = (vals(&p.tensor)[j], vals(&tiny_forward(&model, &cpu).1)[0]);
                nudge(&p, j, h);
                (l_plus - l_minus) / (x_plus - x_minus) // the step actually taken, after rounding
            })
            .collect();
        let what = format!("transformer: dL/d{} at {coords:?}", p.name);
        check(&what, ("autograd", "finite diff"), &coords.map(|j| analytic[j]), &numeric, FINITE_DIFF);
    }
}

#[test]
fn transformer_gpu_matches_cpu_forward_and_backward() {
    on_both_devices("transformer", PARITY, |dev| {
        let model = Transformer::new(dev, &mut Rng::stream(3, "init"), TINY).unwrap();
        let (logits, loss, acc) = tiny_forward(&model, dev);
        let grads = backward(&loss).unwrap();
        let mut out = vec![("logits".into(), vals(&logits)), ("loss".into(), vals(&loss)), ("accuracy".into(), vals(&acc))];
        out.extend(model.params().iter().map(|p| (format!("dL/d{}", p.name), grad_of(&grads, &p.tensor))));
        out
    });
}

// ------------------------------------------------------------------ GPU parity beyond the cases

#[test]
fn gpu_matches_cpu_on_sums_and_accuracy_with_ties() {
    let x = uniform(&mut Rng::stream(4, "sums"), 1000, -1., 1.);
    // Summation order differs (a tree vs left to right): each of the 1000 additions rounds by
    // ~ε·|partial sum| ≈ 6e-8·20, and those errors add like a random walk, √1000·1.2e-6 ≈ 4e-5.
    // So sum gets atol 1e-4 although |Σx| ≈ 20; sum_squares (no cancellation) stays relative.
    on_both_devices("sum", Tol { atol: 1e-4, rtol: 1e-4 }, |dev| {
        let t = tensor(dev, &[1000], &x);
        vec![("sum·0.5".into(), vals(&t.sum(0.5))), ("sum_squares".into(), vals(&t.sum_squares()))]
    });
    // Ties go to the first index on both devices: rows [2 2 1] against targets 0, 0, 1 → ⅔ right.
    on_both_devices("cross_entropy with ties", PARITY, |dev| {
        let logits = tensor(dev, &[3, 3], &[2., 2., 1., 2., 2., 1., 2., 2., 1.]);
        let (loss, acc) = logits.cross_entropy(&index(dev, &[0, 0, 1], 3)).unwrap();
        let acc = vals(&acc);
        check("accuracy, ties → first index", ("got", "by hand"), &acc, &[2. / 3.], HAND);
        vec![("loss".into(), vals(&loss)), ("accuracy".into(), acc)]
    });
}

#[test]
fn gpu_matches_cpu_over_five_optimizer_steps() {
    // Softmax regression, logits = X·W + b, trained 5 steps by AdamW on each device.
    let mut r = Rng::stream(5, "optim");
    let (x, w0, b0) = (uniform(&mut r, 24, -1., 1.), uniform(&mut r, 12, -0.5, 0.5), uniform(&mut r, 3, -0.5, 0.5));
    on_both_devices("5 optimizer steps", PARITY, |dev| {
        let (w, b) = (param(dev, &[4, 3], &w0), param(dev, &[3], &b0));
        let params = [Param { name: "w".into(), tensor: w.clone() }, Param { name: "b".into(), tensor: b.clone() }];
        let mut adam = AdamW::new(&params, 0.05, 0.1, 0.999);
        let mut losses = vec![];
        for _ in 0..5 {
            let logits = tensor(dev, &[6, 4], &x).matmul(&w).unwrap().add_bias(&b).unwrap();
            let (loss, _) = logits.cross_entropy(&index(dev, &[0, 1, 2, 2, 1, 0], 3)).unwrap();
            let grads = backward(&loss).unwrap();
            losses.push(vals(&loss)[0]);
            adam.step(&params, &grads).unwrap();
        }
        vec![("losses".into(), losses), ("w".into(), vals(&w)), ("b".into(), vals(&b))]
    });
}

// ------------------------------------------------------------------ dropout and attention maps

// y = m⊙x with m ∈ {0, 1/(1 − p)} drawn from the seed: dx = m⊙dy (the mask does not depend on x)
fn dropout() -> Case {
    Case::new("dropout", &[(&[4, 8], -1., 1.)], |_, x| Ok(x[0].dropout(DropoutMask::new(0.25, 7))))
}

gradient_and_parity_tests!(dropout);

#[test]
fn dropout_drops_a_share_p_scales_the_rest_and_follows_its_seed() {
    let cpu = Device::Cpu;
    let n = 20_000;
    let x = tensor(&cpu, &[n], &vec![1.0; n]);
    let y = vals(&x.dropout(DropoutMask::new(0.3, 11)));
    let kept = y.iter().filter(|&&v| v != 0.0).count();
    // Binomial(20000, 0.7): sd ≈ 65, so ±400 is six standard deviations.
    assert!((kept as i64 - 14_000).abs() < 400, "kept {kept} of {n} at p = 0.3");
    assert!(y.iter().all(|&v| v == 0.0 || v == 1.0 / 0.7), "kept units are scaled by 1/(1 − p)");
    assert_eq!(y, vals(&x.dropout(DropoutMask::new(0.3, 11))), "same seed, same mask");
    assert_ne!(y, vals(&x.dropout(DropoutMask::new(0.3, 12))), "another seed, another mask");
    assert!(vals(&x.dropout(DropoutMask::new(0.0, 5))).iter().all(|&v| v == 1.0), "p = 0 keeps everything");
}

#[test]
fn attention_probs_are_the_causal_softmax_rows_on_both_devices() {
    // The probabilities an attention output carries are what the fused kernel used: each row
    // sums to 1 over the past and is 0 over the future.
    let (b, t, nh) = (2, 5, 2);
    on_both_devices("attention_probs", PARITY, |dev| {
        let qkv = tensor(dev, &[b, t, 12], &uniform(&mut Rng::stream(3, "probs"), b * t * 12, -2., 2.));
        let out = qkv.attention(nh).unwrap();
        let probs = vals(out.attention_probs().expect("attention outputs carry probabilities"));
        for (r, row) in probs.chunks(t).enumerate() {
            let q = r % t;
            let sum: f32 = row[..=q].iter().sum();
            assert!((sum - 1.0).abs() < 1e-5, "row {r} sums to {sum}");
            assert!(row[q + 1..].iter().all(|&a| a == 0.0), "row {r} attends to the future: {row:?}");
        }
        assert!(qkv.attention_probs().is_none(), "only attention outputs have probabilities");
        vec![("probs".into(), probs)]
    });
}

#[test]
fn cpu_tanh_is_within_4e_7_relative_of_true_tanh() {
    // The CPU's GELU uses a rational tanh (plain f32 ops, so it vectorises and matches wasm);
    // sweep every 64th f32 from 1e-30 to 12 and both signs against f64's tanh.
    let (mut x, mut worst) = (1e-30f32, (0f64, 0f32));
    while x < 12.0 {
        for u in [x, -x] {
            let want = (u as f64).tanh();
            let rel = (papertoys::backend::cpu::tanh(u) as f64 - want).abs() / want.abs();
            if rel > worst.0 {
                worst = (rel, u);
            }
        }
        x = f32::from_bits(x.to_bits() + 64);
    }
    assert!(worst.0 <= 4e-7, "cpu tanh: relative error {:e} at u = {}", worst.0, worst.1);
    assert_eq!(papertoys::backend::cpu::tanh(0.0), 0.0);
}

// ------------------------------------------------------------------ StableMax, Softmax Collapse, ⊥Grad
// (Prieto et al. 2025, "Grokking at the Edge of Numerical Stability", §2, §4, §5)

use papertoys::tensor::Normalizer;

#[test]
fn stablemax_cross_entropy_by_hand() {
    let cpu = Device::Cpu;
    // s(x) = x + 1 (x ≥ 0), 1/(1 − x) (x < 0).
    // row 0: [0, 1] → s = [1, 2], p = [⅓ ⅔], target 1: loss ln 3 − ln 2 = 0.405465; correct.
    // row 1: [−1, 2] → s = [½, 3], p = [1/7 6/7], target 0: loss ln 3.5 − ln ½ = ln 7 = 1.945910;
    //        argmax 1 ≠ 0: wrong. Mean loss 1.175688, accuracy ½.
    let logits = param(&cpu, &[2, 2], &[0., 1., -1., 2.]);
    let c = logits.cross_entropy_with(&index(&cpu, &[1, 0], 2), Normalizer::StableMax).unwrap();
    expect("loss", &c.loss, &[1], &[1.175688]);
    expect("accuracy", &c.acc, &[1], &[0.5]);
    expect("per-example losses", &c.losses, &[2], &[0.405465, 1.94591]);
    // dL/dl = (p − onehot)/N/(1 + |l|): row 0 ([⅓ ⅔] − [0 1])/2/[1 2] = [1/6 −1/12];
    // row 1 ([1/7 6/7] − [1 0])/2/[2 3] = [−3/14 1/7]
    let g = backward(&c.loss).unwrap();
    let want = [1. / 6., -1. / 12., -3. / 14., 1. / 7.];
    check("dL/dlogits", ("autograd", "by hand"), &grad_of(&g, &logits), &want, HAND);
}

#[test]
fn softmax_collapses_in_f32_where_stablemax_does_not() {
    let cpu = Device::Cpu;
    // Margin 20: exp(−20) ≈ 2.1e-9 is below half an ulp of 1 (2⁻²⁴ ≈ 6e-8), so Σ exp rounds to
    // exactly 1 and the loss to exactly 0; margin 5: exp(−5) ≈ 6.7e-3 survives.
    let logits = param(&cpu, &[2, 2], &[20., 0., 5., 0.]);
    let targets = index(&cpu, &[0, 0], 2);
    let soft = logits.cross_entropy_with(&targets, Normalizer::Softmax).unwrap();
    assert_eq!(vals(&soft.losses)[0], 0.0, "margin 20 must collapse in f32");
    assert!(vals(&soft.losses)[1] > 0.0);
    expect("softmax zero-loss share", &soft.losses.zero_fraction(), &[1], &[0.5]);
    // The collapsed row's correct-class gradient is exactly 0: p_target rounds to 1.
    let g = grad_of(&backward(&soft.loss).unwrap(), &logits);
    assert_eq!(g[0], 0.0, "collapsed target gradient: {g:?}");
    // StableMax: s = [21, 1] → loss ln 22 − ln 21 = 0.046520, far from 0; s = [6, 1] → ln 7 − ln 6.
    let stable = logits.cross_entropy_with(&targets, Normalizer::StableMax).unwrap();
    expect("stablemax losses", &stable.losses, &[2], &[0.046520, 0.154151]); // ln(7/6)
    expect("stablemax zero-loss share", &stable.losses.zero_fraction(), &[1], &[0.]);
}

#[test]
fn softmax_collapses_on_the_gpu_too() {
    // WebGPU computes in f32, so the margin-20 row rounds to a loss of exactly 0 there as well.
    let g = gpu();
    let soft = tensor(&g, &[2, 2], &[20., 0., 5., 0.]).cross_entropy_with(&index(&g, &[0, 0], 2), Normalizer::Softmax).unwrap();
    assert_eq!(vals(&soft.losses)[0], 0.0, "margin 20 must collapse on the GPU");
    assert_eq!(vals(&soft.losses.zero_fraction()), [0.5]);
}

#[test]
fn orthogonal_grad_removes_the_component_along_the_weights() {
    let cpu = Device::Cpu;
    // w = [3, 4], g = [1, 0]: g·w/w·w = 3/25, so g − 0.12·w = [0.64, −0.48], and that ⊥ w.
    let w = tensor(&cpu, &[2], &[3., 4.]);
    expect("g ⊥ w", &tensor(&cpu, &[2], &[1., 0.]).orthogonal_to(&w).unwrap(), &[2], &[0.64, -0.48]);
    // w = 0 has no direction: g is kept as it is.
    expect("w = 0", &tensor(&cpu, &[2], &[1., 2.]).orthogonal_to(&tensor(&cpu, &[2], &[0., 0.])).unwrap(), &[2], &[1., 2.]);
}

#[test]
fn orthogonal_adamw_cannot_scale_the_weights() {
    // L = Σ w²: dL/dw = 2w is parallel to w, so ⊥AdamW's projected gradient is exactly 0 and w
    // stays put, while plain AdamW (weight decay 0) moves every weight by about lr.
    let cpu = Device::Cpu;
    let w0 = [0.5, -1., 2.];
    for (orthogonal, moved) in [(false, true), (true, false)] {
        let w = param(&cpu, &[3], &w0);
        let params = [Param { name: "w".into(), tensor: w.clone() }];
        let mut adam = AdamW::new(&params, 0.1, 0.0, 0.98);
        adam.orthogonal = orthogonal;
        let loss = weighted_sum(&w.mul(&w).unwrap(), &[1., 1., 1.]);
        adam.step(&params, &backward(&loss).unwrap()).unwrap();
        let after = vals(&w);
        if moved {
            check("AdamW shrinks |w| by lr", ("got", "by hand"), &after, &[0.4, -0.9, 1.9], HAND);
        } else {
            assert_eq!(after, w0, "⊥AdamW moved w along itself");
        }
    }
}

#[test]
fn zero_fraction_and_orthogonal_grad_gpu_match_cpu() {
    let mut r = Rng::stream(7, "orthogonal");
    let (w, g) = (uniform(&mut r, 1000, -1., 1.), uniform(&mut r, 1000, -1., 1.));
    let z: Vec<f32> = (0..1000).map(|i| if i % 7 == 0 { 0. } else { i as f32 }).collect();
    on_both_devices("zero_fraction, orthogonal_to", PARITY, |dev| {
        let ortho = tensor(dev, &[1000], &g).orthogonal_to(&tensor(dev, &[1000], &w)).unwrap();
        vec![("zero_fraction".into(), vals(&tensor(dev, &[1000], &z).zero_fraction())), ("orthogonal_to".into(), vals(&ortho))]
    });
}

#[test]
fn stablemax_gpu_matches_cpu_on_large_logits() {
    // Logits up to ±300, as after long training without weight decay.
    let data = uniform(&mut Rng::stream(8, "large logits"), 6 * 40, -300., 300.);
    on_both_devices("stablemax, large logits", PARITY, |dev| {
        let logits = param(dev, &[6, 40], &data);
        let c = logits.cross_entropy_with(&index(dev, &[0, 5, 9, 39, 17, 3], 40), Normalizer::StableMax).unwrap();
        let g = grad_of(&backward(&c.loss).unwrap(), &logits);
        vec![("losses".into(), vals(&c.losses)), ("accuracy".into(), vals(&c.acc)), ("dlogits".into(), g)]
    });
}

gradient_and_parity_tests!(stablemax_cross_entropy);

// L = mean_i (ln Σ s(l_i) − ln s(l_i[t_i])): dl = (p − onehot)/N/(1 + |l|). s'' jumps at 0, so
// inputs keep |l| ≥ 0.1 > h, as for relu.
fn stablemax_cross_entropy() -> Case {
    Case::new("stablemax_cross_entropy", &[(&[3, 5], 0.1, 3.)], |dev, x| {
        let signs: Vec<f32> = (0..15).map(|i| if i % 2 == 0 { 1. } else { -1. }).collect();
        let logits = x[0].mul(&tensor(dev, &[3, 5], &signs))?;
        Ok(logits.cross_entropy_with(&index(dev, &[4, 0, 2], 5), Normalizer::StableMax)?.loss)
    })
}

// ------------------------------------------------------------------ Grokfast's gradient filter

#[test]
fn slow_gradient_filter_adds_lambda_times_ema_starting_at_first_gradient() {
    let cpu = Device::Cpu;
    // α = 0.5, λ = 2. Step 1, g1 = [0.5 −2 0]: h = g1 (the paper's code starts h at the first
    // gradient), out = g1 + 2h = [1.5 −6 0].
    // Step 2, g2 = [1 0 4]: h = 0.5·g1 + 0.5·g2 = [0.75 −1 2], out = g2 + 2h = [2.5 −2 8].
    let p = param(&cpu, &[3], &[1., -1., 0.5]);
    let params = [Param { name: "p".into(), tensor: p.clone() }];
    let mut filter = SlowGradientFilter::new(&params, 0.5, 2.0);
    let mut g1 = backward(&weighted_sum(&p, &[0.5, -2., 0.])).unwrap();
    filter.apply(&params, &mut g1);
    check("filtered step 1", ("got", "by hand"), &grad_of(&g1, &p), &[1.5, -6., 0.], HAND);
    let mut g2 = backward(&weighted_sum(&p, &[1., 0., 4.])).unwrap();
    filter.apply(&params, &mut g2);
    check("filtered step 2", ("got", "by hand"), &grad_of(&g2, &p), &[2.5, -2., 8.], HAND);
}

#[test]
fn slow_gradient_filter_gpu_matches_cpu_over_five_steps() {
    let mut r = Rng::stream(6, "filter");
    let weights: Vec<Vec<f32>> = (0..5).map(|_| uniform(&mut r, 1000, -1., 1.)).collect();
    let p0 = uniform(&mut r, 1000, -1., 1.);
    on_both_devices("5 filtered gradients", PARITY, |dev| {
        let p = param(dev, &[1000], &p0);
        let params = [Param { name: "p".into(), tensor: p.clone() }];
        let mut filter = SlowGradientFilter::new(&params, 0.98, 2.0);
        weights
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let mut g = backward(&weighted_sum(&p, w)).unwrap();
                filter.apply(&params, &mut g);
                (format!("step {}", i + 1), grad_of(&g, &p))
            })
            .collect()
    });
}

// ------------------------------------------------------------------ linear attention and its feature maps

#[test]
fn linear_attention_weighs_values_by_feature_dot_products() {
    // One head, F = 1, hs = 1: φq = [1 1], φk = [1 3], v = [2 4].
    // t=0: out = φq_0φk_0·v_0 / (φq_0φk_0 + ε) = 2 (to 1e-6).
    // t=1: out = (1·1·2 + 1·3·4) / (1·1 + 1·3) = 14/4 = 3.5.
    let cpu = Device::Cpu;
    let (q, k, v) = (tensor(&cpu, &[1, 2, 1], &[1., 1.]), tensor(&cpu, &[1, 2, 1], &[1., 3.]), tensor(&cpu, &[1, 2, 1], &[2., 4.]));
    expect("linear_attention", &q.linear_attention(&k, &v, 1).unwrap(), &[1, 2, 1], &[2., 3.5]);
    // elu+1: x + 1 above 0, exp(x) below: [−1 0 2] → [e⁻¹ 1 3]; exp: [0 1] → [1 e].
    expect("elu_plus_one", &tensor(&cpu, &[3], &[-1., 0., 2.]).elu_plus_one(), &[3], &[0.367_879_44, 1., 3.]);
    expect("exp", &tensor(&cpu, &[2], &[0., 1.]).exp(), &[2], &[1., std::f32::consts::E]);
}

#[test]
fn linear_attention_equals_its_implied_weights_times_v_on_both_devices() {
    // The scan gives Σ_s a_ts v_s with the weights `attention_weights` forms in the quadratic
    // way, and those rows are causal distributions.
    let (b, t, nh, f, c) = (2, 6, 2, 3, 4);
    let mut r = Rng::stream(4, "implied weights");
    let (q, k, v) = (uniform(&mut r, b * t * nh * f, 0.1, 2.), uniform(&mut r, b * t * nh * f, 0.1, 2.), uniform(&mut r, b * t * c, -1., 1.));
    on_both_devices("linear attention weights", PARITY, |dev| {
        let out = tensor(dev, &[b, t, nh * f], &q).linear_attention(&tensor(dev, &[b, t, nh * f], &k), &tensor(dev, &[b, t, c], &v), nh).unwrap();
        let att = pollster::block_on(out.attention_weights()).unwrap().expect("linear attention has weights");
        let hs = c / nh;
        let mut want = vec![0.0f32; b * t * c];
        for (row, a) in att.chunks(t).enumerate() {
            let (bi, h, ti) = (row / (nh * t), row / t % nh, row % t);
            let sum: f32 = a[..=ti].iter().sum();
            assert!((sum - 1.0).abs() < 1e-5 && a[ti + 1..].iter().all(|&x| x == 0.0), "row {row} is not causal: {a:?}");
            for (s, &w) in a.iter().enumerate() {
                for j in 0..hs {
                    want[(bi * t + ti) * c + h * hs + j] += w * v[(bi * t + s) * c + h * hs + j];
                }
            }
        }
        check("scan vs weights·v", ("scan", "weights·v"), &vals(&out), &want, PARITY);
        vec![("out".into(), vals(&out)), ("weights".into(), att)]
    });
}

gradient_and_parity_tests!(elu_plus_one, exp, linear_attention);

// elu+1' = [x > 0] + [x ≤ 0]·exp(x); inputs keep |x| ≥ 0.1 > h so the kink is never straddled
fn elu_plus_one() -> Case {
    Case::new("elu_plus_one", &[(&[12], 0.1, 2.)], |dev, x| {
        let signs: Vec<f32> = (0..12).map(|i| if i % 3 == 0 { 1. } else { -1. }).collect();
        Ok(x[0].mul(&tensor(dev, &[12], &signs))?.elu_plus_one())
    })
}
// exp' = exp
fn exp() -> Case {
    Case::new("exp", &[(&[10], -2., 2.)], |_, x| Ok(x[0].exp()))
}
// dφq_t = S_t dA_t + dD_t z_t; dφk_s = G_s v_s + g_s; dv_s = G_sᵀφk_s (see autograd.rs). Positive
// features, as every feature map gives; 2 heads of 3 features, hs = 2.
fn linear_attention() -> Case {
    Case::new("linear_attention", &[(&[2, 5, 6], 0.2, 1.5), (&[2, 5, 6], 0.2, 1.5), (&[2, 5, 4], -1., 1.)], |_, x| x[0].linear_attention(&x[1], &x[2], 2))
}

#[test]
fn linear_attention_refuses_bad_shapes_and_sizes() {
    let cpu = Device::Cpu;
    let q = tensor(&cpu, &[1, 2, 6], &[1.; 12]);
    let v = tensor(&cpu, &[1, 2, 4], &[1.; 8]);
    assert!(q.linear_attention(&q, &v, 4).is_err(), "4 heads do not divide 6 features");
    assert!(q.linear_attention(&q, &tensor(&cpu, &[1, 3, 4], &[1.; 12]), 2).is_err(), "v of another length");
    let wide = tensor(&cpu, &[1, 1, 129], &[1.; 129]);
    let Err(err) = wide.linear_attention(&wide, &tensor(&cpu, &[1, 1, 2], &[1.; 2]), 1) else { panic!("129 features per head were accepted") };
    let err = err.to_string();
    assert!(err.contains("129"), "unhelpful error: {err}");
}

// ------------------------------------------------------------------ kernel limits

#[test]
fn kernel_limits_are_the_same_errors_on_both_backends() {
    // The GPU kernels' limits (crate/src/limits.rs) are checked before either backend runs, so a
    // CPU run refuses what a GPU run would, with the same message, rather than trapping later.
    for dev in [Device::Cpu, gpu()] {
        let too_long = Tensor::zeros(&dev, &[1, 1025, 12]).attention(2).err().expect("T = 1025 is refused");
        assert_eq!(too_long.to_string(), "attention: sequence length T = 1025 exceeds the kernels' maximum of 1024", "on the {}", dev.name());
        let (xw, w_h) = (Tensor::zeros(&dev, &[1, 2, 4 * 257]), Tensor::zeros(&dev, &[257, 4 * 257]));
        let too_wide = xw.lstm(&w_h).err().expect("H = 257 is refused");
        assert_eq!(too_wide.to_string(), "lstm: hidden size H = 257 exceeds the kernels' maximum of 256", "on the {}", dev.name());
        let (fq, v) = (Tensor::zeros(&dev, &[1, 2, 129]), Tensor::zeros(&dev, &[1, 2, 4]));
        let too_many = fq.linear_attention(&fq, &v, 1).err().expect("F = 129 is refused");
        assert_eq!(too_many.to_string(), "linear_attention: features per head F = 129 exceeds the kernels' maximum of 128", "on the {}", dev.name());
    }
}
