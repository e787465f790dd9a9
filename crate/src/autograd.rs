//! Reverse-mode autograd over the graph that ops record (as in candle's `backprop.rs`):
//! sort the nodes topologically from the loss, then walk them in reverse, one short match arm
//! per `Op`, each citing its formula. Gradients of a node used twice are summed with `add`.
//! Gradient tensors are leaves: there are no gradients of gradients.

use std::collections::HashMap;

use crate::backend::{MatmulDims, cpu};
use crate::error::{Error, Result};
use crate::tensor::{Normalizer, Op, Saved, Storage, Tensor, numel, run_kernel};

/// Gradients by tensor id.
pub struct Grads(HashMap<usize, Tensor>, Probs);

/// Gradients on the probabilities (B, NH, T, T) of attention outputs, by the output's id: an
/// attention entropy penalty writes them, and the attention's own backward, which comes later
/// in the walk, takes them through the softmax in the same kernel as dout.
#[derive(Default)]
struct Probs(HashMap<usize, Tensor>);

impl Grads {
    pub fn get(&self, t: &Tensor) -> Option<&Tensor> {
        self.0.get(&t.id())
    }

    /// Replaces `t`'s gradient, e.g. by a filtered one before the optimizer step.
    pub fn set(&mut self, t: &Tensor, g: Tensor) {
        self.0.insert(t.id(), g);
    }

    fn accumulate(&mut self, t: &Tensor, g: Tensor) -> Result<()> {
        if !t.requires_grad() {
            return Ok(());
        }
        let sum = match self.0.remove(&t.id()) {
            Some(prev) => prev.add(&g)?,
            None => g,
        };
        self.0.insert(t.id(), sum);
        Ok(())
    }
}

/// Nodes reachable from `root` that need a gradient, parents after children (root last).
fn topo_order(root: &Tensor) -> Vec<Tensor> {
    let mut order = Vec::new();
    let mut seen = std::collections::HashSet::new();
    // Iterative DFS: deep graphs would overflow a recursive one in the browser's small stack.
    let mut stack = vec![(root.clone(), false)];
    while let Some((t, expanded)) = stack.pop() {
        if expanded {
            order.push(t);
            continue;
        }
        if !t.requires_grad() || !seen.insert(t.id()) {
            continue;
        }
        stack.push((t.clone(), true));
        for input in t.op().inputs() {
            stack.push((input.clone(), false));
        }
    }
    order
}

/// d(loss)/d(every tensor that requires a gradient). `loss` must hold one value.
pub fn backward(loss: &Tensor) -> Result<Grads> {
    if loss.numel() != 1 {
        return Err(Error::msg(format!("backward: loss must be a scalar, got {:?}", loss.shape())));
    }
    let mut grads = Grads(HashMap::new(), Probs::default());
    grads.0.insert(loss.id(), Tensor::from_vec(loss.device(), &[1], vec![1.0], false)?);
    for t in topo_order(loss).iter().rev() {
        let Some(g) = grads.0.get(&t.id()).cloned() else { continue };
        backward_op(t, &g, &mut grads)?;
    }
    Ok(grads)
}

/// A new leaf on `like`'s device holding `storage` with `shape`.
fn leaf(like: &Tensor, shape: &[usize], storage: Storage) -> Tensor {
    Tensor::from_storage(like.device(), shape, storage)
}

