//! `Tensor`: a shape, a shared storage on one device, and the op that made it (for autograd).
//! The backend is data, not a type parameter (as in candle): each op checks its inputs once
//! (shapes, devices, and the kernels' size limits of `limits`, on both backends alike),
//! runs the CPU or the GPU kernel of the same name by matching on the device, and records
//! itself so that `autograd::backward` can walk the graph. Toys and `nn` never name a backend.
//!
//! f32 tensors only; integer inputs (token ids, targets) are `Index`es, which keep a host copy
//! and, on the GPU, a device copy plus the CSR inverse that `scatter_rows` needs.

use std::cell::{Ref, RefCell};
use std::rc::Rc;

use crate::backend::cpu::{self, CpuBuffer};
use crate::backend::gpu::{Gpu, GpuBuffer};
use crate::backend::{DropoutMask, MatmulDims};
pub use crate::backend::{Saved, UnaryOp};
use crate::error::{Error, Result};
use crate::limits;

/// Where tensors live and kernels run.
#[derive(Clone)]
pub enum Device {
    Cpu,
    Gpu(Rc<Gpu>),
}

impl Device {
    pub fn name(&self) -> &'static str {
        match self {
            Device::Cpu => "cpu",
            Device::Gpu(_) => "gpu",
        }
    }

    /// Submits the GPU work recorded so far (one submission per training step); a no-op on the CPU.
    pub fn flush(&self) {
        if let Device::Gpu(g) = self {
            g.flush();
        }
    }
}

pub enum Storage {
    Cpu(CpuBuffer),
    Gpu(GpuBuffer),
}

impl Storage {
    pub fn cpu(&self) -> &[f32] {
        match self {
            Storage::Cpu(v) => v,
            Storage::Gpu(_) => unreachable!("device checked by the op"),
        }
    }
    pub fn cpu_mut(&mut self) -> &mut [f32] {
        match self {
            Storage::Cpu(v) => v,
            Storage::Gpu(_) => unreachable!("device checked by the op"),
        }
    }
    pub fn gpu(&self) -> &GpuBuffer {
        match self {
            Storage::Gpu(b) => b,
            Storage::Cpu(_) => unreachable!("device checked by the op"),
        }
    }
}

/// Integer row indices (token ids, class targets) for `gather_rows` and `cross_entropy`.
pub struct Index {
    pub ids: Vec<u32>,
    /// Number of rows the ids point into (vocabulary or classes); every id is below it.
    pub rows: usize,
    gpu: Option<IndexGpu>,
}

struct IndexGpu {
    ids: GpuBuffer,
    offsets: GpuBuffer,
    order: GpuBuffer,
}

impl Index {
    pub fn new(device: &Device, ids: Vec<u32>, rows: usize) -> Result<Rc<Index>> {
        if let Some(&bad) = ids.iter().find(|&&i| i as usize >= rows) {
            return Err(Error::msg(format!("index {bad} out of range for {rows} rows")));
        }
        limits::buffer("index", "ids", &[ids.len()])?;
        let gpu = match device {
            Device::Cpu => None,
            Device::Gpu(g) => {
                let (offsets, order) = cpu::csr_inverse(&ids, rows);
                Some(IndexGpu { ids: g.upload_u32(&ids), offsets: g.upload_u32(&offsets), order: g.upload_u32(&order) })
            }
        };
        Ok(Rc::new(Index { ids, rows, gpu }))
    }
    pub fn len(&self) -> usize {
        self.ids.len()
    }
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
    fn gpu(&self) -> &IndexGpu {
        self.gpu.as_ref().expect("index made for another device")
    }
    pub(crate) fn gpu_ids(&self) -> &GpuBuffer {
        &self.gpu().ids
    }
    /// The CSR inverse (offsets, order) on the GPU, for `scatter_rows`.
    pub(crate) fn csr_gpu(&self) -> (&GpuBuffer, &GpuBuffer) {
        (&self.gpu().offsets, &self.gpu().order)
    }
}

