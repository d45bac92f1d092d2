#!/usr/bin/env python3
"""The CPU trainer against a nanoGPT model in PyTorch, on the same weights
and batches (issue 13: "make the baseline fair").

reference_dump (tests/train/reference_dump.cpp) writes what the CPU trainer
computes in its first steps; this script builds nanoGPT's model (its
model.py's module names and arithmetic: c_attn, c_proj, c_fc, softmax scaled
by 1/sqrt(head size), causal mask, dropout after the embeddings, on the
attention weights, after each residual branch; lm_head tied to wte),
loads the trainer's weights into it and checks:

  init      every tensor's initialisation: N(0, 0.02) for wte, wpe and every
            Linear weight, N(0, 0.02/sqrt(2 n_layer)) for the two c_proj,
            LayerNorm weights 1, biases 0;
  decay     weight decay on exactly nanoGPT's set: parameters of dim >= 2;
  schedule  the learning rate of every step against nanoGPT's get_lr;
  grads     per step, the loss and every tensor's gradient against PyTorch
            in float64 (the trainer's dropout masks applied, when dropout > 0);
  adamw     per step, the parameters after clipping and AdamW against
            torch.nn.utils.clip_grad_norm_ and torch.optim.AdamW (nanoGPT's
            two parameter groups), from the same parameters and gradients.

Tolerances (stated once, below): float32 against float64 over a whole model.

  torch_reference.py --dump EXE [--gelu tanh|erf] [--keep DIR] [--verbose]

Exit 0: every check passed; 1: a check failed; 77: PyTorch is not importable
(ctest reports the test skipped).
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as e:
    print(f"torch_reference: skipped: PyTorch is not importable by {sys.executable} ({e})")
    sys.exit(77)

# Tolerances. Gradients: relative error of a tensor's whole gradient,
# |g_trainer - g_torch64| / |g_torch64| (2-norms); the trainer's float32
# arithmetic gives at most 9e-7 here; nanoGPT's erf GELU in place of the tanh
# form gives 1e-4 at these initial weights (--gelu erf), a wrong formula
# 1e-2 or more. Loss: relative (float32 gives 2e-9). AdamW: the
# parameters after the step, |p_trainer - p_torch64| / |update| per tensor,
# where float32 rounding of p (1 ulp of LayerNorm weights is 1% of the first
# steps' update) is the floor: 2e-3 measured. Init: the sample std within 5% (every tensor
# has >= 8,320 values: the sample std's own error is < 1%), the mean within
# 5 standard errors.
GRAD_TOL = 1e-5
LOSS_TOL = 1e-5
ADAMW_TOL = 0.03
INIT_STD_TOL = 0.05


# ------------------------------------------------------------------- dump
def read_dump(path):
    with open(path, 'rb') as f:
        header = json.loads(f.readline())
        arrays = {}
        for a in header['arrays']:
            dtype = {'f32': np.float32, 'f64': np.float64, 'u32': np.uint32, 'u8': np.uint8}[a['type']]
            arrays[a['name']] = np.frombuffer(f.read(a['count'] * np.dtype(dtype).itemsize), dtype)
        if f.read(1):
            raise ValueError(f"{path}: bytes after the last array")
    return header, arrays


# ------------------------------------------------------------------- model
class Model(torch.nn.Module):
    """nanoGPT's GPT (model.py) with a mixer per layer: 'attention' is its
    CausalSelfAttention; 'max' is max(h_t, h_{t-1}) (h_{-1} = h_0), a
    parameter-free mixer whose output goes through the same c_proj."""

    def __init__(self, cfg, V, gelu):
        super().__init__()
        C, L, T, bias = cfg['n_embd'], cfg['n_layer'], cfg['block_size'], cfg['bias']
        mixers = cfg['mixer'] if isinstance(cfg['mixer'], list) else [cfg['mixer']] * L
        self.C, self.H, self.mixers, self.gelu = C, cfg['n_head'], mixers, gelu
        self.wte = torch.nn.Embedding(V, C)
        self.wpe = torch.nn.Embedding(T, C) if cfg['pos_emb'] else None
        self.h = torch.nn.ModuleList()
        for m in mixers:
            blk = torch.nn.Module()
            blk.ln_1 = torch.nn.LayerNorm(C)  # eps 1e-5, as nanoGPT's
            if m == 'attention':
                blk.c_attn = torch.nn.Linear(C, 3 * C, bias=bias)
            elif m != 'max':
                raise ValueError(f"mixer {m}: this reference has attention and max")
            blk.c_proj = torch.nn.Linear(C, C, bias=bias)
            blk.ln_2 = torch.nn.LayerNorm(C)
            blk.c_fc = torch.nn.Linear(C, 4 * C, bias=bias)
            blk.mlp_proj = torch.nn.Linear(4 * C, C, bias=bias)
            self.h.append(blk)
        self.ln_f = torch.nn.LayerNorm(C)
        if not bias:  # nanoGPT's LayerNorm(bias=False): no bias parameter
            for ln in [self.ln_f] + [x for b in self.h for x in (b.ln_1, b.ln_2)]:
                ln.bias = None
        # lm_head is wte (tied): logits = ln_f(x) @ wte^T

    def forward(self, idx, targets, masks=None, p=0.0):
        def drop(x, name):
            return x if masks is None else x * masks[name].view(x.shape).to(x.dtype) / (1 - p)

        B, T = idx.shape
        C, H = self.C, self.H
        x = self.wte(idx)
        if self.wpe is not None:
            x = x + self.wpe(torch.arange(T))
        x = drop(x, 'emb')
        for l, (blk, kind) in enumerate(zip(self.h, self.mixers)):
            h = blk.ln_1(x)
            if kind == 'attention':
                q, k, v = blk.c_attn(h).split(C, dim=2)
                q, k, v = (t.view(B, T, H, C // H).transpose(1, 2) for t in (q, k, v))
                att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
                causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
                att = F.softmax(att.masked_fill(~causal, float('-inf')), dim=-1)
                att = drop(att, f'l{l}.att')
                m = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
            else:
                prev = torch.cat([h[:, :1], h[:, :-1]], dim=1)
                m = torch.maximum(h, prev)
            x = x + drop(blk.c_proj(m), f'l{l}.proj')
            f = F.gelu(blk.c_fc(blk.ln_2(x)), approximate='tanh' if self.gelu == 'tanh' else 'none')
            x = x + drop(blk.mlp_proj(f), f'l{l}.mlp')
        logits = self.ln_f(x) @ self.wte.weight.t()
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))

    def by_trainer_name(self):
        """The trainer's tensor names (causalgen/tensors.hpp) -> parameters."""
        m = {'wte': self.wte.weight, 'lnf.w': self.ln_f.weight, 'lnf.b': self.ln_f.bias}
        if self.wpe is not None:
            m['wpe'] = self.wpe.weight
        for l, b in enumerate(self.h):
            p = f'l{l}.'
            m.update({p + 'ln1.w': b.ln_1.weight, p + 'ln1.b': b.ln_1.bias,
                      p + 'wo': b.c_proj.weight, p + 'wo.b': b.c_proj.bias,
                      p + 'ln2.w': b.ln_2.weight, p + 'ln2.b': b.ln_2.bias,
                      p + 'fc1.w': b.c_fc.weight, p + 'fc1.b': b.c_fc.bias,
                      p + 'fc2.w': b.mlp_proj.weight, p + 'fc2.b': b.mlp_proj.bias})
            if hasattr(b, 'c_attn'):
                m.update({p + 'attn.wqkv': b.c_attn.weight, p + 'attn.bqkv': b.c_attn.bias})
        return {k: v for k, v in m.items() if v is not None}


