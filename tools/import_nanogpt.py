#!/usr/bin/env python3
"""causalgen import-nanogpt: a nanoGPT character-level checkpoint (ckpt.pt as
nanoGPT's train.py saves it, meta.pkl as its data/shakespeare_char/prepare.py
writes it) as a causalgen model file (docs/model-format.md): every layer
attention, learned positions, tied embedding, with or without bias.

    causalgen import-nanogpt --checkpoint out/ckpt.pt --meta data/meta.pkl --out model.cgm

Installed beside `causalgen` as causalgen-import-nanogpt, which `causalgen
import-nanogpt` runs (with $CAUSALGEN_PYTHON if set, else this file's #!).
PyTorch reads the checkpoint (Debian: python3-torch); the model file is written
here from the format's specification. docs/nanogpt.md: the mapping, what is
refused and why, and how nanoGPT's GELU differs from causalgen's."""
import argparse
import collections
import os
import pickle
import stat
import struct
import sys
import zipfile
import zlib

PROG = "causalgen import-nanogpt"
MIXER_ATTENTION = 4  # docs/model-format.md §2, the mixer table
FLAG_BIAS, FLAG_POS_EMB = 1, 2
LIMITS = {"vocab_size": 65536, "block_size": 65536, "n_layer": 64, "n_embd": 8192}


class Refused(Exception):
    """What the model file cannot represent, or a file that is not what it should be."""


def fail(message, status=1):
    sys.stderr.write(f"causalgen: error: {message}\n")
    sys.exit(status)


# ---- reading nanoGPT's files ------------------------------------------------

class PlainUnpickler(pickle.Unpickler):
    """meta.pkl holds a dict of str and int: refuse anything that would run code."""

    def find_class(self, module, name):
        raise Refused(f"holds a {module}.{name} object, not plain data (dict, str, int)")


def read_meta(path):
    try:
        with open(path, "rb") as f:
            meta = PlainUnpickler(f).load()
    except (pickle.UnpicklingError, EOFError, ValueError) as e:
        raise Refused(f"{path}: not a pickle file: {e}")
    except Refused as e:
        raise Refused(f"{path}: {e}")
    if not isinstance(meta, dict) or not isinstance(meta.get("itos"), dict):
        raise Refused(f"{path}: no 'itos' table (a nanoGPT meta.pkl maps ids to characters)")
    return meta


# torch.save's format (PyTorch >= 1.6): a zip with DIR/data.pkl, a pickle whose
# tensors refer to their storages' bytes in DIR/data/KEY. It is unpickled here
# with only tensors and plain data allowed, so reading a checkpoint runs no code
# from it (torch.load(weights_only=True) does the same in newer PyTorch; Debian
# 12's 1.13 cannot read the floats in nanoGPT's model_args and config).
STORAGE_DTYPES = {"FloatStorage": "float32", "HalfStorage": "float16", "BFloat16Storage": "bfloat16",
                  "DoubleStorage": "float64", "LongStorage": "int64", "IntStorage": "int32",
                  "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8",
                  "BoolStorage": "bool"}


def read_torch_zip(torch, path):
    with zipfile.ZipFile(path) as z:
        pickles = [n for n in z.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pickles) != 1:
            raise Refused(f"{path}: not a checkpoint of torch.save (no data.pkl)")
        folder = pickles[0][: -len("data.pkl")]

        def rebuild_tensor(storage, offset, size, stride, *_):
            return torch.as_strided(storage, tuple(size), tuple(stride), offset)

        functions = {("torch._utils", "_rebuild_tensor_v2"): rebuild_tensor,
                     ("torch._utils", "_rebuild_parameter"): lambda data, *_: data,
                     ("collections", "OrderedDict"): collections.OrderedDict}

        class TensorsOnly(pickle.Unpickler):
            def find_class(self, module, name):
                if module == "torch" and name in STORAGE_DTYPES:
                    return getattr(torch, STORAGE_DTYPES[name])
                if (module, name) in functions:
                    return functions[(module, name)]
                raise Refused(f"{path}: holds a {module}.{name} object, not tensors and plain data")

            def persistent_load(self, pid):
                kind, dtype, key, _location, numel = pid
                if kind != "storage" or not isinstance(dtype, torch.dtype):
                    raise Refused(f"{path}: an unknown storage {pid!r}")
                data = bytearray(z.read(f"{folder}data/{key}"))
                flat = torch.frombuffer(data, dtype=dtype) if data else torch.empty(0, dtype=dtype)
                if flat.numel() != numel:
                    raise Refused(f"{path}: storage {key} holds {flat.numel()} values, not {numel}")
                return flat

        with z.open(pickles[0]) as f:
            return TensorsOnly(f, encoding="utf-8").load()