/// How a tensor was made: its inputs and what the backward pass needs.
pub enum Op {
    Leaf,
    Reshape(Tensor),
    Matmul(Tensor, Tensor),
    Add(Tensor, Tensor),
    Mul(Tensor, Tensor),
    Scale(Tensor, f32),
    AddBias(Tensor, Tensor),
    /// y = f(x) element-wise, f one of the `UnaryOp`s.
    Unary(UnaryOp, Tensor),
    LayerNorm {
        x: Tensor,
        gamma: Tensor,
        beta: Tensor,
        mean: Storage,
        rstd: Storage,
    },
    GatherRows(Tensor, Rc<Index>),
    Attention {
        qkv: Tensor,
        att: Tensor,
        nh: usize,
    },
    /// Causal linear attention over feature-mapped queries and keys; den: (B, NH, T).
    LinearAttention {
        fq: Tensor,
        fk: Tensor,
        v: Tensor,
        den: Storage,
        nh: usize,
    },
    CrossEntropy {
        logits: Tensor,
        targets: Rc<Index>,
        probs: Storage,
        norm: Normalizer,
    },
    Dropout(Tensor, DropoutMask),
    LogSoftmax(Tensor),
    /// h = lstm(xw, w_h); saves the gates after their activations, c and h_{t−1}.
    Lstm {
        xw: Tensor,
        w_h: Tensor,
        gates: Storage,
        c: Storage,
        hprev: Storage,
    },
    /// The mean entropy of an attention output's probability rows.
    AttentionEntropy(Tensor),
}

/// How attention weights (B, NH, T, T) come from the values `Tensor::attention_parts` names.
#[derive(Clone, Copy, Debug)]
pub enum Weights {
    /// Softmax attention keeps its probabilities: they are the weights.
    Probs,
    /// Linear attention's weights φq·φk / Σ, from φq and φk (`cpu::linear_attention_weights`).
    Features { b: usize, t: usize, nh: usize, f: usize },
}

impl Weights {
    pub fn weights(&self, values: &[Vec<f32>]) -> Vec<f32> {
        match *self {
            Weights::Probs => values[0].clone(),
            Weights::Features { b, t, nh, f } => {
                let mut att = vec![0.0; b * nh * t * t];
                cpu::linear_attention_weights(&values[0], &values[1], &mut att, b, t, nh, f);
                att
            }
        }
    }

    /// How many values `weights` takes.
    pub fn sources(&self) -> usize {
        match self {
            Weights::Probs => 1,
            Weights::Features { .. } => 2,
        }
    }
}

impl Op {
    /// The tensors this op read, whose gradients its backward pass gives: the one list that both
    /// `requires_grad` (a node needs a gradient when an input does) and autograd's walk use.
    pub fn inputs(&self) -> Vec<&Tensor> {
        match self {
            Op::Leaf => vec![],
            Op::Reshape(x) | Op::Scale(x, _) | Op::Unary(_, x) | Op::GatherRows(x, _) => vec![x],
            Op::Matmul(a, b) | Op::Add(a, b) | Op::Mul(a, b) | Op::AddBias(a, b) => vec![a, b],
            Op::LayerNorm { x, gamma, beta, .. } => vec![x, gamma, beta],
            Op::Attention { qkv, .. } => vec![qkv],
            Op::LinearAttention { fq, fk, v, .. } => vec![fq, fk, v],
            Op::CrossEntropy { logits, .. } => vec![logits],
            Op::Dropout(x, _) | Op::LogSoftmax(x) | Op::AttentionEntropy(x) => vec![x],
            Op::Lstm { xw, w_h, .. } => vec![xw, w_h],
        }
    }
}

/// What turns logits into class probabilities inside `cross_entropy_with`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Normalizer {
    /// exp(l) / Σ exp(l), max-subtracted.
    Softmax,
    /// s(l) / Σ s(l) with s(x) = x + 1 (x ≥ 0), 1/(1 − x) (x < 0) (Prieto et al. 2025, §4).
    StableMax,
}

/// What `cross_entropy_with` returns: the mean loss (1, in the graph), and outside the graph the
/// accuracy (1), the per-example losses (N) and whether each example's argmax is its target (N,
/// 0 or 1: `correct.sum(1.0)` counts them exactly, where 1 − accuracy in f32 would not).
pub struct ClassLoss {
    pub loss: Tensor,
    pub acc: Tensor,
    pub losses: Tensor,
    pub correct: Tensor,
}

pub struct Node {
    pub(crate) id: usize,
    pub(crate) shape: Vec<usize>,
    pub(crate) storage: Rc<RefCell<Storage>>,
    pub(crate) device: Device,
    pub(crate) op: Op,
    pub(crate) requires_grad: bool,
}

#[derive(Clone)]
pub struct Tensor(pub(crate) Rc<Node>);

thread_local! { static NEXT_ID: std::cell::Cell<usize> = const { std::cell::Cell::new(0) }; }
fn next_id() -> usize {
    NEXT_ID.with(|c| {
        c.set(c.get() + 1);
        c.get()
    })
}

pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

impl Tensor {
    fn make(device: &Device, shape: Vec<usize>, storage: Storage, op: Op) -> Tensor {
        let requires_grad = op.inputs().iter().any(|x| x.requires_grad());
        Tensor(Rc::new(Node { id: next_id(), shape, storage: Rc::new(RefCell::new(storage)), device: device.clone(), op, requires_grad }))
    }