def load(model, tensors, flat):
    named = model.by_trainer_name()
    if sorted(named) != sorted(t['name'] for t in tensors):
        raise ValueError(f"tensor names differ: trainer {[t['name'] for t in tensors]} vs {sorted(named)}")
    with torch.no_grad():
        for t in tensors:
            p = named[t['name']]
            p.copy_(torch.from_numpy(flat[t['offset']:t['offset'] + p.numel()].astype(np.float64)).view_as(p))


def piece(flat, t, like):
    return torch.from_numpy(flat[t['offset']:t['offset'] + like.numel()].astype(np.float64)).view_as(like)


def nanogpt_lr(it, c):  # nanoGPT train.py's get_lr, from its description
    lr, min_lr, warmup, decay = c['learning_rate'], c['min_lr'], c['warmup_iters'], c['lr_decay_iters']
    if it < warmup:
        return lr * (it + 1) / (warmup + 1)
    if it > decay:
        return min_lr
    ratio = (it - warmup) / (decay - warmup)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (lr - min_lr)


def rel(a, b):
    return float((a - b).norm() / max(float(b.norm()), 1e-30))


# ------------------------------------------------------------------- checks
class Checks:
    def __init__(self, verbose):
        self.failed, self.verbose, self.worst = [], verbose, {}

    def expect(self, ok, what, detail=''):
        if not ok:
            self.failed.append(f"{what}: {detail}")
        if self.verbose or not ok:
            print(f"  {'ok  ' if ok else 'FAIL'} {what} {detail}")

    def note(self, kind, x):
        self.worst[kind] = max(self.worst.get(kind, 0.0), x)