def read_checkpoint(torch, path):
    try:
        if not zipfile.is_zipfile(path):
            raise Refused(f"{path}: not a checkpoint of torch.save (PyTorch 1.6 or later: a zip file)")
        ckpt = read_torch_zip(torch, path)
    except (pickle.UnpicklingError, zipfile.BadZipFile, KeyError, EOFError, ValueError, TypeError) as e:
        raise Refused(f"{path}: a damaged checkpoint ({e})")
    if not isinstance(ckpt, dict) or "model" not in ckpt or "model_args" not in ckpt:
        raise Refused(f"{path}: no 'model' and 'model_args' (not a checkpoint of nanoGPT's train.py)")
    # A checkpoint of a torch.compile'd model names its weights _orig_mod.* (as sample.py strips).
    if not isinstance(ckpt["model"], dict):
        raise Refused(f"{path}: its 'model' is not a state_dict")
    state = {k.removeprefix("_orig_mod.") if isinstance(k, str) else k: v for k, v in ckpt["model"].items()}
    return ckpt["model_args"], state


# ---- mapping nanoGPT to causalgen -------------------------------------------

def vocabulary(meta, vocab_size):
    """nanoGPT's ids -> characters, as code points; refuses what is not one
    Unicode character per id or does not match the model's vocab_size."""
    itos = meta["itos"]
    if not all(isinstance(i, int) for i in itos) or sorted(itos) != list(range(len(itos))):
        raise Refused("meta.pkl: itos ids are not 0 .. n-1")
    chars = [itos[i] for i in range(len(itos))]
    for i, ch in enumerate(chars):
        if not isinstance(ch, str) or len(ch) != 1:
            raise Refused(f"meta.pkl: token {i} is {ch!r}, not one character: causalgen models "
                          "are character-level (a BPE/tiktoken vocabulary cannot be represented)")
        if 0xD800 <= ord(ch) <= 0xDFFF:
            raise Refused(f"meta.pkl: token {i} is a lone surrogate (U+{ord(ch):04X})")
    if len(set(chars)) != len(chars):
        raise Refused("meta.pkl: a character appears under two ids")
    if len(chars) != vocab_size:
        raise Refused(f"the checkpoint's vocab_size is {vocab_size} but meta.pkl has {len(chars)} "
                      "characters (a padded vocabulary cannot be represented)")
    return [ord(c) for c in chars]


def expected_shapes(a, bias):
    """nanoGPT's state_dict names -> shapes (model.py's GPT), for these model_args."""
    V, T, L, C = a["vocab_size"], a["block_size"], a["n_layer"], a["n_embd"]
    shapes = {"transformer.wte.weight": (V, C), "transformer.wpe.weight": (T, C),
              "transformer.ln_f.weight": (C,), "lm_head.weight": (V, C)}
    if bias:
        shapes["transformer.ln_f.bias"] = (C,)
    for l in range(L):
        p = f"transformer.h.{l}."
        layer = {"ln_1": (C,), "attn.c_attn": (3 * C, C), "attn.c_proj": (C, C), "ln_2": (C,),
                 "mlp.c_fc": (4 * C, C), "mlp.c_proj": (C, 4 * C)}
        for name, shape in layer.items():
            shapes[p + name + ".weight"] = shape
            if bias:
                shapes[p + name + ".bias"] = (shape[0],)
    return shapes


def check_model_args(a):
    if not isinstance(a, dict):
        raise Refused("model_args is not a dict (not a checkpoint of nanoGPT's train.py)")
    for key in ("n_layer", "n_head", "n_embd", "block_size", "vocab_size", "bias"):
        if key not in a:
            raise Refused(f"model_args has no {key!r}")
    for key, limit in LIMITS.items():
        if not isinstance(a[key], int) or not 1 <= a[key] <= limit:
            raise Refused(f"model_args {key} = {a[key]!r}: causalgen allows 1 .. {limit}")
    if not isinstance(a["n_head"], int) or a["n_head"] < 1 or a["n_embd"] % a["n_head"]:
        raise Refused(f"n_head = {a['n_head']!r} does not divide n_embd = {a['n_embd']}")


