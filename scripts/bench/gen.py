#!/usr/bin/env python3
"""Writes a benchmark data set: gen.py KIND FILE MIB [SEED].

KIND: random (incompressible), text (pseudo-English, LZ4 ~2:1), halfzero (1 MiB runs, every other
one random, the rest left as holes that read as zeros), mixed (4 KiB blocks: random, text, text, zero).
The same seed gives the same bytes.
"""
import os
import random
import sys

WORDS = ("the of and to in a is that for it as was with be by on not this are or from at which but have an "
         "they you volume block write journal replica target image checkpoint recovery primary storage network "
         "disk host data time system file server between after before through without during because important "
         "available").split()
MIB = 1 << 20


def text_chunk(rng, size):
    out = []
    n = 0
    while n < size:
        w = rng.choice(WORDS)
        sep = "\n" if rng.randrange(12) == 0 else " "
        out.append(w + sep)
        n += len(w) + 1
    return "".join(out).encode()[:size]


def main():
    kind, path, mib = sys.argv[1], sys.argv[2], int(sys.argv[3])
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    rng = random.Random(seed)
    with open(path, "wb") as f:
        f.truncate(mib * MIB)
        if kind == "text":
            # 8 MiB of distinct text, then varied by a per-MiB header so no two MiB are equal.
            base = text_chunk(rng, 8 * MIB)
            for i in range(mib):
                chunk = bytearray(base[(i % 8) * MIB:(i % 8 + 1) * MIB])
                chunk[0:16] = ("%015d\n" % i).encode()
                f.write(chunk)
        elif kind == "random":
            for _ in range(mib):
                f.write(rng.randbytes(MIB))
        elif kind == "halfzero":
            for i in range(0, mib, 2):
                f.seek(i * MIB)
                f.write(rng.randbytes(MIB))
        elif kind == "mixed":
            text = text_chunk(rng, 4 * MIB)
            for i in range(mib):
                blocks = []
                for b in range(256):
                    k = b % 4
                    if k == 0:
                        blocks.append(rng.randbytes(4096))
                    elif k == 3:
                        blocks.append(bytes(4096))
                    else:
                        off = rng.randrange(0, 4 * MIB - 4096)
                        blocks.append(text[off:off + 4096])
                f.write(b"".join(blocks))
        else:
            sys.exit("gen.py: unknown kind " + kind)
        f.flush()
        os.fsync(f.fileno())


main()
