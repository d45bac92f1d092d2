#!/usr/bin/env python3
"""What a model-file fuzz corpus reaches: each file is resealed as
fuzz_model_file's second parse does (CRC-32 recomputed), loaded with
`causalgen info --model`, and the refusals are counted by kind (numbers and
quoted names stripped), with the files that load.

    corpus_outcomes.py CAUSALGEN CORPUS_DIR
"""
import collections
import os
import re
import subprocess
import sys
import tempfile
import zlib


def outcome(exe, path):
    r = subprocess.run([exe, 'info', '--model', path], capture_output=True, text=True,
                       errors='backslashreplace')
    if r.returncode == 0:
        return '(loads)'
    msg = r.stderr.strip().split(': ', 3)[-1]
    msg = re.sub(r"'[^']*'", "'T'", msg)
    return re.sub(r'0x[0-9a-f]+|\d+', 'N', msg)


def main():
    exe, corpus = sys.argv[1], sys.argv[2]
    counts = collections.Counter()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'input.cgm')
        for name in sorted(os.listdir(corpus)):
            with open(os.path.join(corpus, name), 'rb') as f:
                b = bytearray(f.read())
            if len(b) >= 8:
                b[-4:] = zlib.crc32(bytes(b[:-4])).to_bytes(4, 'little')
            with open(path, 'wb') as f:
                f.write(b)
            counts[outcome(exe, path)] += 1
    print(f'{sum(counts.values())} files, {len(counts)} distinct outcomes')
    for m, n in counts.most_common():
        print(f'{n:5d}  {m}')


if __name__ == '__main__':
    main()
