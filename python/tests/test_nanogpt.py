"""causalgen import-nanogpt against PyTorch: a model with nanoGPT's module
names, shapes and forward pass (model.py's GPT, written here), random weights,
saved the way nanoGPT's train.py saves ckpt.pt, with a meta.pkl as
data/shakespeare_char/prepare.py writes it."""
import importlib.machinery
import importlib.util
import math
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

import causalgen
from conftest import run_cli

torch = pytest.importorskip("torch", reason="import-nanogpt needs PyTorch (python3-torch)")
nn, F = torch.nn, torch.nn.functional

# Characters of the test's vocabulary (two outside ASCII), sorted as prepare.py sorts them.
CHARS = sorted(set("\n !',.:;?ABCDEHILMNORSTWabcdefghiklmnoprstuwyéß"))


class LayerNorm(nn.Module):
    """nanoGPT's LayerNorm: optional bias, eps 1e-5."""

    def __init__(self, n, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.bias = nn.Parameter(torch.zeros(n)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class CausalSelfAttention(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.c_attn = nn.Linear(a["n_embd"], 3 * a["n_embd"], bias=a["bias"])
        self.c_proj = nn.Linear(a["n_embd"], a["n_embd"], bias=a["bias"])
        self.n_head, self.n_embd = a["n_head"], a["n_embd"]

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(torch.ones(T, T, dtype=torch.bool).tril().logical_not(), float("-inf"))
        y = F.softmax(att, dim=-1) @ v
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))


class MLP(nn.Module):
    def __init__(self, a, gelu, width):
        super().__init__()
        self.c_fc = nn.Linear(a["n_embd"], width, bias=a["bias"])
        self.gelu = nn.GELU(approximate=gelu)
        self.c_proj = nn.Linear(width, a["n_embd"], bias=a["bias"])

    def forward(self, x):
        return self.c_proj(self.gelu(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, a, gelu, width):
        super().__init__()
        self.ln_1, self.attn = LayerNorm(a["n_embd"], a["bias"]), CausalSelfAttention(a)
        self.ln_2, self.mlp = LayerNorm(a["n_embd"], a["bias"]), MLP(a, gelu, width)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, a, gelu="none", width=None):
        super().__init__()
        self.block_size = a["block_size"]
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(a["vocab_size"], a["n_embd"]),
            wpe=nn.Embedding(a["block_size"], a["n_embd"]),
            drop=nn.Dropout(a["dropout"]),
            h=nn.ModuleList([Block(a, gelu, width or 4 * a["n_embd"]) for _ in range(a["n_layer"])]),
            ln_f=LayerNorm(a["n_embd"], a["bias"])))
        self.lm_head = nn.Linear(a["n_embd"], a["vocab_size"], bias=False)
        self.transformer.wte.weight = self.lm_head.weight  # weight tying, as nanoGPT

    def forward(self, idx):
        t = idx.size(1)
        x = self.transformer.wte(idx) + self.transformer.wpe(torch.arange(t))
        for block in self.transformer.h:
            x = block(x)
        return self.lm_head(self.transformer.ln_f(x))

    @torch.no_grad()
    def greedy(self, idx, n):
        """nanoGPT's generate() at temperature -> 0: the context cropped to block_size."""
        for _ in range(n):
            logits = self(idx[:, -self.block_size:])[:, -1, :]
            idx = torch.cat((idx, logits.argmax(dim=-1, keepdim=True)), dim=1)
        return idx


def model_args(bias=True, n_layer=2, n_head=4, n_embd=32, block_size=24):
    return dict(n_layer=n_layer, n_head=n_head, n_embd=n_embd, block_size=block_size, bias=bias,
                vocab_size=len(CHARS), dropout=0.0)


def random_gpt(a, gelu="none", width=None, seed=0):
    torch.manual_seed(seed)
    gpt = GPT(a, gelu, width)
    with torch.no_grad():
        for name, p in gpt.named_parameters():
            if name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
                p.copy_(1 + 0.2 * torch.randn_like(p))
            else:
                p.copy_(0.3 * torch.randn_like(p) if p.dim() == 2 else 0.1 * torch.randn_like(p))
    return gpt.eval()