    /// A leaf holding `data`; `requires_grad` marks a trainable parameter.
    pub fn from_vec(device: &Device, shape: &[usize], data: Vec<f32>, requires_grad: bool) -> Result<Tensor> {
        if data.len() != numel(shape) {
            return Err(Error::msg(format!("from_vec: {} values for shape {:?}", data.len(), shape)));
        }
        limits::buffer("from_vec", "values", &[data.len()])?;
        let storage = match device {
            Device::Cpu => Storage::Cpu(CpuBuffer::from_vec(data)),
            Device::Gpu(g) => Storage::Gpu(g.upload(&data)),
        };
        let mut t = Tensor::make(device, shape.to_vec(), storage, Op::Leaf);
        Rc::get_mut(&mut t.0).expect("fresh").requires_grad = requires_grad;
        Ok(t)
    }

    /// A leaf (no gradient) owning `storage`.
    pub fn from_storage(device: &Device, shape: &[usize], storage: Storage) -> Tensor {
        Tensor::make(device, shape.to_vec(), storage, Op::Leaf)
    }

    /// A leaf (no gradient) sharing `t`'s storage under `shape`.
    pub fn from_shared(t: &Tensor, shape: &[usize]) -> Tensor {
        debug_assert_eq!(numel(shape), t.numel());
        Tensor(Rc::new(Node {
            id: next_id(),
            shape: shape.to_vec(),
            storage: t.0.storage.clone(),
            device: t.device().clone(),
            op: Op::Leaf,
            requires_grad: false,
        }))
    }

    pub fn zeros(device: &Device, shape: &[usize]) -> Tensor {
        Tensor::from_vec(device, shape, vec![0.0; numel(shape)], false).expect("the shape of an existing tensor")
    }

