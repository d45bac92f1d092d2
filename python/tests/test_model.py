"""causalgen.Model against the CLI and the C++ forward pass."""
import math
import os
import subprocess

import numpy as np
import pytest

import causalgen
from conftest import SHIPPED_MODEL, run_cli


@pytest.fixture(scope="module")
def shipped():
    return causalgen.Model.load(SHIPPED_MODEL)


def cli_text(cli, model, prompt, n, temperature, top_k, top_p, seed):
    out = run_cli(cli, "generate", "--model", model, "--prompt", prompt, "--tokens", str(n),
                  "--temperature", str(temperature), "--top-k", str(top_k),
                  "--top-p", str(top_p), "--seed", str(seed)).stdout
    assert out.startswith(prompt) and out.endswith("\n")
    return out[len(prompt):-1]


@pytest.mark.parametrize("prompt,n,temperature,top_k,top_p,seed", [
    ("ROMEO:", 300, 0.8, 0, 1.0, 1337),
    ("ROMEO:", 200, 1.2, 5, 0.9, 7),
    ("", 150, 0.0, 0, 1.0, 1),
])
def test_generate_equals_cli(cli, shipped, prompt, n, temperature, top_k, top_p, seed):
    text = shipped.generate(prompt, n, temperature=temperature, top_k=top_k, top_p=top_p, seed=seed)
    assert len(text) == n
    assert text == cli_text(cli, SHIPPED_MODEL, prompt, n, temperature, top_k, top_p, seed)


def test_generate_past_the_window_equals_cli(cli, random_models):
    # T = 8: 40 characters slide the attention hybrid's window many times.
    m = causalgen.Model.load(random_models["hybrid"])
    assert m.info["window_limited"] and m.info["mixers"][0] == "attention"
    text = m.generate("CAFE", 40, temperature=1.5, top_p=0.6, seed=1337)
    assert text == cli_text(cli, random_models["hybrid"], "CAFE", 40, 1.5, 0, 0.6, 1337)


def test_seed_changes_text(shipped):
    assert shipped.generate("ROMEO:", 100, seed=1) != shipped.generate("ROMEO:", 100, seed=2)


def test_stream_is_generate_one_character_at_a_time(shipped):
    it = shipped.stream("ROMEO:", 120, seed=5)
    first = next(it)
    rest = list(it)
    assert len(first) == 1 and len(rest) == 119
    assert first + "".join(rest) == shipped.generate("ROMEO:", 120, seed=5)
    # Stopping early is not asking for more.
    early = shipped.stream("ROMEO:", 10**6, seed=5)
    assert "".join(next(early) for _ in range(20)) == shipped.generate("ROMEO:", 20, seed=5)


def test_info(cli, shipped):
    info = shipped.info
    listed = dict(line.split(None, 1) for line in
                  run_cli(cli, "info", "--model", SHIPPED_MODEL).stdout.splitlines()
                  if line and not line.startswith(("block", "position", "file", "state")))
    assert f"{info['vocab_size']} characters" == listed["vocab"]
    assert str(info["n_layer"]) == listed["layers"]
    assert str(info["n_embd"]) == listed["embedding"]
    assert str(info["parameters"]) == listed["parameters"]
    assert " ".join(info["mixers"]) == listed["mixers"]
    assert info["block_size"] == 64 and info["bias"] and not info["window_limited"]
    assert len(info["vocab"]) == info["vocab_size"] and info["vocab"] == "".join(sorted(info["vocab"]))


def emitted_logits(emit_logits, model, text):
    out = subprocess.run([emit_logits, "logits", model, text], capture_output=True, text=True,
                         check=True).stdout
    return np.array([[float(v) for v in line.split()] for line in out.splitlines()], dtype=np.float32)


