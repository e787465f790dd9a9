"""The grokking toy's training step in PyTorch eager, mirroring crate/src/nn.rs,
crate/src/toys/grokking.rs and crate/src/optim.rs, for the training table of
docs/benchmarks.md (our side: crate/benches/benchmarks/training.rs).

Same model, batch and optimizer as the defaults (toys/grokking.rs `Config::default`):
- data: every a + b (mod 47) as tokens [a, op, b, =] (vocab p + 2 = 49), half of the 2209
  equations for training (1105), minibatches of 512 drawn without replacement, epoch by epoch;
- model (nn.rs `Transformer`): token embedding N(0, 1) plus a learned position embedding
  N(0, 1); 1 pre-LN block: x + proj(attn(qkv(ln1(x)))), then x + fc_proj(gelu_tanh(fc(ln2(x))))
  with a 4·C MLP; causal softmax attention with 4 heads; final LayerNorm and a linear head on
  the LAST position only; Linear init U(±1/√fan_in) (PyTorch's default), LayerNorm eps 1e-5;
- loss: mean cross-entropy; AdamW (β1 0.9, β2 0.98, eps 1e-8, weight decay 1.0 on every
  parameter, lr 3e-3 with a linear warm-up over the first 10 steps);
- torch.set_num_threads(2): this machine's two cores, as our native CPU backend uses.
Attention uses F.scaled_dot_product_attention(is_causal=True): PyTorch's fastest eager path
(a fused kernel), so the comparison is against PyTorch at its best, not a strawman.

Modes, as on our side: "train" times training steps only; "defaults" adds, every 10 steps,
the evaluation the toy does (loss and accuracy over the whole train and validation tables and
the weight norm, read back with .item()); "small batch" is "train" at batch 64.
Steps/s is the median over repetitions.

    python torch_grokking.py [--out FILE] [--quick] [--threads N] [--tag TAG]"""

import argparse
import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import timing

P, D_MODEL, HEADS, LAYERS, BATCH, LR, WD, BETA2, WARMUP, TRAIN_FRACTION = 47, 64, 4, 1, 512, 3e-3, 1.0, 0.98, 10, 0.5
SEQ_LEN = 4


class Block(nn.Module):
    def __init__(self, c, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(c, eps=1e-5)
        self.qkv = nn.Linear(c, 3 * c)
        self.proj = nn.Linear(c, c)
        self.ln2 = nn.LayerNorm(c, eps=1e-5)
        self.fc = nn.Linear(c, 4 * c)
        self.fc_proj = nn.Linear(4 * c, c)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(c, dim=2)
        q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, c))
        return x + self.fc_proj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class Transformer(nn.Module):
    def __init__(self, vocab, seq_len, c, heads, layers, n_out):
        super().__init__()
        self.tok_emb = nn.Parameter(torch.randn(vocab, c))
        self.pos_emb = nn.Parameter(torch.randn(seq_len * c))
        self.blocks = nn.ModuleList(Block(c, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(c, eps=1e-5)
        self.head = nn.Linear(c, n_out)

    def forward(self, tokens):
        b, t = tokens.shape
        x = (self.tok_emb[tokens].view(b, t * self.tok_emb.shape[1]) + self.pos_emb).view(b, t, -1)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x[:, -1, :]))


def data(seed=0):
    eqs = np.array([[a, P, b, P + 1, (a + b) % P] for a in range(P) for b in range(P)], dtype=np.int64)
    np.random.default_rng(seed).shuffle(eqs)
    n_train = min(max(int(math.floor(TRAIN_FRACTION * len(eqs) + 0.5)), 1), len(eqs) - 1)
    t = torch.from_numpy(eqs)
    return (t[:n_train, :4], t[:n_train, 4]), (t[n_train:, :4], t[n_train:, 4])


class Trainer:
    def __init__(self, eval_every, batch):
        torch.manual_seed(0)
        self.train, self.val = data()
        self.model = Transformer(P + 2, SEQ_LEN, D_MODEL, HEADS, LAYERS, P)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=LR, betas=(0.9, BETA2), eps=1e-8, weight_decay=WD)
        self.eval_every = eval_every
        self.batch = batch
        self.steps = 0
        self.epoch = torch.empty(0, dtype=torch.int64)
        self.last = None

    def next_batch(self):
        n = len(self.train[1])
        if self.batch >= n:
            return self.train
        while len(self.epoch) < self.batch:  # draw without replacement, epoch after epoch
            self.epoch = torch.cat([self.epoch, torch.randperm(n)])
        picks, self.epoch = self.epoch[:self.batch], self.epoch[self.batch:]
        return self.train[0][picks], self.train[1][picks]

    def train_step(self):
        tokens, targets = self.next_batch()
        loss = F.cross_entropy(self.model(tokens), targets)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        for g in self.opt.param_groups:
            g["lr"] = LR * min((self.steps + 1) / WARMUP, 1.0)
        self.opt.step()
        self.steps += 1

    @torch.no_grad()
    def evaluate(self):
        row = []
        for tokens, targets in (self.train, self.val):
            logits = self.model(tokens)
            row += [F.cross_entropy(logits, targets).item(), (logits.argmax(1) == targets).float().mean().item()]
        row.append(math.sqrt(sum((p * p).sum().item() for p in self.model.parameters())))
        self.last = row

    def step(self, n):
        for _ in range(n):
            self.train_step()
            if self.steps % self.eval_every == 0:
                self.evaluate()


def measure(eval_every, batch, reps, target):
    tr = Trainer(eval_every, batch)
    tr.evaluate()  # step 0, as the toy does
    tr.step(10)
    t = time.perf_counter()
    tr.step(10)
    per_step = (time.perf_counter() - t) / 10
    n = min(max(int(4 * target / per_step), 10), 200)
    n = (n + 9) // 10 * 10
    if eval_every >= 1000:  # keep every timed step before step 1000, as the Rust side does
        n = min(n, (1000 - 20) // reps // 10 * 10)
    rates = []
    for _ in range(reps):
        t = time.perf_counter()
        tr.step(n)
        rates.append(n / (time.perf_counter() - t))
    rates.sort()
    return {"steps_per_s": rates[len(rates) // 2], "min": rates[0], "max": rates[-1], "steps_per_rep": n, "reps": reps,
            "last_eval": tr.last, "steps_done": tr.steps}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tag", help="copied into every record (bench.sh: \"1 thread\")")
    args = ap.parse_args()
    timing.configure(args.quick)
    torch.set_num_threads(args.threads)
    sink = timing.Sink(args.out, args.tag)
    # The same (mode, eval_every, batch) rows as crate/benches/benchmarks/training.rs.
    for mode, eval_every, batch in (("train", 1000, BATCH), ("defaults", 10, BATCH), ("small batch", 1000, 64)):
        r = measure(eval_every, batch, timing.REPS, timing.TARGET)
        sink.record({"section": "training", "toy": "grokking", "backend": "pytorch", "mode": mode, "eval_every": eval_every,
                     "batch": batch, "threads": torch.get_num_threads(), "torch": torch.__version__, **r})
        print(f"pytorch {mode:<11} {r['steps_per_s']:8.2f} steps/s (batch {batch}, {torch.get_num_threads()} threads)", flush=True)


if __name__ == "__main__":
    main()