    pub fn id(&self) -> usize {
        self.0.id
    }
    pub fn shape(&self) -> &[usize] {
        &self.0.shape
    }
    pub fn numel(&self) -> usize {
        numel(&self.0.shape)
    }
    pub fn device(&self) -> &Device {
        &self.0.device
    }
    pub fn requires_grad(&self) -> bool {
        self.0.requires_grad
    }
    pub fn op(&self) -> &Op {
        &self.0.op
    }
    pub fn storage(&self) -> Ref<'_, Storage> {
        self.0.storage.borrow()
    }
    /// In-place access, for optimizers (and tests that perturb a parameter); a parameter's storage
    /// is never shared with a graph node.
    pub fn storage_mut(&self) -> std::cell::RefMut<'_, Storage> {
        self.0.storage.borrow_mut()
    }

    /// Overwrites the values with `data` (same length) on either device, in program order: to
    /// start one model from another's weights.
    pub fn overwrite(&self, data: &[f32]) -> Result<()> {
        if data.len() != self.numel() {
            return Err(Error::msg(format!("overwrite: {} values for a tensor of shape {:?}", data.len(), self.shape())));
        }
        match (&mut *self.storage_mut(), self.device()) {
            (Storage::Cpu(v), _) => v.copy_from_slice(data),
            (Storage::Gpu(b), Device::Gpu(g)) => g.write(b, data),
            (Storage::Gpu(_), Device::Cpu) => unreachable!("a GPU buffer lives on a GPU device"),
        }
        Ok(())
    }

    /// The values, read back from the device (asynchronously on the GPU, as a browser requires).
    pub async fn to_vec(&self) -> Result<Vec<f32>> {
        Ok(read_all(&[self]).await?.pop().expect("one tensor"))
    }

    fn same_device(&self, other: &Tensor, op: &str) -> Result<()> {
        match (self.device(), other.device()) {
            (Device::Cpu, Device::Cpu) => Ok(()),
            (Device::Gpu(a), Device::Gpu(b)) if Rc::ptr_eq(a, b) => Ok(()),
            _ => Err(Error::msg(format!("{op}: operands live on different devices"))),
        }
    }

    fn same_shape(&self, other: &Tensor, op: &str) -> Result<()> {
        self.same_device(other, op)?;
        if self.shape() != other.shape() {
            return Err(Error::msg(format!("{op}: shapes {:?} and {:?} differ", self.shape(), other.shape())));
        }
        Ok(())
    }

    /// Same storage, new shape (row-major, so no data moves).
    pub fn reshape(&self, shape: &[usize]) -> Result<Tensor> {
        if numel(shape) != self.numel() {
            return Err(Error::msg(format!("reshape: {:?} to {:?} changes the size", self.shape(), shape)));
        }
        Ok(Tensor(Rc::new(Node {
            id: next_id(),
            shape: shape.to_vec(),
            storage: self.0.storage.clone(),
            device: self.device().clone(),
            op: Op::Reshape(self.clone()),
            requires_grad: self.requires_grad(),
        })))
    }

    /// self: (…, m, k) · rhs: (k, n) → (…, m, n); or batched, self: (B, m, k) · rhs: (B, k, n).
    pub fn matmul(&self, rhs: &Tensor) -> Result<Tensor> {
        self.same_device(rhs, "matmul")?;
        let dims = matmul_dims(self.shape(), rhs.shape())?;
        limits::matmul(&dims)?;
        let mut shape = self.shape().to_vec();
        *shape.last_mut().unwrap() = dims.n;
        let out = run_kernel(
            self.device(),
            [&*self.storage(), &*rhs.storage()],
            [numel(&shape)],
            |[a, b], [o]| cpu::matmul(a, b, o, &dims),
            |g, [a, b], [o]| g.matmul(a, b, o, &dims),
        );
        let [out] = out;
        Ok(Tensor::make(self.device(), shape, out, Op::Matmul(self.clone(), rhs.clone())))
    }

    pub fn add(&self, rhs: &Tensor) -> Result<Tensor> {
        self.same_shape(rhs, "add")?;
        let n = self.numel();
        let [out] = run_kernel(self.device(), [&*self.storage(), &*rhs.storage()], [n], |[a, b], [o]| cpu::add(a, b, o), |g, [a, b], [o]| g.add(a, b, o, n));
        Ok(Tensor::make(self.device(), self.shape().to_vec(), out, Op::Add(self.clone(), rhs.clone())))
    }

    pub fn mul(&self, rhs: &Tensor) -> Result<Tensor> {
        self.same_shape(rhs, "mul")?;
        let n = self.numel();
        let [out] = run_kernel(self.device(), [&*self.storage(), &*rhs.storage()], [n], |[a, b], [o]| cpu::mul(a, b, o), |g, [a, b], [o]| g.mul(a, b, o, n));
        Ok(Tensor::make(self.device(), self.shape().to_vec(), out, Op::Mul(self.clone(), rhs.clone())))
    }

    pub fn scale(&self, s: f32) -> Tensor {
        let n = self.numel();
        let [out] = run_kernel(self.device(), [&*self.storage()], [n], |[a], [o]| cpu::scale(a, s, o), |g, [a], [o]| g.scale(a, s, o, n));
        Tensor::make(self.device(), self.shape().to_vec(), out, Op::Scale(self.clone(), s))
    }

    /// self: (rows, cols…) + bias broadcast over the leading dimension; bias holds `cols…`
    /// (a Linear's bias over (N, C), or a positional embedding (T·C) over (B, T·C)).
    pub fn add_bias(&self, bias: &Tensor) -> Result<Tensor> {
        self.same_device(bias, "add_bias")?;
        let cols = bias.numel();
        if cols == 0 || !self.numel().is_multiple_of(cols) {
            return Err(Error::msg(format!("add_bias: bias {:?} does not tile {:?}", bias.shape(), self.shape())));
        }
        let rows = self.numel() / cols;
        let [out] = run_kernel(
            self.device(),
            [&*self.storage(), &*bias.storage()],
            [self.numel()],
            |[x, b], [o]| cpu::add_bias(x, b, o),
            |g, [x, b], [o]| g.add_bias(x, b, o, rows, cols),
        );
        Ok(Tensor::make(self.device(), self.shape().to_vec(), out, Op::AddBias(self.clone(), bias.clone())))
    }

    /// f(x) element-wise, for f one of the `UnaryOp`s (GELU, ReLU, elu+1, exp).
    pub fn unary(&self, op: UnaryOp) -> Tensor {
        let n = self.numel();
        let [out] = run_kernel(self.device(), [&*self.storage()], [n], |[x], [y]| cpu::unary_forward(op, x, y), |g, [x], [y]| g.unary_forward(op, x, y, n));
        Tensor::make(self.device(), self.shape().to_vec(), out, Op::Unary(op, self.clone()))
    }

    /// GPT-2's tanh approximation of GELU (`UnaryOp::Gelu`).
    pub fn gelu(&self) -> Tensor {
        self.unary(UnaryOp::Gelu)
    }

    /// max(x, 0).
    pub fn relu(&self) -> Tensor {
        self.unary(UnaryOp::Relu)
    }

    /// elu(x) + 1 = x + 1 for x > 0, exp(x) otherwise: linear attention's positive feature map
    /// (Katharopoulos et al. 2020, §3.2).
    pub fn elu_plus_one(&self) -> Tensor {
        self.unary(UnaryOp::EluPlusOne)
    }

    /// exp(x), elementwise.
    pub fn exp(&self) -> Tensor {
        self.unary(UnaryOp::Exp)
    }

    /// Normalises over the last dimension C; gamma, beta: (C).
    pub fn layernorm(&self, gamma: &Tensor, beta: &Tensor) -> Result<Tensor> {
        self.same_device(gamma, "layernorm")?;
        let c = *self.shape().last().unwrap();
        if gamma.numel() != c || beta.numel() != c {
            return Err(Error::msg(format!("layernorm: gamma/beta must have {c} values")));
        }
        let rows = self.numel() / c;
        let [y, mean, rstd] = run_kernel(
            self.device(),
            [&*self.storage(), &*gamma.storage(), &*beta.storage()],
            [self.numel(), rows, rows],
            |[x, ga, be], [y, m, r]| cpu::layernorm_forward(x, ga, be, y, m, r),
            |g, [x, ga, be], [y, m, r]| g.layernorm_forward(x, ga, be, y, m, r, rows, c),
        );
        let op = Op::LayerNorm { x: self.clone(), gamma: gamma.clone(), beta: beta.clone(), mean, rstd };
        Ok(Tensor::make(self.device(), self.shape().to_vec(), y, op))
    }

    /// self: (R, C) table → (N, C) rows picked by `idx` (an embedding lookup).
    pub fn gather_rows(&self, idx: &Rc<Index>) -> Result<Tensor> {
        let c = *self.shape().last().unwrap();
        let rows = self.numel() / c;
        if idx.rows != rows {
            return Err(Error::msg(format!("gather_rows: index made for {} rows, table has {rows}", idx.rows)));
        }
        let n = idx.len();
        limits::buffer("gather_rows", "rows gathered × columns N·C", &[n, c])?;
        let [out] = run_kernel(
            self.device(),
            [&*self.storage()],
            [n * c],
            |[t], [o]| cpu::gather_rows(t, &idx.ids, o, c),
            |g, [t], [o]| g.gather_rows(t, &idx.gpu().ids, o, n, c),
        );
        Ok(Tensor::make(self.device(), vec![n, c], out, Op::GatherRows(self.clone(), idx.clone())))
    }

    /// Causal self-attention with `nh` heads. self: qkv (B, T, 3C) → (B, T, C).
    pub fn attention(&self, nh: usize) -> Result<Tensor> {
        let &[b, t, c3] = self.shape() else {
            return Err(Error::msg(format!("attention: qkv must be (B, T, 3C), got {:?}", self.shape())));
        };
        let c = c3 / 3;
        if !c3.is_multiple_of(3) || nh == 0 || !c.is_multiple_of(nh) {
            return Err(Error::msg(format!("attention: 3C = {c3} must split into 3 × {nh} heads")));
        }
        limits::attention(b, t, c, nh)?;
        let [out, att] = run_kernel(
            self.device(),
            [&*self.storage()],
            [b * t * c, b * nh * t * t],
            |[x], [o, a]| cpu::attention_forward(x, o, a, b, t, c, nh),
            |g, [x], [o, a]| g.attention_forward(x, o, a, b, t, c, nh),
        );
        let att = Tensor::make(self.device(), vec![b, nh, t, t], att, Op::Leaf);
        Ok(Tensor::make(self.device(), vec![b, t, c], out, Op::Attention { qkv: self.clone(), att, nh }))
    }

    /// Causal linear attention with `nh` heads: out_t = Σ_{s≤t} (φq_t·φk_s) v_s / (Σ_{s≤t} φq_t·φk_s + ε),
    /// computed as a scan (linear in T). self: φq (B, T, NH·F), fk: φk (B, T, NH·F), v: (B, T, C)
    /// → (B, T, C). The feature map is whatever made φq and φk; they must be positive.
    pub fn linear_attention(&self, fk: &Tensor, v: &Tensor, nh: usize) -> Result<Tensor> {
        self.same_shape(fk, "linear_attention")?;
        self.same_device(v, "linear_attention")?;
        let bad = || {
            Error::msg(format!(
                "linear_attention: φq {:?}, φk {:?}, v {:?} with {nh} heads: need (B, T, NH·F), (B, T, NH·F), (B, T, C)",
                self.shape(),
                fk.shape(),
                v.shape()
            ))
        };
        let (&[b, t, nf], &[vb, vt, c]) = (self.shape(), v.shape()) else { return Err(bad()) };
        if nh == 0 || !nf.is_multiple_of(nh) || !c.is_multiple_of(nh) || (vb, vt) != (b, t) {
            return Err(bad());
        }
        let d = cpu::LinearDims { b, t, c, nh, f: nf / nh };
        limits::linear_attention(&d)?;
        let [out, den] = run_kernel(
            self.device(),
            [&*self.storage(), &*fk.storage(), &*v.storage()],
            [b * t * c, b * nh * t],
            |[q, k, v], [o, dn]| cpu::linear_attention_forward(q, k, v, o, dn, d),
            |g, [q, k, v], [o, dn]| g.linear_attention_forward(q, k, v, o, dn, d),
        );
        let op = Op::LinearAttention { fq: self.clone(), fk: fk.clone(), v: v.clone(), den, nh };
        Ok(Tensor::make(self.device(), vec![b, t, c], out, op))
    }

    /// The attention weights (B, NH, T, T) of an `attention` or `linear_attention` output, read
    /// back for pictures; None for any other tensor.
    pub async fn attention_weights(&self) -> Result<Option<Vec<f32>>> {
        let Some((sources, from)) = self.attention_parts() else { return Ok(None) };
        Ok(Some(from.weights(&read_all(&sources.iter().collect::<Vec<_>>()).await?)))
    }

    /// What an attention output's weights are computed from: the tensors to read back (with
    /// others, in one readback), and how to turn their values into weights (`Weights::weights`).
    /// A linear attention's weights are never formed in training; they are computed on the host.
    pub fn attention_parts(&self) -> Option<(Vec<Tensor>, Weights)> {
        match self.op() {
            Op::Attention { att, .. } => Some((vec![att.clone()], Weights::Probs)),
            Op::LinearAttention { fq, fk, nh, .. } => {
                let (&[b, t, nf], nh) = (fq.shape(), *nh) else { unreachable!("checked in forward") };
                Some((vec![fq.clone(), fk.clone()], Weights::Features { b, t, nh, f: nf / nh }))
            }
            _ => None,
        }
    }

    /// The LSTM recurrence (`cpu::lstm_forward`). self: xw (B, T, 4H), the input projection
    /// x·W_x + b of every step with gates in the order i, f, g, o; w_h: (H, 4H) → h (B, T, H),
    /// starting from h_0 = c_0 = 0.
    pub fn lstm(&self, w_h: &Tensor) -> Result<Tensor> {
        self.same_device(w_h, "lstm")?;
        let (&[b, t, g4], &[h, wg4]) = (self.shape(), w_h.shape()) else {
            return Err(Error::msg(format!("lstm: xw must be (B, T, 4H) and w_h (H, 4H), got {:?} and {:?}", self.shape(), w_h.shape())));
        };
        if g4 != 4 * h || wg4 != 4 * h || h == 0 {
            return Err(Error::msg(format!("lstm: xw {:?} and w_h {:?} do not agree on 4H", self.shape(), w_h.shape())));
        }
        limits::lstm(b, t, h)?;
        let [out, gates, c, hprev] = run_kernel(
            self.device(),
            [&*self.storage(), &*w_h.storage()],
            [b * t * h, b * t * g4, b * t * h, b * t * h],
            |[x, w], [o, ga, c, hp]| cpu::lstm_forward(x, w, o, ga, c, hp, b, t, h),
            |g, [x, w], [o, ga, c, hp]| g.lstm_forward(x, w, o, ga, c, hp, b, t, h),
        );
        Ok(Tensor::make(self.device(), vec![b, t, h], out, Op::Lstm { xw: self.clone(), w_h: w_h.clone(), gates, c, hprev }))
    }

    /// Mean softmax cross-entropy of logits (N, V) against targets (N). Returns the loss (1) and,
    /// outside the graph, the accuracy (1) (first argmax equals the target).
    pub fn cross_entropy(&self, targets: &Rc<Index>) -> Result<(Tensor, Tensor)> {
        let c = self.cross_entropy_with(targets, Normalizer::Softmax)?;
        Ok((c.loss, c.acc))
    }

    /// Mean cross-entropy of logits (N, V) against targets (N) under either normalizer.
    pub fn cross_entropy_with(&self, targets: &Rc<Index>, norm: Normalizer) -> Result<ClassLoss> {
        let &[n, v] = self.shape() else {
            return Err(Error::msg(format!("cross_entropy: logits must be (N, V), got {:?}", self.shape())));
        };
        if targets.len() != n || targets.rows != v {
            return Err(Error::msg(format!("cross_entropy: {} targets over {} classes for logits {:?}", targets.len(), targets.rows, self.shape())));
        }
        let [losses, probs, correct] = run_kernel(
            self.device(),
            [&*self.storage()],
            [n, n * v, n],
            |[l], [ls, p, c]| match norm {
                Normalizer::Softmax => cpu::cross_entropy_forward(l, &targets.ids, ls, p, c),
                Normalizer::StableMax => cpu::stablemax_cross_entropy_forward(l, &targets.ids, ls, p, c),
            },
            |g, [l], [ls, p, c]| match norm {
                Normalizer::Softmax => g.cross_entropy_forward(l, &targets.gpu().ids, ls, p, c, n, v),
                Normalizer::StableMax => g.stablemax_cross_entropy_forward(l, &targets.gpu().ids, ls, p, c, n, v),
            },
        );
        let inv = 1.0 / n as f32;
        let loss = reduce(self.device(), &losses, n, |x, o| cpu::sum(x, o, inv), |g, x, o| g.sum(x, o, n, inv));
        let acc = reduce(self.device(), &correct, n, |x, o| cpu::sum(x, o, inv), |g, x, o| g.sum(x, o, n, inv));
        let op = Op::CrossEntropy { logits: self.clone(), targets: targets.clone(), probs, norm };
        Ok(ClassLoss {
            loss: Tensor::make(self.device(), vec![1], loss, op),
            acc: Tensor::make(self.device(), vec![1], acc, Op::Leaf),
            losses: Tensor::make(self.device(), vec![n], losses, Op::Leaf),
            correct: Tensor::make(self.device(), vec![n], correct, Op::Leaf),
        })
    }

    /// Σ x² as a (1) tensor outside the graph (for weight norms).
    pub fn sum_squares(&self) -> Tensor {
        let n = self.numel();
        let out = reduce(self.device(), &self.storage(), n, cpu::sum_squares, |g, x, o| g.sum_squares(x, o, n));
        Tensor::make(self.device(), vec![1], out, Op::Leaf)
    }

    /// Inverted dropout: each unit is zeroed or scaled by 1/(1 − p) as `mask` draws it.
    pub fn dropout(&self, mask: DropoutMask) -> Tensor {
        let n = self.numel();
        let [out] = run_kernel(self.device(), [&*self.storage()], [n], |[x], [y]| cpu::dropout(x, y, &mask), |g, [x], [y]| g.dropout(x, y, n, &mask));
        Tensor::make(self.device(), self.shape().to_vec(), out, Op::Dropout(self.clone(), mask))
    }

    /// Row-wise log-softmax over the last dimension V: (…, V) → (…, V), log-probabilities.
    pub fn log_softmax(&self) -> Tensor {
        let v = *self.shape().last().expect("a tensor has a shape");
        let n = self.numel() / v;
        let [y] = run_kernel(
            self.device(),
            [&*self.storage()],
            [n * v],
            |[x], [y]| cpu::log_softmax_forward(x, y, v),
            |g, [x], [y]| g.log_softmax_forward(x, y, n, v),
        );
        Tensor::make(self.device(), self.shape().to_vec(), y, Op::LogSoftmax(self.clone()))
    }

    /// The mean entropy −Σ_u a·ln a of the probability rows of an `attention` output, over all
    /// B·NH·T rows, as a (1) tensor in the graph: the attention-sharpening penalty (a sharper
    /// attention, more mass on fewer keys, has a lower entropy).
    pub fn attention_entropy(&self) -> Result<Tensor> {
        let Some(att) = self.attention_probs() else {
            return Err(Error::msg("attention_entropy: the tensor is not an attention output"));
        };
        let t = att.shape()[3];
        let rows = att.numel() / t;
        let [ent] = run_kernel(
            self.device(),
            [&*att.storage()],
            [rows],
            |[a], [e]| cpu::attention_entropy_forward(a, e, t),
            |g, [a], [e]| g.attention_entropy_forward(a, e, rows, t),
        );
        let inv = 1.0 / rows as f32;
        let mean = reduce(self.device(), &ent, rows, |x, o| cpu::sum(x, o, inv), |g, x, o| g.sum(x, o, rows, inv));
        Ok(Tensor::make(self.device(), vec![1], mean, Op::AttentionEntropy(self.clone())))
    }

    /// The softmax attention probabilities (B, NH, T, T) of an `attention` output, for pictures
    /// of what a head looks at; None for any other tensor.
    pub fn attention_probs(&self) -> Option<&Tensor> {
        match self.op() {
            Op::Attention { att, .. } => Some(att),
            _ => None,
        }
    }

    /// scale · Σ x as a (1) tensor outside the graph (mean with scale = 1/n).
    pub fn sum(&self, scale: f32) -> Tensor {
        let n = self.numel();
        let out = reduce(self.device(), &self.storage(), n, |x, o| cpu::sum(x, o, scale), |g, x, o| g.sum(x, o, n, scale));
        Tensor::make(self.device(), vec![1], out, Op::Leaf)
    }

    /// The share of entries exactly equal to 0, as a (1) tensor outside the graph.
    pub fn zero_fraction(&self) -> Tensor {
        let n = self.numel();
        let inv = 1.0 / n as f32;
        let out = reduce(self.device(), &self.storage(), n, |x, o| cpu::count_zeros(x, o, inv), |g, x, o| g.count_zeros(x, o, n, inv));
        Tensor::make(self.device(), vec![1], out, Op::Leaf)
    }

    /// self (a gradient) minus its projection on `w`, per tensor (⊥Grad): a leaf of self's shape.
    pub fn orthogonal_to(&self, w: &Tensor) -> Result<Tensor> {
        self.same_shape(w, "orthogonal_to")?;
        let n = self.numel();
        let [out] = run_kernel(
            self.device(),
            [&*w.storage(), &*self.storage()],
            [n],
            |[w, g], [o]| cpu::orthogonal_grad(w, g, o),
            |gpu, [w, g], [o]| gpu.orthogonal_grad(w, g, o, n),
        );
        Ok(Tensor::make(self.device(), self.shape().to_vec(), out, Op::Leaf))
    }
}

