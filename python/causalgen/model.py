"""causalgen.Model: a model file loaded through the C API, with generation,
per-position logits and the mean loss of a text."""
import ctypes
import os

import numpy as np

from . import _lib
from ._lib import lib


class Error(Exception):
    """A failure the core reports: `code` is the C API's status (CG_*),
    `status` its name ("crc mismatch", ...) and the message the core's own."""

    def __init__(self, message, code):
        super().__init__(message)
        self.code = code
        self.status = lib.cg_status_string(code).decode()


def _message(err):
    return err.message.decode("utf-8", "replace")


def _check(rc, err, prefix=""):
    if rc != _lib.CG_OK:
        raise Error(prefix + _message(err), err.code)


def _aligned(size, alignment=64):
    """Zeroed memory of `size` bytes at an `alignment`-byte boundary: (owner, address)."""
    owner = ctypes.create_string_buffer(size + alignment)
    address = ctypes.addressof(owner)
    return owner, address + (-address) % alignment


class _State:
    """A generation state in memory this object owns (cg_state_init)."""

    def __init__(self, model, seed):
        size = lib.cg_state_bytes(model._handle)
        self._mem, address = _aligned(size)
        err = _lib.cg_error()
        self.handle = lib.cg_state_init(model._handle, address, size, seed, ctypes.byref(err))
        if not self.handle:
            raise Error("state: " + _message(err), err.code)


class Model:
    """A causalgen model file (.cgm), read in place by the core."""

    def __init__(self, data, name=None):
        """Use Model.load(path or bytes)."""
        data = bytes(data)
        self._bytes, address = _aligned(len(data))
        ctypes.memmove(address, data, len(data))
        self._storage, storage = _aligned(lib.cg_model_bytes())
        err = _lib.cg_error()
        self._handle = lib.cg_model_load(storage, lib.cg_model_bytes(), address, len(data),
                                         ctypes.byref(err))
        if not self._handle:
            where = f"{name}: " if name is not None else ""
            # The same text as `causalgen: error: FILE: MESSAGE` from the CLI
            # (the status is in .status).
            raise Error(f"{where}{_message(err)}", err.code)
        n = lib.cg_vocab_size(self._handle)
        self.vocab = "".join(chr(lib.cg_vocab_codepoint(self._handle, i)) for i in range(n))

    @classmethod
    def load(cls, source):
        """A model from a file path (str or os.PathLike) or the file's bytes."""
        if isinstance(source, (bytes, bytearray, memoryview)):
            return cls(source)
        path = os.fspath(source)
        with open(path, "rb") as f:
            return cls(f.read(), name=path)

    @property
    def info(self):
        """The model's configuration, as `causalgen info` describes it."""
        h = self._handle
        return {
            "vocab_size": lib.cg_vocab_size(h),
            "block_size": lib.cg_block_size(h),
            "n_layer": lib.cg_n_layer(h),
            "n_embd": lib.cg_n_embd(h),
            "n_head": lib.cg_n_head(h),
            "bias": bool(lib.cg_has_bias(h)),
            "pos_emb": bool(lib.cg_has_pos_emb(h)),
            "window_limited": bool(lib.cg_window_limited(h)),
            "mixers": [lib.cg_mixer_name(h, i).decode() for i in range(lib.cg_n_layer(h))],
            "parameters": lib.cg_parameter_count(h),
            "state_bytes": lib.cg_state_bytes(h),
            "vocab": self.vocab,
        }

    def stream(self, prompt="", n=500, temperature=0.8, top_k=0, top_p=1.0, seed=1337):
        """An iterator over the n generated characters (the prompt not
        included), each produced when asked for: `causalgen generate`'s loop
        (cg_generate_begin/next), so the same arguments give the same text.
        Checks the sampler and the prompt before returning."""
        sampler = _lib.cg_sampler(temperature, top_k, top_p)
        err = _lib.cg_error()
        _check(lib.cg_sampler_check(ctypes.byref(sampler), ctypes.byref(err)), err)
        state = _State(self, seed)
        gen = _lib.cg_generator()
        encoded = prompt.encode("utf-8")
        _check(lib.cg_generate_begin(ctypes.byref(gen), state.handle, ctypes.byref(sampler),
                                     encoded, len(encoded), n, ctypes.byref(err)), err, "prompt: ")
        return self._characters(state, gen, err)

    def _characters(self, state, gen, err):
        next_char = lib.cg_generate_next
        gen_ref, err_ref = ctypes.byref(gen), ctypes.byref(err)
        while True:
            cp = next_char(gen_ref, err_ref)
            if cp == _lib.CG_GENERATE_END:
                return
            if cp == _lib.CG_GENERATE_ERROR:
                raise Error(_message(err), err.code)
            yield chr(cp)

    def generate(self, prompt="", n=500, temperature=0.8, top_k=0, top_p=1.0, seed=1337):
        """The n characters that follow the prompt, as one string (the defaults are
        `causalgen generate`'s; temperature 0 is greedy)."""
        return "".join(self.stream(prompt, n, temperature, top_k, top_p, seed))

    def encode(self, text):
        """Token ids of text (a NumPy uint32 array); Error names a character
        outside the vocabulary and its byte offset."""
        encoded = text.encode("utf-8")
        ids = (ctypes.c_uint32 * max(1, len(encoded)))()
        count = ctypes.c_size_t()
        err = _lib.cg_error()
        _check(lib.cg_encode_text(self._handle, encoded, len(encoded), ids, len(encoded),
                                  ctypes.byref(count), ctypes.byref(err)), err)
        return np.ctypeslib.as_array(ids)[: count.value].copy()

    def _feed_logits(self, state, ids, out):
        """Feeds ids to state, writing the logits after each into out's rows."""
        err = _lib.cg_error()
        err_ref, row_bytes = ctypes.byref(err), out.shape[1] * 4
        logits = lib.cg_logits(state.handle)
        for t, token in enumerate(ids.tolist()):
            _check(lib.cg_feed_token(state.handle, token, err_ref), err)
            ctypes.memmove(out[t].ctypes.data, logits, row_bytes)

    def logits(self, text):
        """The logits (float32, len(text) x vocab_size) after each character of
        text fed in order to a fresh state: row t scores the character after
        text[t]. The core's numbers, bit for bit (its forward pass); a
        window-limited model's context slides past block_size characters as in
        generation (nanoGPT's crop)."""
        ids = self.encode(text)
        out = np.empty((len(ids), lib.cg_vocab_size(self._handle)), dtype=np.float32)
        self._feed_logits(_State(self, 0), ids, out)
        return out

    def eval(self, text):
        """Mean cross-entropy (nats per character) of predicting each character
        of text after the first, as `causalgen eval` scores a split ("full"):
        consecutive windows of block_size inputs, the context restarting at
        each window. Needs at least two characters."""
        ids = self.encode(text)
        preds = len(ids) - 1
        if preds < 1:
            raise ValueError("eval needs a text of at least two characters")
        T = lib.cg_block_size(self._handle)
        state = _State(self, 0)
        out = np.empty((min(T, preds), lib.cg_vocab_size(self._handle)), dtype=np.float32)
        total = 0.0
        for start in range(0, preds, T):
            n = min(T, preds - start)
            lib.cg_state_reset(state.handle)
            self._feed_logits(state, ids[start:start + n], out)
            rows = out[:n].astype(np.float64)
            mx = rows.max(axis=1)
            z = np.log(np.exp(rows - mx[:, None]).sum(axis=1)) + mx
            total += float((z - rows[np.arange(n), ids[start + 1:start + n + 1]]).sum())
        return total / preds
