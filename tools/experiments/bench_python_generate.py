#!/usr/bin/env python3
"""The Python package's generation loop beside the CLI's, same model and
settings, best of --repeats: chars/s by wall clock of the generation alone
(the CLI's own `--stats` line; Python times Model.generate) and by CPU time
(the CLI process's whole CPU time, loading included; Python's process_time
around Model.generate), which a loaded machine disturbs less.

    python3 tools/experiments/bench_python_generate.py --cli build/release/tools/causalgen \\
        --model examples/models/tiny-shakespeare-max-avg.cgm --chars 20000 --repeats 5
(with the package importable: installed, or PYTHONPATH=python)"""
import argparse
import re
import resource
import subprocess
import time

import causalgen


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def cli_rate(cli, model, chars, seed):
    c0 = children_cpu()
    r = subprocess.run([cli, "generate", "--model", model, "--prompt", "ROMEO:", "--tokens", str(chars),
                        "--seed", str(seed), "--stats"], capture_output=True, text=True, check=True)
    cpu = children_cpu() - c0
    return float(re.search(r"([0-9.]+) chars/s", r.stderr).group(1)), chars / cpu, r.stdout


def python_rate(m, chars, seed):
    t0, c0 = time.perf_counter(), time.process_time()
    text = m.generate("ROMEO:", chars, seed=seed)
    return chars / (time.perf_counter() - t0), chars / (time.process_time() - c0), text


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cli", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--chars", type=int, default=20000)
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args()
    m = causalgen.Model.load(a.model)
    cli, py = [], []
    for i in range(a.repeats):  # interleaved, so that both see the same load
        *rates, out = cli_rate(a.cli, a.model, a.chars, 1337 + i)
        cli.append(rates)
        *rates, text = python_rate(m, a.chars, 1337 + i)
        py.append(rates)
        assert out == "ROMEO:" + text + "\n", "the Python text differs from the CLI's"
    print(f"model {a.model}, {a.chars} characters, best of {a.repeats}")
    for k, what in enumerate(("wall", "CPU")):
        c, p_ = max(r[k] for r in cli), max(r[k] for r in py)
        print(f"{what:4}  CLI {c:8.0f} chars/s  Python {p_:8.0f} chars/s  Python/CLI {p_ / c:.3f}")


if __name__ == "__main__":
    main()