/// Shapes of `a · b` for `matmul`: a (…, m, k) with b (k, n) shared, or a (B, m, k) with b (B, k, n).
fn matmul_dims(a: &[usize], b: &[usize]) -> Result<MatmulDims> {
    let bad = || Error::msg(format!("matmul: cannot multiply {a:?} by {b:?}"));
    if a.len() < 2 {
        return Err(bad());
    }
    let k = a[a.len() - 1];
    match *b {
        [bk, n] if bk == k => {
            let m = numel(a) / k;
            Ok(MatmulDims { batch: 1, m, k, n, a_trans: false, b_trans: false, a_batch_stride: 0, b_batch_stride: 0 })
        }
        [bb, bk, n] if a.len() == 3 && a[0] == bb && bk == k => {
            let m = a[1];
            Ok(MatmulDims { batch: bb, m, k, n, a_trans: false, b_trans: false, a_batch_stride: m * k, b_batch_stride: k * n })
        }
        _ => Err(bad()),
    }
}

/// Runs one kernel on `device` over the given input storages: `O` outputs of the given
/// lengths are allocated (from the GPU pool on the GPU), and the matching closure is called.
pub(crate) fn run_kernel<const I: usize, const O: usize>(
    device: &Device,
    inputs: [&Storage; I],
    out_lens: [usize; O],
    cpu_fn: impl FnOnce([&[f32]; I], [&mut [f32]; O]),
    gpu_fn: impl FnOnce(&Gpu, [&GpuBuffer; I], [&GpuBuffer; O]),
) -> [Storage; O] {
    match device {
        Device::Cpu => {
            let mut outs = out_lens.map(CpuBuffer::alloc);
            cpu_fn(inputs.map(|s| s.cpu()), outs.each_mut().map(|v| &mut **v));
            outs.map(Storage::Cpu)
        }
        Device::Gpu(g) => {
            let outs = out_lens.map(|n| g.alloc(n));
            gpu_fn(g, inputs.map(|s| s.gpu()), outs.each_ref());
            outs.map(Storage::Gpu)
        }
    }
}

