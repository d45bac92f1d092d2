#!/usr/bin/env python3
"""An independent reader of causalgen model files, written from
docs/model-format.md alone (Python 3 standard library, no numpy).

It parses a model file, checks every field and the CRC, runs the forward pass
and the generation state of the document in emulated float32 (every operation
rounded to float32 in the document's order), and compares with the C++ core:
the logits of a prompt (tests/format/emit_logits), greedy text
(`causalgen generate --temperature 0`) and sampled text (PCG32, temperature,
top-k, top-p). Section numbers (§) refer to the document.

  read_model.py --causalgen EXE --emit EXE --model SHIPPED.cgm --work DIR

Checks: the shipped f32 model and its int8 conversion, and random models with
attention, position embedding, every mixer, no bias and widths that are not
multiples of 8 (f32 and int8, group sizes 8 and 64). Pass: every logit the
same float32 as the core's (the document specifies the arithmetic exactly;
a looser reader would aim for 1e-4 absolute), and the greedy text identical.
"""
import argparse
import binascii
import math
import os
import struct
import subprocess
import sys
from array import array
from itertools import repeat
from operator import add, mul, sub

# ---------------------------------------------------------------- float32
_one = array('f', [0.0])


def f(x):  # §5: every operation rounded to float32
    """x rounded to float32 (round to nearest even)."""
    _one[0] = x
    return _one[0]


def fv(values):
    """Each value rounded to float32 (an array('f'))."""
    return array('f', values)


F_EPS = f(1e-5)

# ---------------------------------------------------------------- file
MIXERS = {0: 'max', 1: 'min', 2: 'max-avg', 3: 'min-avg', 4: 'attention', 5: 'ema', 6: 'max-ema', 7: 'mingru',
          8: 'local'}
INT8_NAMES = ('attn.wqkv', 'mingru.w', 'wo', 'fc1.w', 'fc2.w')


class FormatError(Exception):
    pass


def u32(b, o):
    return struct.unpack_from('<I', b, o)[0]


def u64(b, o):
    return struct.unpack_from('<Q', b, o)[0]


def align(v, a):
    return (v + a - 1) // a * a


