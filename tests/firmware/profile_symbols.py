#!/usr/bin/env python3
"""Sums an instruction profile (tests/firmware/insn_plugin.c) by function.

  profile_symbols.py fw.elf profile.txt [N]   -> the N biggest functions
Needs arm-none-eabi-nm (C++ names demangled)."""
import bisect, subprocess, sys

elf, prof = sys.argv[1], sys.argv[2]
top = int(sys.argv[3]) if len(sys.argv) > 3 else 25
syms = []
for line in subprocess.run(["arm-none-eabi-nm", "-C", "-S", "--defined-only", elf],
                           capture_output=True, text=True, check=True).stdout.splitlines():
    parts = line.split(None, 3)
    if len(parts) == 4 and parts[2].lower() in "tw":
        syms.append((int(parts[0], 16) & ~1, int(parts[1], 16), parts[3]))
syms.sort()
starts = [s[0] for s in syms]
by_fn, total = {}, 0
for line in open(prof):
    a, c = line.split()
    if a == "total":
        total = int(c)
        continue
    if a == "other":
        by_fn["(outside 16 MiB)"] = int(c)
        continue
    pc = int(a, 16)
    i = bisect.bisect_right(starts, pc) - 1
    name = syms[i][2] if i >= 0 and pc < syms[i][0] + max(syms[i][1], 2) else "(unknown)"
    by_fn[name] = by_fn.get(name, 0) + int(c)
print(f"total {total}")
for name, c in sorted(by_fn.items(), key=lambda kv: -kv[1])[:top]:
    print(f"{c:>12} {100.0 * c / total:5.1f}%  {name}")