def check_state(torch, state, a):
    bias = bool(a["bias"])
    want = expected_shapes(a, bias)
    odd = [k for k, v in state.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if odd:
        raise Refused(f"the checkpoint's model holds {odd[0]!r}, which is not a named tensor")
    # nanoGPT without flash attention keeps its causal mask as a buffer named attn.bias.
    masks = {k for k in state if k.endswith(".attn.bias") and state[k].dim() == 4}
    C = a["n_embd"]
    fc = state.get("transformer.h.0.mlp.c_fc.weight")
    if fc is not None and tuple(fc.shape) != (4 * C, C):
        raise Refused(f"the MLP is {fc.shape[0]} wide, not 4 x n_embd = {4 * C}: causalgen's MLP "
                      "width is fixed at 4 x n_embd")
    if not bias and any(k.endswith(".bias") for k in set(state) - masks):
        raise Refused("model_args says bias=False but the weights have biases")
    missing = sorted(set(want) - set(state))
    if missing:
        hint = " (model_args says bias=True)" if bias and all(k.endswith(".bias") for k in missing) else ""
        raise Refused(f"the checkpoint lacks {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}"
                      f"{hint}: not nanoGPT's GPT")
    extra = sorted(set(state) - set(want) - masks)
    if extra:
        raise Refused(f"the checkpoint has weights causalgen's model has no place for: "
                      f"{', '.join(extra[:3])}{' ...' if len(extra) > 3 else ''}")
    for k, shape in want.items():
        if tuple(state[k].shape) != shape:
            raise Refused(f"{k} is {tuple(state[k].shape)}, expected {shape}")
        if not torch.isfinite(state[k].float()).all():
            raise Refused(f"{k} has a value that is not finite")
    if not torch.equal(state["lm_head.weight"], state["transformer.wte.weight"]):
        raise Refused("lm_head.weight differs from transformer.wte.weight: causalgen ties the output "
                      "projection to the token embedding (an untied model cannot be represented)")


def causalgen_tensors(state, a, order):
    """(name, 2-D float32 tensor) in the canonical order of docs/model-format.md §3;
    wte's rows reordered to the sorted vocabulary (order[i] = nanoGPT id of token i)."""
    bias = bool(a["bias"])
    out = [("wte", state["transformer.wte.weight"][order]), ("wpe", state["transformer.wpe.weight"])]
    # causalgen name suffix -> nanoGPT module; weights are out x in in both.
    per_layer = [("ln1", "ln_1"), ("attn.wqkv", "attn.c_attn"), ("wo", "attn.c_proj"), ("ln2", "ln_2"),
                 ("fc1", "mlp.c_fc"), ("fc2", "mlp.c_proj")]
    for l in range(a["n_layer"]):
        for ours, theirs in per_layer:
            w = state[f"transformer.h.{l}.{theirs}.weight"]
            b = state.get(f"transformer.h.{l}.{theirs}.bias")
            if ours == "attn.wqkv":  # q, k, v rows in nanoGPT's split(n_embd) order, both
                out.append((f"l{l}.attn.wqkv", w))
                if bias:
                    out.append((f"l{l}.attn.bqkv", b))
            elif ours == "wo":
                out += [(f"l{l}.wo", w)] + ([(f"l{l}.wo.b", b)] if bias else [])
            else:
                out += [(f"l{l}.{ours}.w", w)] + ([(f"l{l}.{ours}.b", b)] if bias else [])
    out.append(("lnf.w", state["transformer.ln_f.weight"]))
    if bias:
        out.append(("lnf.b", state["transformer.ln_f.bias"]))
    # Vectors are 1 x n in the file; bf16/f16 weights widen to f32 exactly.
    return [(n, t.detach().float().reshape(t.shape[0] if t.dim() == 2 else 1, -1)) for n, t in out]


# ---- the model file (docs/model-format.md §1 - §4) ------------------------

def align(v, a):
    return (v + a - 1) // a * a


def model_file(a, codepoints, tensors):
    V, T, L, C, H = len(codepoints), a["block_size"], a["n_layer"], a["n_embd"], a["n_head"]
    flags = FLAG_POS_EMB | (FLAG_BIAS if a["bias"] else 0)
    vocab_offset = align(64 + L, 4)
    dir_offset = align(vocab_offset + 4 * V, 8)
    data_offset = align(dir_offset + 64 * len(tensors), 64)
    directory, data, offset = bytearray(), bytearray(), data_offset
    for name, t in tensors:
        rows, cols = t.shape
        offset = align(offset, 64)
        payload = t.contiguous().numpy().astype("<f4").tobytes()
        directory += struct.pack("<32sIIIIQQ", name.encode(), 0, rows, cols, 0, offset, len(payload))
        data += bytes(offset - data_offset - len(data)) + payload
        offset += len(payload)
    file_size = offset + 4
    header = struct.pack("<4sIQIIIIIIIIIIII", b"CGLM", 1, file_size, 64, V, T, L, C, H, flags,
                         len(tensors), 64, vocab_offset, dir_offset, data_offset)
    body = bytearray(header)
    body += bytes([MIXER_ATTENTION] * L)
    body += bytes(vocab_offset - len(body)) + struct.pack(f"<{V}I", *codepoints)
    body += bytes(dir_offset - len(body)) + directory
    body += bytes(data_offset - len(body)) + data
    assert len(body) == file_size - 4
    return bytes(body) + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


def write_atomically(path, data):
    """A failed write leaves whatever was at path before."""
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# ---- the command ----------------------------------------------------------

def convert(torch, checkpoint, meta_path):
    meta = read_meta(meta_path)
    a, state = read_checkpoint(torch, checkpoint)
    check_model_args(a)
    nanogpt_ids = vocabulary(meta, a["vocab_size"])
    check_state(torch, state, a)
    # causalgen's vocabulary is sorted by code point (nanoGPT's prepare.py sorts too).
    order = sorted(range(len(nanogpt_ids)), key=lambda i: nanogpt_ids[i])
    codepoints = [nanogpt_ids[i] for i in order]
    return a, model_file(a, codepoints, causalgen_tensors(state, a, torch.tensor(order)))


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        fail(message, status=2)


# Inputs must be regular files, as for every causalgen command
# (lib/host/input_file.hpp): stat() never waits for a FIFO's writer, open() would.
NOT_FILES = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO or pipe"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISSOCK, "a socket"))


def check_regular_file(path):
    try:
        mode = os.stat(path).st_mode
    except OSError as e:
        fail(f"{path}: {e.strerror}")
    for test, what in NOT_FILES:
        if test(mode):
            fail(f"{path}: {what}, not a file")
    if not stat.S_ISREG(mode):
        fail(f"{path}: not a regular file")


def main(argv):
    p = ArgumentParser(prog=PROG, description="Turn a nanoGPT character-level checkpoint into a "
                       "causalgen model file (every layer attention, learned positions, tied embedding).")
    p.add_argument("--checkpoint", required=True, help="nanoGPT's ckpt.pt (train.py)")
    p.add_argument("--meta", required=True, help="the dataset's meta.pkl (stoi/itos)")
    p.add_argument("--out", required=True, help="model file to write (.cgm)")
    args = p.parse_args(argv)
    try:
        import torch
    except ImportError as e:
        fail(f"import-nanogpt needs PyTorch in {sys.executable} ({e}); on Debian: apt-get install "
             "python3-torch, or set CAUSALGEN_PYTHON to a Python that has it")
    for path in (args.checkpoint, args.meta):
        check_regular_file(path)
    try:
        a, data = convert(torch, args.checkpoint, args.meta)
        write_atomically(args.out, data)
    except Refused as e:
        fail(str(e))
    except OSError as e:
        fail(f"{e.filename or args.out}: {e.strerror}")
    print(f"{args.out}: {a['n_layer']} attention layers x {a['n_embd']} ({a['n_head']} heads), "
          f"{a['vocab_size']} characters, block size {a['block_size']}, "
          f"{'with' if a['bias'] else 'no'} bias, {len(data)} bytes")
    print("note: causalgen's MLP computes GELU's tanh form; nanoGPT's nn.GELU() is the exact (erf) "
          "form, which differs by at most 4.7e-4 per activation (docs/nanogpt.md)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