def save_nanogpt(folder, gpt, a, itos=None, compiled=False):
    """ckpt.pt with train.py's keys, and meta.pkl; returns their paths."""
    state = gpt.state_dict()
    if compiled:  # a torch.compile'd model's state_dict
        state = {"_orig_mod." + k: v for k, v in state.items()}
    optimizer = torch.optim.AdamW(gpt.parameters(), lr=1e-3)
    ckpt = {"model": state, "optimizer": optimizer.state_dict(), "model_args": a, "iter_num": 5000,
            "best_val_loss": torch.tensor(1.4697), "config": {"dataset": "shakespeare_char", **a}}
    torch.save(ckpt, folder / "ckpt.pt")
    itos = itos if itos is not None else dict(enumerate(CHARS))
    meta = {"vocab_size": len(itos), "itos": itos, "stoi": {c: i for i, c in itos.items()}}
    with open(folder / "meta.pkl", "wb") as f:
        pickle.dump(meta, f)
    return str(folder / "ckpt.pt"), str(folder / "meta.pkl")


def import_nanogpt(cli, ckpt, meta, out, check=True):
    """`causalgen import-nanogpt` as a user runs it."""
    env = dict(os.environ, CAUSALGEN_PYTHON=sys.executable)  # the Python that has torch
    r = subprocess.run([cli, "import-nanogpt", "--checkpoint", ckpt, "--meta", meta, "--out", out],
                       capture_output=True, text=True, env=env)
    if check and r.returncode != 0:
        raise AssertionError(f"import-nanogpt: exit {r.returncode}: {r.stderr}")
    return r


@pytest.fixture(scope="module")
def importer(cli):
    """The script `causalgen import-nanogpt` runs (beside the CLI), loaded here:
    the same code without a Python start and a torch import per case."""
    path = os.path.join(os.path.dirname(cli), "causalgen-import-nanogpt")
    loader = importlib.machinery.SourceFileLoader("causalgen_import_nanogpt", path)
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module


def run_importer(importer, capsys, *args):
    """(exit status, stderr) of the importer's main()."""
    try:
        status = importer.main(list(args))
    except SystemExit as e:
        status = e.code
    return status, capsys.readouterr().err


def torch_logits(gpt, text, itos):
    stoi = {c: i for i, c in itos.items()}
    with torch.no_grad():
        return gpt(torch.tensor([[stoi[c] for c in text]]))[0].numpy()


TEXT = "ROMEO:\nIs the day so young?"  # 27 characters > T = 24: logits of the first 24


@pytest.mark.parametrize("bias", [True, False])
def test_logits_and_greedy_text_equal_pytorch(cli, tmp_path, bias):
    a = model_args(bias=bias)
    gpt = random_gpt(a, gelu="tanh")
    ckpt, meta = save_nanogpt(tmp_path, gpt, a, compiled=not bias)
    out = str(tmp_path / "model.cgm")
    import_nanogpt(cli, ckpt, meta, out)

    m = causalgen.Model.load(out)
    info = m.info
    assert info["mixers"] == ["attention"] * 2 and info["pos_emb"] and info["bias"] == bias
    assert (info["vocab"], info["block_size"], info["n_head"]) == ("".join(CHARS), 24, 4)
    assert info["parameters"] == sum(p.numel() for n, p in gpt.named_parameters())

    text = TEXT[:a["block_size"]]
    ours, theirs = m.logits(text), torch_logits(gpt, text, dict(enumerate(CHARS)))
    assert np.abs(ours - theirs).max() < 1e-4

    # 200 characters greedily: the CLI (through the model file) and PyTorch, past the window.
    prompt = "ROMEO:"
    cli_out = run_cli(cli, "generate", "--model", out, "--prompt", prompt, "--tokens", "200",
                      "--temperature", "0").stdout
    idx = gpt.greedy(torch.tensor([[CHARS.index(c) for c in prompt]]), 200)
    torch_text = "".join(CHARS[i] for i in idx[0].tolist())
    assert len(torch_text) == 206 and cli_out == torch_text + "\n"
    assert len(set(torch_text[6:])) > 5  # not a degenerate repetition


def test_unsorted_vocabulary_is_reordered(tmp_path, importer, capsys):
    a = model_args()
    gpt = random_gpt(a, gelu="tanh", seed=1)
    shuffled = CHARS[::-1]  # nanoGPT id i is shuffled[i]; causalgen's ids are sorted
    itos = dict(enumerate(shuffled))
    ckpt, meta = save_nanogpt(tmp_path, gpt, a, itos=itos)
    out = str(tmp_path / "model.cgm")
    assert run_importer(importer, capsys, "--checkpoint", ckpt, "--meta", meta, "--out", out)[0] == 0
    m = causalgen.Model.load(out)
    assert m.vocab == "".join(CHARS)
    theirs = torch_logits(gpt, TEXT[:24], itos)[:, [shuffled.index(c) for c in CHARS]]
    assert np.abs(m.logits(TEXT[:24]) - theirs).max() < 1e-4