class Tensor:
    def __init__(self, name, dtype, rows, cols, group, data, scales=None):
        self.name, self.dtype, self.rows, self.cols, self.group = name, dtype, rows, cols, group
        self.data = data          # f32: array('f') rows*cols; int8: array('b') rows*cols
        self.scales = scales      # int8: array('f') ng*rows, group-major
        self._columns = None

    def at(self, r, c):
        """W[r][c] as float32 (int8: value * scale, rounded to float32)."""
        v = self.data[r * self.cols + c]
        if self.dtype == 0:
            return v
        return f(float(v) * self.scales[(c // self.group) * self.rows + r])

    def row(self, r):
        return [self.at(r, c) for c in range(self.cols)]

    def columns(self):
        if self._columns is None:
            self._columns = [self.data[c::self.cols] for c in range(self.cols)]
        return self._columns


def canonical_tensors(cfg):
    """§3: (name, rows, cols) of every tensor, in the canonical order."""
    V, T, C, bias = cfg['V'], cfg['T'], cfg['C'], cfg['bias']
    out = [('wte', V, C)]
    if cfg['pos_emb']:
        out.append(('wpe', T, C))
    for l, mixer in enumerate(cfg['mixers']):
        p = 'l%d.' % l
        out.append((p + 'ln1.w', 1, C))
        if bias:
            out.append((p + 'ln1.b', 1, C))
        if mixer in ('attention', 'local'):
            out.append((p + 'attn.wqkv', 3 * C, C))
            if bias:
                out.append((p + 'attn.bqkv', 1, 3 * C))
        if mixer == 'mingru':
            out.append((p + 'mingru.w', 2 * C, C))
            if bias:
                out.append((p + 'mingru.b', 1, 2 * C))
        out.append((p + 'wo', C, C))
        if bias:
            out.append((p + 'wo.b', 1, C))
        out.append((p + 'ln2.w', 1, C))
        if bias:
            out.append((p + 'ln2.b', 1, C))
        out.append((p + 'fc1.w', 4 * C, C))
        if bias:
            out.append((p + 'fc1.b', 1, 4 * C))
        out.append((p + 'fc2.w', C, 4 * C))
        if bias:
            out.append((p + 'fc2.b', 1, C))
    out.append(('lnf.w', 1, C))
    if bias:
        out.append(('lnf.b', 1, C))
    return out


def may_be_int8(name):
    return name in ('wte', 'wpe') or (name.startswith('l') and name.split('.', 1)[1] in INT8_NAMES)


def parse(b):
    """§1 - §4. The model in file bytes b: {'cfg', 'vocab', 'tensors'}; FormatError if invalid."""
    def need(cond, msg):
        if not cond:
            raise FormatError(msg)
    need(len(b) >= 68 and b[0:4] == b'CGLM', 'not a model file')
    need(u32(b, 4) == 1, 'version %d' % u32(b, 4))
    need(u64(b, 8) == len(b), 'file_size %d, file is %d bytes' % (u64(b, 8), len(b)))
    crc = binascii.crc32(b[:-4]) & 0xFFFFFFFF
    need(crc == u32(b, len(b) - 4), 'CRC-32 %08x, stored %08x' % (crc, u32(b, len(b) - 4)))
    need(u32(b, 16) == 64, 'header_size')
    V, T, L, C, H, flags, n_tensors = struct.unpack_from('<7I', b, 20)
    mixers_off, vocab_off, dir_off, data_off = struct.unpack_from('<4I', b, 48)
    need(flags & ~3 == 0, 'unknown flags')
    need(1 <= V <= 65536 and 1 <= T <= 65536 and 1 <= L <= 64 and 1 <= C <= 8192, 'config out of range')
    need(mixers_off == 64, 'mixers offset')
    codes = list(b[mixers_off:mixers_off + L])
    need(all(c in MIXERS for c in codes), 'mixer code')
    cfg = dict(V=V, T=T, L=L, C=C, H=H, bias=bool(flags & 1), pos_emb=bool(flags & 2),
               mixers=[MIXERS[c] for c in codes])
    if 'attention' in cfg['mixers'] or 'local' in cfg['mixers']:
        need(1 <= H <= C and C % H == 0, 'n_head does not divide n_embd')
    table_end = align(64 + L, 4)  # §2: the window table, only with a local layer
    cfg['window'] = [0] * L
    if 'local' in cfg['mixers']:
        cfg['window'] = list(struct.unpack_from('<%dI' % L, b, table_end))
        for l, (mixer, wl) in enumerate(zip(cfg['mixers'], cfg['window'])):
            need(1 <= wl <= T if mixer == 'local' else wl == 0, 'layer %d (%s): window %d' % (l, mixer, wl))
        table_end += 4 * L
    need(vocab_off == table_end, 'vocab offset')
    need(dir_off == align(vocab_off + 4 * V, 8), 'directory offset')
    need(data_off == align(dir_off + 64 * n_tensors, 64), 'data offset')
    pad_end = align(64 + L, 4)
    need(b[mixers_off + L:pad_end] == bytes(pad_end - mixers_off - L), 'padding after the mixer table')
    need(b[vocab_off + 4 * V:dir_off] == bytes(dir_off - vocab_off - 4 * V), 'padding after the vocabulary')
    vocab = list(struct.unpack_from('<%dI' % V, b, vocab_off))
    for i, cp in enumerate(vocab):
        need(cp <= 0x10FFFF and not 0xD800 <= cp <= 0xDFFF, 'vocab entry %d not a code point' % i)
        need(i == 0 or cp > vocab[i - 1], 'vocab not strictly ascending')
    specs = canonical_tensors(cfg)
    need(n_tensors == len(specs), 'n_tensors %d, config implies %d' % (n_tensors, len(specs)))
    need(b[dir_off + 64 * n_tensors:data_off] == bytes(data_off - dir_off - 64 * n_tensors), 'padding before data')
    tensors, cursor, groups = {}, data_off, set()
    for i, (name, rows, cols) in enumerate(specs):
        e = dir_off + 64 * i
        raw = b[e:e + 32]
        need(b'\0' in raw and raw.rstrip(b'\0') == name.encode() and raw[len(name):] == bytes(32 - len(name)),
             'entry %d is %r, expected %s' % (i, raw, name))
        dtype, r, c, group = struct.unpack_from('<4I', b, e + 32)
        off, nbytes = struct.unpack_from('<2Q', b, e + 48)
        need((r, c) == (rows, cols), '%s shape %dx%d, expected %dx%d' % (name, r, c, rows, cols))
        need(off == align(cursor, 64), '%s offset %d, expected %d' % (name, off, align(cursor, 64)))
        need(b[cursor:off] == bytes(off - cursor), 'padding before %s' % name)
        if dtype == 0:
            need(group == 0 and nbytes == 4 * rows * cols, '%s: f32 size/group' % name)
            data = array('f', b[off:off + nbytes])
            if sys.byteorder == 'big':
                data.byteswap()
            need(all(math.isfinite(x) for x in data), '%s: a value is not finite' % name)
            tensors[name] = Tensor(name, 0, rows, cols, 0, data)
        else:
            need(dtype == 1 and may_be_int8(name), '%s: dtype %d' % (name, dtype))
            need(1 <= group <= 65536, '%s: group %d' % (name, group))
            groups.add(group)
            ng = (cols + group - 1) // group
            sc_off = align(rows * cols, 64)
            need(nbytes == sc_off + 4 * rows * ng, '%s: int8 size' % name)
            values = array('b', b[off:off + rows * cols])
            need(-128 not in values, '%s: an int8 value is -128' % name)
            need(b[off + rows * cols:off + sc_off] == bytes(sc_off - rows * cols), '%s: padding' % name)
            scales = array('f', b[off + sc_off:off + nbytes])
            if sys.byteorder == 'big':
                scales.byteswap()
            need(all(math.isfinite(s) and math.copysign(1.0, s) > 0 for s in scales), '%s: scale' % name)
            tensors[name] = Tensor(name, 1, rows, cols, group, values, scales)
        cursor = off + nbytes
    need(len(groups) <= 1, 'int8 tensors with different group sizes')
    need(cursor + 4 == len(b), 'data ends at %d, CRC expected at %d' % (cursor, len(b) - 4))
    return dict(cfg=cfg, vocab=vocab, tensors=tensors)


# ---------------------------------------------------------------- kernels
def reduce8(a):  # §5.1
    return f(f(f(a[0] + a[1]) + f(a[2] + a[3])) + f(f(a[4] + a[5]) + f(a[6] + a[7])))


def dot(a, b, n):
    acc = [0.0] * 8
    for i in range(n):
        acc[i % 8] = f(acc[i % 8] + f(a[i] * b[i]))
    return reduce8(acc)


def vsum(x):
    acc = [0.0] * 8
    for i, v in enumerate(x):
        acc[i % 8] = f(acc[i % 8] + v)
    return reduce8(acc)


def matvec_f32(W, x):
    """W x for an f32 tensor: each row a dot(), computed for all rows at once."""
    acc = [fv(repeat(0.0, W.rows)) for _ in range(8)]
    for c, col in enumerate(W.columns()):
        lane = c % 8
        acc[lane] = fv(map(add, acc[lane], fv(map(mul, col, repeat(x[c])))))
    s01, s23 = fv(map(add, acc[0], acc[1])), fv(map(add, acc[2], acc[3]))
    s45, s67 = fv(map(add, acc[4], acc[5])), fv(map(add, acc[6], acc[7]))
    return fv(map(add, fv(map(add, s01, s23)), fv(map(add, s45, s67))))


def quantize_vector(x):
    """§5.4: (q, scale): the input quantization of an int8 product."""
    amax = 0.0
    for v in x:
        amax = max(amax, abs(v))
    if amax == 0.0:
        return [0] * len(x), 0.0
    inv = f(127.0 / amax)
    q = []
    for v in x:
        y = f(v * inv)
        q.append(int(f(y + (0.5 if y >= 0.0 else -0.5))))  # int(): toward zero
    return q, f(amax / 127.0)


def matvec_q8(W, x):
    """W x (no bias) for an int8 tensor."""
    q, xs = quantize_vector(x)
    G, rows, cols = W.group, W.rows, W.cols
    ng = (cols + G - 1) // G
    out = []
    for r in range(rows):
        base = r * cols
        acc = 0.0
        for g in range(ng):
            c0, c1 = g * G, min(cols, g * G + G)
            isum = sum(map(mul, W.data[base + c0:base + c1], q[c0:c1]))
            acc = f(acc + f(f(float(isum)) * W.scales[g * rows + r]))
        out.append(f(acc * xs))
    return out


def linear(W, bias, x):
    y = matvec_f32(W, x) if W.dtype == 0 else matvec_q8(W, x)
    if bias is not None:
        y = fv(map(add, y, bias.data))
    return y


def layernorm(x, w, b):  # §5.2
    n = len(x)
    inv_n = f(1.0 / n)
    mean = f(vsum(x) * inv_n)
    d = fv(map(sub, x, repeat(mean)))
    var = f(vsum(fv(map(mul, d, d))) * inv_n)
    rstd = f(1.0 / f(math.sqrt(f(var + F_EPS))))
    y = fv(map(mul, fv(map(mul, d, repeat(rstd))), w.data))
    return fv(map(add, y, b.data)) if b is not None else y


LN2_HI, LN2_LO, LOG2E = f(0.693359375), f(-2.12194440e-4), f(1.44269504)
EXP_COEF = [f(1.0 / 5040.0), f(1.0 / 720.0), f(1.0 / 120.0), f(1.0 / 24.0), f(1.0 / 6.0), 0.5, 1.0, 1.0]
EXP_HI, EXP_LO = f(88.72283), f(-103.97208)


def exp32(x):  # §5.3
    if x != x:
        return x
    if x > EXP_HI:
        return math.inf
    if x < EXP_LO:
        return 0.0
    t = f(x * LOG2E)
    n = int(f(t + 0.5)) if t >= 0.0 else int(f(t - 0.5))
    r = f(f(x - f(n * LN2_HI)) - f(n * LN2_LO))
    p = EXP_COEF[0]
    for c in EXP_COEF[1:]:
        p = f(f(p * r) + c)
    n1 = int(n / 2)
    return f(f(p * 2.0 ** n1) * 2.0 ** (n - n1))


def tanh32(x):
    a = abs(x)
    t = 1.0 if a > 9.0 else f(1.0 - f(2.0 / f(exp32(f(2.0 * a)) + 1.0)))
    return -t if x < 0.0 else t


GELU_K, GELU_C = f(0.7978845608), f(0.044715)


def gelu(x):
    u = f(GELU_K * f(x + f(GELU_C * f(f(x * x) * x))))
    return f(f(0.5 * x) * f(1.0 + tanh32(u)))


RoPE_LN_BASE, RoPE_INV_2PI, RoPE_X = f(9.21034037), f(0.159154943), f(6.28318531) / 2 ** 26
SIN_COEF = [f(2.75573192e-6), f(-1.98412698e-4), f(8.33333333e-3), f(-0.166666667)]
COS_COEF = [f(2.48015873e-5), f(-1.38888889e-3), f(4.16666667e-2), f(-0.5)]


def cos_sin(phase):  # §6.7: phase in 2^-64 turns
    q = ((phase + (1 << 61)) % (1 << 64)) >> 62
    r = (phase - (q << 62)) % (1 << 64)
    r = r - (1 << 64) if r >= 1 << 63 else r
    x = f(float(r >> 38) * RoPE_X)
    x2 = f(x * x)
    ps, pc = SIN_COEF[0], COS_COEF[0]
    for c in SIN_COEF[1:]:
        ps = f(f(ps * x2) + c)
    for c in COS_COEF[1:]:
        pc = f(f(pc * x2) + c)
    sn, cs = f(x + f(f(x * x2) * ps)), f(1.0 + f(x2 * pc))
    return [(cs, sn), (-sn, cs), (-cs, -sn), (sn, -cs)][q]


def rope(t, hs):
    """Cosines and sines of the head's pairs at position t."""
    cs, sn = [], []
    for j in range(hs // 2):
        a = f(float(2 * j) / float(hs))
        turns = f(exp32(-f(a * RoPE_LN_BASE)) * RoPE_INV_2PI)
        c, s = cos_sin((t * int(turns * 2 ** 64)) % (1 << 64))
        cs.append(c)
        sn.append(s)
    return cs, sn


def rotate(v, H, cs, sn):
    """Pairs (2j, 2j+1) of each head rotated (an odd head's last channel stays)."""
    v, hs = list(v), len(v) // H
    for o in range(0, len(v), hs):
        for j in range(hs // 2):
            a, b = v[o + 2 * j], v[o + 2 * j + 1]
            v[o + 2 * j] = f(f(a * cs[j]) - f(b * sn[j]))
            v[o + 2 * j + 1] = f(f(a * sn[j]) + f(b * cs[j]))
    return v


# ---------------------------------------------------------------- model
class State:
    """§6 and §7, the generation state: feed() one token, then .logits."""

    def __init__(self, model):
        self.m = model
        cfg = model['cfg']
        self.cfg = cfg
        self.t = model['tensors']
        self.window_limited = cfg['pos_emb'] or 'attention' in cfg['mixers']
        self.history = []
        self.reset()

    def reset(self):
        C = self.cfg['C']
        self.window_len = 0
        self.layers = [dict(prev=None, sum=[0.0] * C, comp=[0.0] * C, a=[0.0] * C, k=[], v=[])
                       for _ in self.cfg['mixers']]

    def w(self, name):
        return self.t.get(name)

    def embed(self, token, pos):  # §6.1
        te = self.t['wte'].row(token)
        if not self.cfg['pos_emb']:
            return fv(te)
        return fv(map(add, te, self.t['wpe'].row(pos)))

    def step(self, token, pos):
        cfg, C = self.cfg, self.cfg['C']
        x = self.embed(token, pos)
        for l, mixer in enumerate(cfg['mixers']):
            p, ls = 'l%d.' % l, self.layers[l]
            h = layernorm(x, self.w(p + 'ln1.w'), self.w(p + 'ln1.b'))
            if mixer == 'attention':
                qkv = linear(self.w(p + 'attn.wqkv'), self.w(p + 'attn.bqkv'), h)
                q = qkv[0:C]
                del ls['k'][pos:], ls['v'][pos:]
                ls['k'].append(qkv[C:2 * C])
                ls['v'].append(qkv[2 * C:3 * C])
                m = self.attention(q, ls['k'], ls['v'], cfg['H'])
            elif mixer == 'local':
                m = self.local(linear(self.w(p + 'attn.wqkv'), self.w(p + 'attn.bqkv'), h), ls,
                               cfg['window'][l], cfg['H'])
            elif mixer == 'mingru':
                m = self.mingru(linear(self.w(p + 'mingru.w'), self.w(p + 'mingru.b'), h), ls)
            elif mixer in ('ema', 'max-ema'):
                prev = h if self.window_len == 0 else ls['prev']
                m = self.ema(mixer, h, prev, ls['a'], self.window_len == 0, cfg['T'])
                ls['prev'] = h
            else:
                prev = h if self.window_len == 0 else ls['prev']
                m = self.shift(mixer, h, prev, ls, self.window_len + 1)
                ls['prev'] = h
            x = fv(map(add, x, linear(self.w(p + 'wo'), self.w(p + 'wo.b'), m)))
            h2 = layernorm(x, self.w(p + 'ln2.w'), self.w(p + 'ln2.b'))
            hidden = [gelu(v) for v in linear(self.w(p + 'fc1.w'), self.w(p + 'fc1.b'), h2)]
            x = fv(map(add, x, linear(self.w(p + 'fc2.w'), self.w(p + 'fc2.b'), hidden)))
        return linear(self.t['wte'], None, layernorm(x, self.t['lnf.w'], self.t.get('lnf.b')))

    @staticmethod
    def shift(mixer, h, prev, ls, count):  # §6.3
        is_max = mixer.startswith('max')
        if mixer in ('max', 'min'):
            return [hi if (hi >= pi if is_max else hi <= pi) else pi for hi, pi in zip(h, prev)]
        n = f(float(count))
        s, comp, out = ls['sum'], ls['comp'], []
        for i, hi in enumerate(h):
            y = f(hi - comp[i])
            t = f(s[i] + y)
            comp[i] = f(f(t - s[i]) - y)
            s[i] = t
            a = f(t / n)
            v = hi
            if is_max:
                if prev[i] > v:
                    v = prev[i]
                if a > v:
                    v = a
            else:
                if prev[i] < v:
                    v = prev[i]
                if a < v:
                    v = a
            out.append(v)
        return out

    @staticmethod
    def mingru(u, ls):  # §6.6
        C, s = len(u) // 2, ls['a']  # s starts at 0
        for i in range(C):
            z = f(1.0 / f(1.0 + exp32(-u[i])))
            s[i] = f(f(f(1.0 - z) * s[i]) + f(z * u[C + i]))
        return list(s)

    @staticmethod
    def ema(mixer, h, prev, a, first, T):  # §6.5
        C, S = len(h), 2
        while (1 << (S - 2)) < T:
            S += 1
        out = []
        for i, hi in enumerate(h):
            w = 2.0 ** -(1 + i * S // C)
            a[i] = hi if first else f(a[i] + f(w * f(hi - a[i])))
            v = a[i]
            if mixer == 'max-ema':
                v = hi
                if prev[i] > v:
                    v = prev[i]
                if a[i] > v:
                    v = a[i]
            out.append(v)
        return out

    def local(self, qkv, ls, W, H):  # §6.7
        C = len(qkv) // 3
        cs, sn = rope(self.window_len, C // H)
        q, k = rotate(qkv[0:C], H, cs, sn), rotate(qkv[C:2 * C], H, cs, sn)
        ls['k'] = ls['k'][-(W - 1):] + [k] if W > 1 else [k]  # the last W positions, oldest first
        ls['v'] = ls['v'][-(W - 1):] + [qkv[2 * C:3 * C]] if W > 1 else [qkv[2 * C:3 * C]]
        return self.attention(q, ls['k'], ls['v'], H)

    @staticmethod
    def attention(q, K, V, H):  # §6.4
        C = len(q)
        hs = C // H
        scale = f(1.0 / f(math.sqrt(hs)))
        out = [0.0] * C
        for head in range(H):
            o = head * hs
            att = [f(dot(q[o:o + hs], k[o:o + hs], hs) * scale) for k in K]
            mx = max(att)
            att = [exp32(f(a - mx)) for a in att]
            total = 0.0
            for a in att:
                total = f(total + a)
            inv = f(1.0 / total)
            att = [f(a * inv) for a in att]
            for i in range(hs):
                acc = 0.0
                for p, v in zip(att, V):
                    acc = f(acc + f(p * v[o + i]))
                out[o + i] = acc
        return out

    def feed(self, token):
        T = self.cfg['T']
        if self.window_limited and self.window_len == T:
            self.history = self.history[1:] + [token]
            self.reset()
            for p in range(T):
                self.logits = self.step(self.history[p], p)
                self.window_len = p + 1
            return
        if self.window_limited:
            self.history = self.history[:self.window_len] + [token]
        pos = self.window_len if self.window_limited else 0
        self.logits = self.step(token, pos)
        self.window_len += 1


class Pcg32:
    """§9."""
    M = (1 << 64) - 1

    def __init__(self, seed, stream=0xda3e39cb94b95bdb):
        self.state, self.inc = 0, ((stream << 1) | 1) & self.M
        self.next_u32()
        self.state = (self.state + seed) & self.M
        self.next_u32()

    def next_u32(self):
        old = self.state
        self.state = (old * 6364136223846793005 + self.inc) & self.M
        xorshifted = (((old >> 18) ^ old) >> 27) & 0xFFFFFFFF
        rot = old >> 59
        return ((xorshifted >> rot) | (xorshifted << ((32 - rot) & 31))) & 0xFFFFFFFF

    def next_float(self):
        return (self.next_u32() >> 8) * 2.0 ** -24


def sample(logits, temperature, top_k, top_p, rng):
    """§8 (temperature > 0)."""
    V = len(logits)
    mx = logits[0]
    for v in logits[1:]:
        mx = v if v > mx else mx
    p = [exp32(f(f(v - mx) / temperature)) for v in logits]
    order, kept = list(range(V)), V
    if 0 < top_k < V or top_p < 1.0:
        order.sort(key=lambda i: (-p[i], i))
        if 0 < top_k < kept:
            kept = top_k
        if top_p < 1.0:
            total = 0.0
            for i in order[:kept]:
                total = f(total + p[i])
            limit, cum, n = f(top_p * total), 0.0, 0
            while n < kept:
                cum = f(cum + p[order[n]])
                n += 1
                if cum >= limit:
                    break
            kept = n
    total = 0.0
    for i in order[:kept]:
        total = f(total + p[i])
    u, cum = f(rng.next_float() * total), 0.0
    for i in order[:kept]:
        cum = f(cum + p[i])
        if u < cum:
            return i
    return order[kept - 1]


def encode(model, text):
    vocab = model['vocab']
    return [vocab.index(ord(ch)) for ch in text]


def greedy(logits):  # §8
    best = 0
    for i in range(1, len(logits)):
        if logits[i] > logits[best]:
            best = i
    return best


# ---------------------------------------------------------------- checks
def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise SystemExit('command failed: %s\n%s' % (' '.join(cmd), r.stderr.decode(errors='replace')))
    return r.stdout


def check(args, path, prompt, n_greedy):
    """Logits of every prompt position and greedy text versus the core; True if they agree."""
    model = parse(open(path, 'rb').read())
    cfg = model['cfg']
    core_rows = [[f(float(v)) for v in line.split()]  # %.9g: the float exactly
                 for line in run([args.emit, 'logits', path, prompt]).decode().splitlines()]
    st = State(model)
    rows = []
    for tok in encode(model, prompt):
        st.feed(tok)
        rows.append(st.logits)
    worst, same, total = 0.0, 0, 0
    for mine, core in zip(rows, core_rows):
        for a, b in zip(mine, core):
            worst = max(worst, abs(a - b))
            same += a == b and math.copysign(1, a) == math.copysign(1, b)
            total += 1
    text = []
    for i in range(n_greedy):
        tok = greedy(st.logits)
        text.append(chr(model['vocab'][tok]))
        if i + 1 < n_greedy:
            st.feed(tok)
    mine_text = ''.join(text)
    out = run([args.causalgen, 'generate', '--model', path, '--prompt', prompt, '--temperature', '0',
               '--tokens', str(n_greedy)]).decode()
    core_text = out[len(prompt):-1]
    ok = len(rows) == len(core_rows) == len(prompt) and total == len(prompt) * cfg['V'] \
        and same == total and mine_text == core_text
    kind = 'int8' if any(t.dtype == 1 for t in model['tensors'].values()) else 'f32'
    print('%s %s (%s, mixers %s, bias %s, wpe %s): %d logits, max |diff| %.3g, %d bit-identical; '
          'greedy %r %s core %r' % ('ok  ' if ok else 'FAIL', os.path.basename(path), kind,
                                   ','.join(cfg['mixers']), cfg['bias'], cfg['pos_emb'], total, worst,
                                   same, mine_text, '==' if mine_text == core_text else '!=', core_text))
    return ok


def check_sampling(args, path, prompt, n, temperature, top_k, top_p, seed):
    """Sampled text (§8, §9) versus `causalgen generate`; True if identical."""
    model = parse(open(path, 'rb').read())
    st, rng = State(model), Pcg32(seed)
    for tok in encode(model, prompt):
        st.feed(tok)
    text = []
    for i in range(n):
        tok = sample(st.logits, f(temperature), top_k, f(top_p), rng)
        text.append(chr(model['vocab'][tok]))
        if i + 1 < n:
            st.feed(tok)
    mine = ''.join(text)
    out = run([args.causalgen, 'generate', '--model', path, '--prompt', prompt, '--temperature', str(temperature),
               '--top-k', str(top_k), '--top-p', str(top_p), '--seed', str(seed), '--tokens', str(n)]).decode()
    core = out[len(prompt):-1]
    print('%s %s sampled (temperature %g, top-k %d, top-p %g, seed %d): %r %s core %r' % (
        'ok  ' if mine == core else 'FAIL', os.path.basename(path), temperature, top_k, top_p, seed, mine,
        '==' if mine == core else '!=', core))
    return mine == core


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--causalgen', required=True)
    ap.add_argument('--emit', required=True)
    ap.add_argument('--model', required=True, help='the shipped model')
    ap.add_argument('--work', required=True, help='folder for converted and random models')
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    w = lambda name: os.path.join(args.work, name)
    run([args.emit, 'models', args.work])
    run([args.causalgen, 'convert', '--model', args.model, '--out', w('shipped-int8.cgm'), '--dtype', 'int8'])
    run([args.causalgen, 'convert', '--model', w('hybrid.cgm'), '--out', w('hybrid-int8.cgm'),
         '--dtype', 'int8', '--group-size', '8'])
    run([args.causalgen, 'convert', '--model', w('nobias.cgm'), '--out', w('nobias-int8.cgm'), '--dtype', 'int8'])
    run([args.causalgen, 'convert', '--model', w('mingru.cgm'), '--out', w('mingru-int8.cgm'),
         '--dtype', 'int8', '--group-size', '8'])
    run([args.causalgen, 'convert', '--model', w('local.cgm'), '--out', w('local-int8.cgm'),
         '--dtype', 'int8', '--group-size', '8'])
    # The random models' windows are 8 and 6: their greedy text slides the window.
    cases = [(args.model, 'ROMEO:', 8), (w('shipped-int8.cgm'), 'ROMEO:', 8),
             (w('hybrid.cgm'), 'CAFE', 10), (w('hybrid-int8.cgm'), 'CAFE', 10),
             (w('nobias.cgm'), 'CAFE', 8), (w('nobias-int8.cgm'), 'CAFE', 8),
             (w('ema.cgm'), 'CAFE', 10), (w('mingru.cgm'), 'CAFE', 10), (w('mingru-int8.cgm'), 'CAFE', 10),
             (w('local.cgm'), 'CAFE', 16), (w('local-int8.cgm'), 'CAFE', 16)]
    ok = all([check(args, path, prompt, n) for path, prompt, n in cases])
    ok = check_sampling(args, args.model, 'ROMEO:', 8, 1.2, 5, 0.9, 7) and ok
    ok = check_sampling(args, w('hybrid.cgm'), 'CAFE', 6, 1.5, 0, 0.6, 1337) and ok

    # A reader must refuse a corrupt file: one flipped byte fails the CRC.
    b = bytearray(open(args.model, 'rb').read())
    b[len(b) // 2] ^= 1
    try:
        parse(bytes(b))
        print('FAIL a flipped byte was not detected')
        ok = False
    except FormatError as e:
        print('ok   flipped byte refused: %s' % e)
    ok = check_refusals(args, w) and ok
    sys.exit(0 if ok else 1)


def with_crc(b):
    b = bytearray(b)
    struct.pack_into('<I', b, len(b) - 4, binascii.crc32(bytes(b[:-4])) & 0xFFFFFFFF)
    return bytes(b)


def check_refusals(args, w):
    """Files that break one rule of §1 - §4 behind a valid CRC: this reader and the core both refuse them."""
    f32 = open(args.model, 'rb').read()
    q8 = open(w('shipped-int8.cgm'), 'rb').read()

    def entry(b, name):  # (offset of the entry, data offset)
        dir_off, n = u32(b, 56), u32(b, 44)
        for i in range(n):
            e = dir_off + 64 * i
            if b[e:e + 32].rstrip(b'\0') == name.encode():
                return e, u64(b, e + 48)
        raise SystemExit('no tensor ' + name)

    def edit(b, at, data):
        b = bytearray(b)
        b[at:at + len(data)] = data
        return with_crc(b)

    lnf_e, lnf = entry(f32, 'lnf.w')
    wo_e, wo = entry(f32, 'l1.wo')
    q_e, q = entry(q8, 'l0.fc1.w')
    cases = [
        ('NaN in lnf.w', edit(f32, lnf + 8, struct.pack('<f', float('nan')))),
        ('infinity in wte', edit(f32, entry(f32, 'wte')[1], struct.pack('<f', float('inf')))),
        ('int8 value -128', edit(q8, q + 3, b'\x80')),
        ('padding before the tensor data', edit(f32, u32(f32, 60) - 1, b'\x01')),
        ('l1.wo overlapping its predecessor', edit(f32, wo_e + 48, struct.pack('<Q', u64(f32, wo_e - 64 + 48)))),
        ('bytes after a name', edit(f32, lnf_e + 10, b'x')),
    ]
    ok = True
    for what, b in cases:
        path = w('refused.cgm')
        open(path, 'wb').write(b)
        try:
            parse(b)
            print('FAIL %s: accepted by this reader' % what)
            ok = False
        except FormatError as e:
            print('ok   %s refused: %s' % (what, e))
        r = subprocess.run([args.causalgen, 'info', '--model', path], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode != 1:
            print('FAIL %s: causalgen info exit %d' % (what, r.returncode))
            ok = False
        else:
            print('ok   %s refused by the core: %s' % (what, r.stderr.decode().strip()))
    return ok


if __name__ == '__main__':
    main()