def check_init(ck, model, tensors, flat, cfg):
    proj_std = 0.02 / math.sqrt(2 * cfg['n_layer'])
    named = model.by_trainer_name()
    for t in tensors:
        v = piece(flat, t, named[t['name']]).flatten()
        n = t['name']
        if n.endswith('ln1.w') or n.endswith('ln2.w') or n == 'lnf.w':
            ck.expect(bool((v == 1).all()), f"init {n}", "LayerNorm weight = 1")
        elif named[n].dim() == 1:
            ck.expect(bool((v == 0).all()), f"init {n}", "bias = 0")
        else:
            want = proj_std if n.endswith('.wo') or n.endswith('fc2.w') else 0.02
            std, mean = float(v.std()), float(v.mean())
            ck.expect(abs(std / want - 1) < INIT_STD_TOL and abs(mean) < 5 * want / math.sqrt(v.numel()),
                      f"init {n}", f"std {std:.5f} (nanoGPT {want:.5f}), mean {mean:.2e}")


def check_decay(ck, model, tensors):
    named = model.by_trainer_name()
    for t in tensors:
        want = named[t['name']].dim() >= 2  # nanoGPT's configure_optimizers
        ck.expect(t['decay'] == want, f"decay {t['name']}", f"trainer {t['decay']}, nanoGPT {want}")


def check_schedule(ck, lr, cfg):
    worst = max(abs(lr[i] - nanogpt_lr(i, cfg)) / cfg['learning_rate'] for i in range(len(lr)))
    ck.expect(worst < 1e-12, "schedule", f"{len(lr)} steps, worst |lr - nanoGPT| / lr = {worst:.1e}")


def check_step(ck, model, tensors, header, arrays, s, gelu_note):
    cfg = header['config']
    B, T = cfg['batch_size'], cfg['block_size']
    k = f"step{s}."
    named = model.by_trainer_name()
    load(model, tensors, arrays['params.init'] if s == 0 else arrays[f"step{s - 1}.params"])
    x = torch.from_numpy(arrays[k + 'x'].astype(np.int64)).view(B, T)
    y = torch.from_numpy(arrays[k + 'y'].astype(np.int64)).view(B, T)
    masks = None
    if cfg['dropout'] > 0:
        masks = {n[len(k) + 5:]: torch.from_numpy(a.astype(np.float64))
                 for n, a in arrays.items() if n.startswith(k + 'mask.')}
    model.zero_grad()
    loss = model(x, y, masks, cfg['dropout'])
    loss.backward()
    want = float(loss)
    got = header['losses'][s]
    ck.note('loss', abs(got - want) / want)
    ck.expect(abs(got - want) / want < LOSS_TOL, f"step {s} loss",
              f"trainer {got:.7f}, PyTorch {want:.7f}{gelu_note}")
    grads = arrays[k + 'grads']
    for t in tensors:
        p = named[t['name']]
        e = rel(piece(grads, t, p), p.grad)
        ck.note('grad', e)
        ck.expect(e < GRAD_TOL, f"step {s} grad {t['name']}", f"relative error {e:.1e}")
    check_adamw(ck, model, tensors, arrays, cfg, s)