@pytest.mark.parametrize("model,text", [
    ("shipped", "ROMEO:\nWhat say'st thou?"),
    ("hybrid", "CAFEBABE"),        # attention + position embedding, the whole window (T = 8)
    ("nobias", "DECADE"),          # no bias, T = 6
])
def test_logits_equal_cxx_forward(emit_logits, random_models, model, text):
    path = SHIPPED_MODEL if model == "shipped" else random_models[model]
    logits = causalgen.Model.load(path).logits(text)
    expected = emitted_logits(emit_logits, path, text)
    assert logits.dtype == np.float32 and logits.shape == expected.shape == (len(text), expected.shape[1])
    # %.9g round-trips a float: the same bits, not merely close.
    assert np.array_equal(logits, expected)


def test_eval_equals_cli_eval(cli, shipped, tmp_path):
    # A text in the model's vocabulary: its own sample. `causalgen eval` scores the
    # last 10% (nanoGPT's split) in windows of T = 64, as Model.eval does.
    text = "ROMEO:" + shipped.generate("ROMEO:", 1994, seed=3)
    data = tmp_path / "text.txt"
    data.write_text(text)
    out = run_cli(cli, "eval", "--model", SHIPPED_MODEL, "--data", str(data), "--no-estimate",
                  "--engine", "core", "--threads", "1").stdout
    full = next(line for line in out.splitlines() if line.startswith("full"))
    expected = float(full.split()[1])
    val = text[math.floor(0.9 * len(text)):]
    assert len(val) - 1 > 64  # more than one window
    assert round(shipped.eval(val), 6) == expected


def test_eval_is_mean_of_log_softmax(shipped):
    text = "ROMEO:\nWhat say'st thou?"
    logits = shipped.logits(text[:-1]).astype(np.float64)
    ids = [shipped.vocab.index(c) for c in text]
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    assert shipped.eval(text) == pytest.approx(-np.mean(log_p[np.arange(len(text) - 1), ids[1:]]), rel=1e-12)


def corrupt(tmp_path, how):
    data = bytearray(open(SHIPPED_MODEL, "rb").read())
    if how == "crc":
        data[5000] ^= 0x40
    elif how == "magic":
        data[0:4] = b"GGUF"
    elif how == "truncated":
        data = data[: len(data) // 2]
    path = tmp_path / f"{how}.cgm"
    path.write_bytes(bytes(data))
    return str(path), bytes(data)


@pytest.mark.parametrize("how,status", [("crc", "crc mismatch"), ("magic", "bad magic"),
                                        ("truncated", "truncated")])
def test_bad_file_raises_the_cores_message(cli, tmp_path, how, status):
    path, data = corrupt(tmp_path, how)
    with pytest.raises(causalgen.Error) as e:
        causalgen.Model.load(path)
    assert e.value.status == status
    r = run_cli(cli, "info", "--model", path, check=False)
    assert r.returncode == 1
    assert r.stderr.strip() == f"causalgen: error: {e.value}"
    with pytest.raises(causalgen.Error) as from_bytes:
        causalgen.Model.load(data)
    assert str(e.value) == f"{path}: {from_bytes.value}"


def test_missing_file_raises_oserror(tmp_path):
    with pytest.raises(FileNotFoundError):
        causalgen.Model.load(tmp_path / "absent.cgm")


def test_bad_prompt_and_sampler_raise_the_cores_message(cli, shipped):
    with pytest.raises(causalgen.Error) as e:
        shipped.generate("ROMEO: café", 10)
    r = run_cli(cli, "generate", "--model", SHIPPED_MODEL, "--prompt", "ROMEO: café", check=False)
    assert r.returncode == 1 and r.stderr.strip() == f"causalgen: error: {e.value}"
    assert "é" in str(e.value) and e.value.status == "unknown character"
    with pytest.raises(causalgen.Error, match="top"):
        shipped.generate("ROMEO:", 10, top_p=0.0)
    with pytest.raises(causalgen.Error):
        shipped.logits("naïve")


def test_the_installed_package_uses_its_own_library():
    installed = os.environ.get("CAUSALGEN_EXPECT_INSTALLED")
    if not installed:
        pytest.skip("run from the checkout, not as installed by tests/python/run_python_tests.sh")
    package = os.path.dirname(causalgen.__file__)
    assert package.startswith(installed)
    assert causalgen.LIBRARY_PATH == os.path.join(package, "libcausalgen_c.so")