/// A (1) result of a reduction over a storage.
fn reduce(device: &Device, x: &Storage, n: usize, cpu_fn: impl FnOnce(&[f32], &mut [f32]), gpu_fn: impl FnOnce(&Gpu, &GpuBuffer, &GpuBuffer)) -> Storage {
    debug_assert!(n > 0);
    match device {
        Device::Cpu => {
            let mut o = CpuBuffer::alloc(1);
            cpu_fn(x.cpu(), &mut o);
            Storage::Cpu(o)
        }
        Device::Gpu(g) => {
            let o = g.alloc(1);
            gpu_fn(g, x.gpu(), &o);
            Storage::Gpu(o)
        }
    }
}

/// Reads several tensors back in one go: one GPU submission and one map for all of them.
pub async fn read_all(ts: &[&Tensor]) -> Result<Vec<Vec<f32>>> {
    let Some(first) = ts.first() else { return Ok(vec![]) };
    match first.device() {
        Device::Cpu => Ok(ts.iter().map(|t| t.storage().cpu().to_vec()).collect()),
        Device::Gpu(g) => {
            let guards: Vec<_> = ts.iter().map(|t| t.storage()).collect();
            let bufs: Vec<&GpuBuffer> = guards.iter().map(|s| s.gpu()).collect();
            g.read(&bufs).await.map_err(Error::msg)
        }
    }
}