def check_adamw(ck, model, tensors, arrays, cfg, s):
    """One clip + AdamW step in float64 from the trainer's parameters before
    and its gradients; the optimizer (and its moments) lives from step 0 on,
    on the same parameter objects, which load() refills in place."""
    named = model.by_trainer_name()
    grads = arrays[f"step{s}.grads"]
    with torch.no_grad():
        for t in tensors:
            named[t['name']].grad = piece(grads, t, named[t['name']]).clone()
    params = list(named.values())
    torch.nn.utils.clip_grad_norm_(params, cfg['grad_clip'])
    if s == 0:
        decay = [p for p in params if p.dim() >= 2]
        rest = [p for p in params if p.dim() < 2]
        ck.opt = torch.optim.AdamW([{'params': decay, 'weight_decay': cfg['weight_decay']},
                                    {'params': rest, 'weight_decay': 0.0}],
                                   lr=cfg['learning_rate'], betas=(cfg['beta1'], cfg['beta2']), eps=1e-8)
    for g in ck.opt.param_groups:
        g['lr'] = nanogpt_lr(s, cfg)
    before = {n: p.detach().clone() for n, p in named.items()}
    ck.opt.step()
    after = arrays[f"step{s}.params"]
    for t in tensors:
        n = t['name']
        p = named[n].detach()
        update = p - before[n]
        e = float((piece(after, t, p) - p).norm() / max(float(update.norm()), 1e-30))
        ck.note('adamw', e)
        ck.expect(e < ADAMW_TOL, f"step {s} adamw {n}", f"|p - p_torch| / |update| = {e:.1e}")


def run_case(args, name, steps, settings, data):
    print(f"{name}: {' '.join(settings)}")
    with tempfile.TemporaryDirectory(prefix='causalgen_torch_ref_') as tmp:
        out = os.path.join(args.keep or tmp, name.replace(' ', '_') + '.dump')
        cmd = [args.dump, out, str(steps)] + (['--data', data] if data else []) + settings
        subprocess.run(cmd, check=True)
        header, arrays = read_dump(out)
    cfg = header['config']
    torch.manual_seed(0)
    model = Model(cfg, header['vocab_size'], args.gelu).double()
    tensors = header['tensors']
    ck = Checks(args.verbose)
    check_init(ck, model, tensors, arrays['params.init'], cfg)
    check_decay(ck, model, tensors)
    check_schedule(ck, arrays['lr'], cfg)
    note = '' if args.gelu == 'tanh' else ' (GELU erf)'
    for s in range(steps):
        check_step(ck, model, tensors, header, arrays, s, note)
    print(f"  {len(tensors)} tensors, {steps} steps, {header['threads']} threads: worst relative error "
          + ', '.join(f"{k} {v:.1e}" for k, v in ck.worst.items())
          + f" (tolerances: loss {LOSS_TOL:g}, grad {GRAD_TOL:g}, adamw {ADAMW_TOL:g})")
    return ck.failed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--dump', required=True, help='the reference_dump executable')
    ap.add_argument('--data', help='a text to draw the batches from (default: seeded random text)')
    ap.add_argument('--gelu', choices=['tanh', 'erf'], default='tanh',
                    help="PyTorch's GELU: tanh (the trainer's, DESIGN.md) or erf (nanoGPT's nn.GELU())")
    ap.add_argument('--keep', help='keep the dumps in this folder')
    ap.add_argument('--verbose', action='store_true')
    args = ap.parse_args()
    torch.set_num_threads(1)
    cases = [
        ('attention', 3, ['mixer=attention', 'threads=2']),
        ('attention dropout', 2, ['mixer=attention', 'dropout=0.2', 'threads=2']),
        ('hybrid no bias', 2, ['mixer=attention,max,max,attention', 'bias=off', 'dropout=0.1', 'threads=1']),
        ('max', 2, ['mixer=max', 'threads=2']),
    ]
    failed = []
    for name, steps, settings in cases:
        failed += [f"{name}: {f}" for f in run_case(args, name, steps, ['base=tiny'] + settings, args.data)]
    if failed:
        print(f"torch_reference: {len(failed)} check(s) failed:\n  " + '\n  '.join(failed[:20]))
        return 1
    print("torch_reference: the CPU trainer agrees with nanoGPT's model in PyTorch")
    return 0


if __name__ == '__main__':
    sys.exit(main())