def test_exact_gelu_differs_only_by_the_approximation(tmp_path, importer, capsys):
    # Today's nanoGPT uses nn.GELU() (erf); causalgen computes the tanh form. The
    # import goes through with a note; the logits differ by the approximation only.
    a = model_args()
    gpt = random_gpt(a, gelu="none")
    ckpt, meta = save_nanogpt(tmp_path, gpt, a)
    out = str(tmp_path / "model.cgm")
    status, err = run_importer(importer, capsys, "--checkpoint", ckpt, "--meta", meta, "--out", out)
    assert status == 0 and "GELU" in err
    ours = causalgen.Model.load(out).logits(TEXT[:24])
    exact = torch_logits(gpt, TEXT[:24], dict(enumerate(CHARS)))
    with torch.no_grad():
        for block in gpt.transformer.h:
            block.mlp.gelu = nn.GELU(approximate="tanh")
    tanh = torch_logits(gpt, TEXT[:24], dict(enumerate(CHARS)))
    assert np.abs(ours - tanh).max() < 1e-4
    assert 1e-4 < np.abs(ours - exact).max() < 0.05


def refused(importer, capsys, tmp_path, ckpt, meta, expected):
    out = tmp_path / "model.cgm"
    out.write_bytes(b"an earlier file")
    status, err = run_importer(importer, capsys, "--checkpoint", ckpt, "--meta", meta, "--out", str(out))
    assert status == 1, err
    assert err.startswith("causalgen: error: ") and expected in err, err
    assert len(err.splitlines()) == 1
    assert out.read_bytes() == b"an earlier file"  # nothing written before is lost
    assert [p.name for p in tmp_path.iterdir() if ".tmp" in p.name] == []


def test_refuses_a_non_character_vocabulary(importer, capsys, tmp_path):
    a = model_args()
    itos = dict(enumerate(CHARS))
    itos[5] = "th"
    ckpt, meta = save_nanogpt(tmp_path, random_gpt(a), a, itos=itos)
    refused(importer, capsys, tmp_path, ckpt, meta, "token 5 is 'th', not one character")


def test_refuses_a_padded_vocabulary(importer, capsys, tmp_path):
    a = model_args()
    ckpt, meta = save_nanogpt(tmp_path, random_gpt(a), a, itos=dict(enumerate(CHARS[:-3])))
    refused(importer, capsys, tmp_path, ckpt, meta, f"vocab_size is {len(CHARS)} but meta.pkl has {len(CHARS) - 3}")


def test_refuses_another_mlp_width(importer, capsys, tmp_path):
    a = model_args()
    ckpt, meta = save_nanogpt(tmp_path, random_gpt(a, width=3 * 32), a)
    refused(importer, capsys, tmp_path, ckpt, meta, "the MLP is 96 wide, not 4 x n_embd = 128")


def test_refuses_an_untied_embedding(importer, capsys, tmp_path):
    a = model_args()
    gpt = random_gpt(a)
    gpt.lm_head.weight = nn.Parameter(gpt.lm_head.weight.detach().clone() + 0.01)
    ckpt, meta = save_nanogpt(tmp_path, gpt, a)
    refused(importer, capsys, tmp_path, ckpt, meta, "lm_head.weight differs from transformer.wte.weight")


def test_refuses_what_is_not_a_checkpoint(importer, capsys, tmp_path):
    a = model_args()
    _, meta = save_nanogpt(tmp_path, random_gpt(a), a)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    refused(importer, capsys, tmp_path, str(junk), meta, "junk.pt: not a checkpoint of torch.save")
    refused(importer, capsys, tmp_path, str(tmp_path / "absent.pt"), meta, "absent.pt: No such file or directory")
    class Code:
        def __reduce__(self):
            return (os.system, ("echo this must not run",))
    torch.save({"model": Code(), "model_args": a}, tmp_path / "code.pt")
    refused(importer, capsys, tmp_path, str(tmp_path / "code.pt"), meta,
            "holds a posix.system object, not tensors and plain data")


def test_usage_error_exits_2(importer, capsys):
    status, err = run_importer(importer, capsys, "--checkpoint", "ckpt.pt", "--out", "model.cgm")
    assert status == 2 and "causalgen: error: the following arguments are required: --meta" in err
