#!/usr/bin/env python3
"""Independent n-gram Jensen-Shannon divergence, for checking `dgtext eval`.

A deliberately plain implementation (collections.Counter over string slices, one
core) of the same semantics: each non-empty line (trailing "\\r" removed) is cut to
--seq-len code points and right-padded with '`'; every character n-gram counts;
JS = 1/2 [KL(P||M) + KL(Q||M)] / ln 2 with M = (P + Q) / 2, each KL over its own
support, summed with math.fsum.

    python3 bench/js_baseline.py --samples A.txt --reference B.txt -n 1,2,3,4,6
    dgtext eval ... --json > out.json
    python3 bench/js_baseline.py --samples A.txt --reference B.txt -n 1,2,3,4,6 --check out.json

With --check it compares its values with the "js" object of dgtext's JSON output and
exits with status 1 if any differs by more than --tol (default 1e-9).
"""
import argparse
import collections
import json
import math
import sys
import time


def read_lines(paths):
    lines = []
    for path in paths:
        with open(path, encoding="utf-8", errors="replace", newline="\n") as f:
            for line in f:
                line = line.rstrip("\n")
                if line.endswith("\r"):
                    line = line[:-1]
                if line:
                    lines.append(line)
    return lines


def counts(lines, n, seq_len):
    c = collections.Counter()
    for line in lines:
        s = line[:seq_len].ljust(seq_len, "`")
        for i in range(len(s) - n + 1):
            c[s[i:i + n]] += 1
    return c


def js(a, b):
    ta, tb = sum(a.values()), sum(b.values())
    terms = []
    for g, ca in a.items():
        p = ca / ta
        q = b.get(g, 0) / tb
        terms.append(p * math.log(p / ((p + q) / 2)))
    for g, cb in b.items():
        q = cb / tb
        p = a.get(g, 0) / ta
        terms.append(q * math.log(q / ((p + q) / 2)))
    return 0.5 * math.fsum(terms) / math.log(2)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", nargs="+", required=True)
    ap.add_argument("--reference", nargs="+", required=True)
    ap.add_argument("-n", default="4,6", help="orders, e.g. 4,6")
    ap.add_argument("--seq-len", type=int, default=32)
    ap.add_argument("--check", help="dgtext eval --json output to compare with")
    ap.add_argument("--tol", type=float, default=1e-9)
    args = ap.parse_args()
    orders = [int(x) for x in args.n.split(",")]
    t0 = time.time()
    a, b = read_lines(args.samples), read_lines(args.reference)
    out = {"samples": len(a), "reference": len(b), "js": {}}
    for n in orders:
        out["js"][str(n)] = js(counts(a, n, args.seq_len), counts(b, n, args.seq_len))
    out["seconds"] = time.time() - t0
    print(json.dumps(out, indent=2))
    if args.check:
        with open(args.check) as f:
            got = json.load(f)
        bad = False
        for key in ("samples", "reference"):
            if got[key] != out[key]:
                print(f"{key}: dgtext {got[key]}, python {out[key]}", file=sys.stderr)
                bad = True
        for n, v in out["js"].items():
            d = abs(got["js"][n] - v)
            status = "ok" if d <= args.tol else "MISMATCH"
            print(f"JS-{n}: dgtext {got['js'][n]:.17g} python {v:.17g} diff {d:.3g} {status}", file=sys.stderr)
            bad = bad or d > args.tol
        if bad:
            sys.exit(1)


if __name__ == "__main__":
    main()
