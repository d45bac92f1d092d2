"""What the tests compare with: the built `causalgen` CLI and emit_logits (the
C++ forward pass, tests/format/emit_logits.cpp). ctest passes their paths in
$CAUSALGEN_CLI and $CAUSALGEN_EMIT_LOGITS; run by hand, they are taken from the
checkout's build/release (or the first build/* that has them)."""
import glob
import os
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHIPPED_MODEL = os.path.join(REPO, "examples", "models", "tiny-shakespeare-max-avg.cgm")


def _built(env, relative):
    if os.environ.get(env):
        return os.environ[env]
    for build in [os.path.join(REPO, "build", "release")] + sorted(glob.glob(os.path.join(REPO, "build", "*"))):
        path = os.path.join(build, relative)
        if os.path.exists(path):
            return path
    pytest.skip(f"{relative} is not built (or set ${env})")


@pytest.fixture(scope="session")
def cli():
    return _built("CAUSALGEN_CLI", "tools/causalgen")


@pytest.fixture(scope="session")
def emit_logits():
    return _built("CAUSALGEN_EMIT_LOGITS", "tests/format/emit_logits")


@pytest.fixture(scope="session")
def random_models(emit_logits, tmp_path_factory):
    """Models the shipped one is not: hybrid.cgm (attention + min + max + min-avg,
    position embedding, T = 8) and nobias.cgm (max + attention, no bias, T = 6)."""
    folder = tmp_path_factory.mktemp("models")
    subprocess.run([emit_logits, "models", str(folder)], check=True)
    return {name: str(folder / f"{name}.cgm") for name in ("hybrid", "nobias")}


def run_cli(cli, *args, check=True):
    r = subprocess.run([cli, *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise AssertionError(f"causalgen {' '.join(args)}: exit {r.returncode}: {r.stderr}")
    return r