fn backward_op(t: &Tensor, g: &Tensor, grads: &mut Grads) -> Result<()> {
    let dev = t.device();
    match t.op() {
        Op::Leaf => {}
        Op::Reshape(x) => grads.accumulate(x, Tensor::from_shared(g, x.shape()))?,
        // y = a + b: da = db = dy
        Op::Add(a, b) => {
            grads.accumulate(a, g.clone())?;
            grads.accumulate(b, g.clone())?;
        }
        // y = a·b: da = dy·b, db = dy·a
        Op::Mul(a, b) => {
            grads.accumulate(a, detached(g).mul(&detached(b))?)?;
            grads.accumulate(b, detached(g).mul(&detached(a))?)?;
        }
        // y = s·x: dx = s·dy
        Op::Scale(x, s) => grads.accumulate(x, detached(g).scale(*s))?,
        // y = x + bias: dx = dy, dbias = Σ_rows dy
        Op::AddBias(x, bias) => {
            grads.accumulate(x, g.clone())?;
            let (rows, cols) = (g.numel() / bias.numel(), bias.numel());
            let [db] = run_kernel(dev, [&*g.storage()], [cols], |[d], [o]| cpu::sum_rows(d, o), |gpu, [d], [o]| gpu.sum_rows(d, o, rows, cols));
            grads.accumulate(bias, leaf(bias, bias.shape(), db))?;
        }
        // out = A·B: dA = dOut·Bᵀ, dB = Aᵀ·dOut (summed over the batch when B is shared)
        Op::Matmul(a, b) => {
            let (k, n) = (*a.shape().last().unwrap(), *t.shape().last().unwrap());
            let shared = b.shape().len() == 2;
            let batch = if shared { 1 } else { b.shape()[0] };
            let m = a.numel() / k / batch;
            if a.requires_grad() {
                let d =
                    MatmulDims { batch, m, k: n, n: k, a_trans: false, b_trans: true, a_batch_stride: m * n, b_batch_stride: if shared { 0 } else { k * n } };
                let [da] = run_kernel(
                    dev,
                    [&*g.storage(), &*b.storage()],
                    [a.numel()],
                    |[x, y], [o]| cpu::matmul(x, y, o, &d),
                    |gpu, [x, y], [o]| gpu.matmul(x, y, o, &d),
                );
                grads.accumulate(a, leaf(a, a.shape(), da))?;
            }
            if b.requires_grad() {
                let d = if shared {
                    MatmulDims { batch: 1, m: k, k: batch * m, n, a_trans: true, b_trans: false, a_batch_stride: 0, b_batch_stride: 0 }
                } else {
                    MatmulDims { batch, m: k, k: m, n, a_trans: true, b_trans: false, a_batch_stride: m * k, b_batch_stride: m * n }
                };
                let [db] = run_kernel(
                    dev,
                    [&*a.storage(), &*g.storage()],
                    [b.numel()],
                    |[x, y], [o]| cpu::matmul(x, y, o, &d),
                    |gpu, [x, y], [o]| gpu.matmul(x, y, o, &d),
                );
                grads.accumulate(b, leaf(b, b.shape(), db))?;
            }
        }
        // y = f(x): dx = dy·f'(x), which the op's backward computes from x, or from y where that is
        // how its derivative reads (exp: dx = dy·y)
        Op::Unary(op, x) => {
            let (op, n) = (*op, x.numel());
            let v = match op.saved() {
                Saved::Input => x,
                Saved::Output => t,
            };
            let [dx] = run_kernel(
                dev,
                [&*v.storage(), &*g.storage()],
                [n],
                |[v, d], [o]| cpu::unary_backward(op, v, d, o),
                |gpu, [v, d], [o]| gpu.unary_backward(op, v, d, o, n),
            );
            grads.accumulate(x, leaf(x, x.shape(), dx))?;
        }
        Op::LayerNorm { x, gamma, beta, mean, rstd } => {
            let c = gamma.numel();
            let rows = x.numel() / c;
            let [dx, dgamma, dbeta] = run_kernel(
                dev,
                [&*g.storage(), &*x.storage(), &*gamma.storage(), mean, rstd],
                [x.numel(), c, c],
                |[dy, x, ga, m, r], [dx, dg, db]| cpu::layernorm_backward(dy, x, ga, m, r, dx, dg, db),
                |gpu, [dy, x, ga, m, r], [dx, dg, db]| gpu.layernorm_backward(dy, x, ga, m, r, dx, dg, db, rows, c),
            );
            grads.accumulate(x, leaf(x, x.shape(), dx))?;
            grads.accumulate(gamma, leaf(gamma, gamma.shape(), dgamma))?;
            grads.accumulate(beta, leaf(beta, beta.shape(), dbeta))?;
        }
        // out[j] = table[ids[j]]: dtable[r] = Σ_{j: ids[j] = r} dout[j]
        Op::GatherRows(table, idx) => {
            let c = *table.shape().last().unwrap();
            let rows = idx.rows;
            let [dt] = run_kernel(
                dev,
                [&*g.storage()],
                [rows * c],
                |[d], [o]| {
                    let (offsets, order) = cpu::csr_inverse(&idx.ids, rows);
                    cpu::scatter_rows(d, &offsets, &order, o, c)
                },
                |gpu, [d], [o]| {
                    let (offsets, order) = idx.csr_gpu();
                    gpu.scatter_rows(d, offsets, order, o, rows, c)
                },
            );
            grads.accumulate(table, leaf(table, table.shape(), dt))?;
        }
        Op::Attention { qkv, att, nh } => {
            let &[b, tt, c3] = qkv.shape() else { unreachable!("checked in forward") };
            let (c, nh) = (c3 / 3, *nh);
            let [dqkv] = match grads.1.0.remove(&t.id()) {
                None => run_kernel(
                    dev,
                    [&*g.storage(), &*qkv.storage(), &*att.storage()],
                    [qkv.numel()],
                    |[d, q, a], [o]| cpu::attention_backward(d, q, a, o, b, tt, c, nh),
                    |gpu, [d, q, a], [o]| gpu.attention_backward(d, q, a, o, b, tt, c, nh),
                ),
                Some(datt) => run_kernel(
                    dev,
                    [&*g.storage(), &*qkv.storage(), &*att.storage(), &*datt.storage()],
                    [qkv.numel()],
                    |[d, q, a, da], [o]| cpu::attention_backward_with(d, q, a, Some(da), o, b, tt, c, nh),
                    |gpu, [d, q, a, da], [o]| gpu.attention_backward_with(d, q, a, Some(da), o, b, tt, c, nh),
                ),
            };
            grads.accumulate(qkv, leaf(qkv, qkv.shape(), dqkv))?;
        }
        // out_t = A_t/D_t, A_t = φq_tᵀS_t, D_t = φq_t·z_t + ε: dφq_t = S_t dA_t + dD_t z_t;
        // with G_s = Σ_{t≥s} φq_t dA_tᵀ, g_s = Σ_{t≥s} dD_t φq_t: dφk_s = G_s v_s + g_s, dv_s = G_sᵀφk_s
        // (dA_t = dout_t/D_t, dD_t = −dout_t·out_t/D_t; see cpu::linear_attention_backward).
        Op::LinearAttention { fq, fk, v, den, nh } => {
            let (&[b, tt, nf], &[_, _, c]) = (fq.shape(), v.shape()) else { unreachable!("checked in forward") };
            let d = cpu::LinearDims { b, t: tt, c, nh: *nh, f: nf / nh };
            let [dfq, dfk, dv] = run_kernel(
                dev,
                [&*g.storage(), &*t.storage(), &*fq.storage(), &*fk.storage(), &*v.storage(), den],
                [fq.numel(), fk.numel(), v.numel()],
                |[dy, y, q, k, v, dn], [dq, dk, dv]| cpu::linear_attention_backward(dy, y, q, k, v, dn, dq, dk, dv, d),
                |gpu, [dy, y, q, k, v, dn], [dq, dk, dv]| gpu.linear_attention_backward(dy, y, q, k, v, dn, dq, dk, dv, d),
            );
            grads.accumulate(fq, leaf(fq, fq.shape(), dfq))?;
            grads.accumulate(fk, leaf(fk, fk.shape(), dfk))?;
            grads.accumulate(v, leaf(v, v.shape(), dv))?;
        }
        // H = −(1/rows)·Σ a·ln a over every attention row: dH/da = −(ln a + 1)/rows, kept for the
        // attention's backward (`Probs`), which runs later in the walk and adds it to dout·v.
        Op::AttentionEntropy(out) => {
            let Op::Attention { att, .. } = out.op() else { unreachable!("checked in forward") };
            let (n, t_len) = (att.numel(), att.shape()[3]);
            let scale = t_len as f32 / n as f32;
            let [datt] = run_kernel(
                dev,
                [&*att.storage(), &*g.storage()],
                [n],
                |[a, d], [o]| cpu::attention_entropy_backward(a, d, o, scale),
                |gpu, [a, d], [o]| gpu.attention_entropy_backward(a, d, o, n, scale),
            );
            let datt = leaf(att, att.shape(), datt);
            let datt = match grads.1.0.remove(&out.id()) {
                Some(prev) => prev.add(&datt)?,
                None => datt,
            };
            grads.1.0.insert(out.id(), datt);
            // The attention's backward runs only for an output with a gradient: give it zeros when
            // the entropy is all that depends on it.
            if grads.get(out).is_none() {
                grads.set(out, Tensor::zeros(dev, out.shape()));
            }
        }
        // loss = mean_i CE(logits_i): dlogits = (softmax − onehot) · dloss / N;
        // for StableMax each entry is further divided by 1 + |logit| (see the kernel).
        Op::CrossEntropy { logits, targets, probs, norm } => {
            let (n, v) = (logits.shape()[0], logits.shape()[1]);
            let scale = 1.0 / n as f32;
            let stablemax = *norm == Normalizer::StableMax;
            let [dl] = run_kernel(
                dev,
                [probs, &*g.storage(), &*logits.storage()],
                [numel(logits.shape())],
                |[p, d, l], [o]| cpu::cross_entropy_backward(p, &targets.ids, d, o, scale, stablemax.then_some(l)),
                |gpu, [p, d, l], [o]| gpu.cross_entropy_backward(p, targets.gpu_ids(), d, o, n, v, scale, stablemax.then_some(l)),
            );
            grads.accumulate(logits, leaf(logits, logits.shape(), dl))?;
        }
        // y = x·m with m the same mask: dx = dy·m, the dropout kernel applied to dy
        Op::Dropout(x, mask) => {
            let n = x.numel();
            let [dx] = run_kernel(dev, [&*g.storage()], [n], |[d], [o]| cpu::dropout(d, o, mask), |gpu, [d], [o]| gpu.dropout(d, o, n, mask));
            grads.accumulate(x, leaf(x, x.shape(), dx))?;
        }
        // y = x − logsumexp(x) per row: dx = dy − softmax(x)·Σ_v dy, softmax(x) = exp(y)
        Op::LogSoftmax(x) => {
            let v = *x.shape().last().unwrap();
            let n = x.numel() / v;
            let [dx] = run_kernel(
                dev,
                [&*t.storage(), &*g.storage()],
                [x.numel()],
                |[y, d], [o]| cpu::log_softmax_backward(y, d, o, v),
                |gpu, [y, d], [o]| gpu.log_softmax_backward(y, d, o, n, v),
            );
            grads.accumulate(x, leaf(x, x.shape(), dx))?;
        }
        // Backpropagation through time writes dpre, the gradient of every step's gate
        // pre-activations xw_t + h_{t−1}·W_h: so dxw = dpre and dW_h = Σ_{b,t} h_{t−1}ᵀ·dpre_t,
        // one matmul over the B·T rows.
        Op::Lstm { xw, w_h, gates, c, hprev } => {
            let &[b, tt, g4] = xw.shape() else { unreachable!("checked in forward") };
            let h = g4 / 4;
            let [dpre] = run_kernel(
                dev,
                [&*g.storage(), gates, c, &*w_h.storage()],
                [xw.numel()],
                |[d, ga, c, w], [o]| cpu::lstm_backward(d, ga, c, w, o, b, tt, h),
                |gpu, [d, ga, c, w], [o]| gpu.lstm_backward(d, ga, c, w, o, b, tt, h),
            );
            if w_h.requires_grad() {
                let d = MatmulDims { batch: 1, m: h, k: b * tt, n: g4, a_trans: true, b_trans: false, a_batch_stride: 0, b_batch_stride: 0 };
                let [dw] = run_kernel(dev, [hprev, &dpre], [w_h.numel()], |[x, y], [o]| cpu::matmul(x, y, o, &d), |gpu, [x, y], [o]| gpu.matmul(x, y, o, &d));
                grads.accumulate(w_h, leaf(w_h, w_h.shape(), dw))?;
            }
            grads.accumulate(xw, leaf(xw, xw.shape(), dpre))?;
        }
    }
    Ok(())
}

/// The same values as a leaf, so that gradient arithmetic does not extend the graph.
fn detached(t: &Tensor) -> Tensor {
    Tensor::from_shared(t, t.shape())
}
