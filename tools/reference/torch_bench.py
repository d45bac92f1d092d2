#!/usr/bin/env python3
"""PyTorch reference of the causalgen model, for side-by-side benchmarks.

Same architecture as DESIGN.md section 1 (pre-LN blocks, tied embedding, GELU
tanh, shift mixers with the causal running mean, or causal attention through
scaled_dot_product_attention as nanoGPT does), same AdamW/warmup/cosine/clip
recipe, trained on the same data. Runs only where PyTorch and a GPU exist.

  python3 tools/reference/torch_bench.py --data ../shared/data/tinyshakespeare.txt \
      --config small --mixer max-avg --iters 200 --mode compile

Prints one JSON line per run: tokens/s, ms/iteration, final train loss, and
(with --eval) the validation loss estimated as nanoGPT does.
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIGS = {
    "tiny": dict(n_layer=4, n_embd=128, n_head=4, block_size=64, batch_size=12, lr=1e-3, dropout=0.0),
    "small": dict(n_layer=6, n_embd=384, n_head=6, block_size=256, batch_size=64, lr=1e-3, dropout=0.2),
}


class ShiftMix(nn.Module):
    def __init__(self, kind):
        super().__init__()
        self.kind = kind

    def forward(self, h):  # (B,T,C)
        prev = torch.cat([h[:, :1], h[:, :-1]], dim=1)  # h_0 := h_1
        op = torch.maximum if self.kind.startswith("max") else torch.minimum
        m = op(h, prev)
        if self.kind.endswith("avg"):
            t = torch.arange(1, h.size(1) + 1, device=h.device, dtype=h.dtype).view(1, -1, 1)
            m = op(m, torch.cumsum(h, dim=1) / t)
        return m


class Attention(nn.Module):
    def __init__(self, c, h, dropout, bias):
        super().__init__()
        self.qkv = nn.Linear(c, 3 * c, bias=bias)
        self.h = h
        self.dropout = dropout

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q, k, v = (z.view(B, T, self.h, C // self.h).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                           dropout_p=self.dropout if self.training else 0.0)
        return y.transpose(1, 2).contiguous().view(B, T, C)


class Block(nn.Module):
    def __init__(self, mixer, c, h, dropout, bias):
        super().__init__()
        self.ln1 = nn.LayerNorm(c, bias=bias)
        self.mix = Attention(c, h, dropout, bias) if mixer == "attention" else ShiftMix(mixer)
        self.wo = nn.Linear(c, c, bias=bias)
        self.ln2 = nn.LayerNorm(c, bias=bias)
        self.fc1 = nn.Linear(c, 4 * c, bias=bias)
        self.fc2 = nn.Linear(4 * c, c, bias=bias)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        x = x + self.drop(self.wo(self.mix(self.ln1(x))))
        return x + self.drop(self.fc2(F.gelu(self.fc1(self.ln2(x)), approximate="tanh")))


class GPT(nn.Module):
    def __init__(self, vocab, mixers, c, h, T, dropout, bias=True, pos_emb=None):
        super().__init__()
        pos_emb = ("attention" in mixers) if pos_emb is None else pos_emb
        self.wte = nn.Embedding(vocab, c)
        self.wpe = nn.Embedding(T, c) if pos_emb else None
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(m, c, h, dropout, bias) for m in mixers)
        self.lnf = nn.LayerNorm(c, bias=bias)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                nn.init.normal_(p, 0.0, 0.02)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def forward(self, idx, targets):
        x = self.wte(idx)
        if self.wpe is not None:
            x = x + self.wpe(torch.arange(idx.size(1), device=idx.device))
        x = self.drop(x)
        for b in self.blocks:
            x = b(x)
        logits = self.lnf(x) @ self.wte.weight.t()
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--config", default="small", choices=CONFIGS)
    ap.add_argument("--mixer", default="max-avg")
    ap.add_argument("--iters", type=int, default=200)
    ap.add_argument("--warmup-iters", type=int, default=20, help="untimed iterations first")
    ap.add_argument("--mode", default="compile", choices=["eager", "compile"])
    ap.add_argument("--dtype", default="bf16", choices=["bf16", "f32"])
    ap.add_argument("--eval", action="store_true", help="estimate val loss at the end (200 batches)")
    ap.add_argument("--total-iters", type=int, default=None,
                    help="schedule length for warmup+cosine (default: --iters)")
    ap.add_argument("--seed", type=int, default=1337)
    a = ap.parse_args()

    cfg = CONFIGS[a.config]
    torch.manual_seed(a.seed)
    text = open(a.data, encoding="utf-8").read()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    n = int(0.9 * len(data))
    train, val = data[:n], data[n:]
    dev = "cuda"
    B, T = cfg["batch_size"], cfg["block_size"]
    mixers = a.mixer.split(",") if "," in a.mixer else [a.mixer] * cfg["n_layer"]

    def batch(split):
        d = train if split == "train" else val
        ix = torch.randint(len(d) - T - 1, (B,))
        x = torch.stack([d[i:i + T] for i in ix])
        y = torch.stack([d[i + 1:i + T + 1] for i in ix])
        return x.pin_memory().to(dev, non_blocking=True), y.pin_memory().to(dev, non_blocking=True)

    model = GPT(len(chars), mixers, cfg["n_embd"], cfg["n_head"], T, cfg["dropout"]).to(dev)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=cfg["lr"], betas=(0.9, 0.99), fused=True)
    total = a.total_iters or a.iters
    lr_min = cfg["lr"] / 10

    def lr_at(it):
        if it < 100:
            return cfg["lr"] * (it + 1) / 100
        r = min(1.0, (it - 100) / max(1, total - 100))
        return lr_min + 0.5 * (1 + math.cos(math.pi * r)) * (cfg["lr"] - lr_min)

    step_model = torch.compile(model) if a.mode == "compile" else model
    amp = torch.autocast("cuda", dtype=torch.bfloat16, enabled=a.dtype == "bf16")

    def step(it):
        for g in opt.param_groups:
            g["lr"] = lr_at(it)
        x, y = batch("train")
        with amp:
            loss = step_model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    model.train()
    for it in range(a.warmup_iters):
        step(it)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for it in range(a.warmup_iters, a.warmup_iters + a.iters):
        loss = step(it)
    torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    out = dict(impl=f"pytorch-{a.mode}", config=a.config, mixer=a.mixer, dtype=a.dtype,
               iters=a.iters, tokens_per_s=round(a.iters * B * T / dt),
               ms_per_iter=round(1000 * dt / a.iters, 3), train_loss=round(loss.item(), 4),
               torch=torch.__version__, device=torch.cuda.get_device_name())
    if a.eval:
        model.eval()
        with torch.no_grad(), amp:
            losses = [model(*batch("val")).item() for _ in range(200)]
        out["val_loss"] = round(sum(losses) / len(losses), 4)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
