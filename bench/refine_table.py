#!/usr/bin/env python3
"""Summarises the JSON written by bench/refine_results.sh as the README's tables.

refine_table.py DIR            print the results table (mean ± std over seeds)
refine_table.py --best DIR P   print the parameter value of the sweep runs named P*
                               whose last step has the lowest JS-4
"""
import glob
import json
import os
import re
import statistics
import sys


def load(path):
    with open(path) as f:
        return json.load(f)


def last(rep):
    return rep["steps"][-1]


def best(out, prefix):
    scored = []
    for p in glob.glob(os.path.join(out, prefix + "*-s*.json")):
        name = os.path.basename(p)
        m = re.match(re.escape(prefix) + r"([0-9.]+)-s\d+\.json$", name)
        if m:
            scored.append((last(load(p))["scores"]["JS-4"], m.group(1)))
    if not scored:
        sys.exit("no sweep runs named " + prefix)
    for js, v in sorted(scored, key=lambda x: float(x[1])):
        print(f"sweep {prefix}{v}: final JS-4 {js:.4f}", file=sys.stderr)
    print(min(scored)[1])


def fmt(xs):
    if len(xs) == 1:
        return f"{xs[0]:.4f}"
    return f"{statistics.mean(xs):.4f} ± {statistics.stdev(xs):.4f}"


def table(out):
    runs = {}
    for p in sorted(glob.glob(os.path.join(out, "*-s*.json"))):
        name = os.path.basename(p)
        if name.startswith("sweep-"):
            continue
        method, seed = re.match(r"(.+)-s(\d+)\.json$", name).groups()
        try:
            runs.setdefault(method, {})[int(seed)] = load(p)
        except json.JSONDecodeError:
            print(f"skipping {name}: not a finished run", file=sys.stderr)
    order = ["dgflow-kl", "dgflow-js", "dgflow-logd", "ddls", "dot", "auto"]
    base = runs.get("dgflow-kl", {})
    print("| method | steps | JS-4 | JS-6 | mean critic | ΔJS-4 vs base (each seed) |")
    print("|---|---|---|---|---|---|")
    b4 = [r["steps"][0]["scores"]["JS-4"] for r in base.values()]
    b6 = [r["steps"][0]["scores"]["JS-6"] for r in base.values()]
    bc = [r["steps"][0]["critic_mean"] for r in base.values()]
    print(f"| base G(z) | 0 | {fmt(b4)} | {fmt(b6)} | {fmt(bc)} | |")
    for m in order:
        if m not in runs:
            continue
        seeds = sorted(runs[m])
        j4 = [last(runs[m][s])["scores"]["JS-4"] for s in seeds]
        j6 = [last(runs[m][s])["scores"]["JS-6"] for s in seeds]
        cr = [last(runs[m][s])["critic_mean"] for s in seeds]
        steps = sorted({last(runs[m][s])["step"] for s in seeds})
        deltas = [last(runs[m][s])["scores"]["JS-4"] - runs[m][s]["steps"][0]["scores"]["JS-4"] for s in seeds]
        label = runs[m][seeds[0]]["method"] + (", --steps auto" if m == "auto" else "")
        params = runs[m][seeds[0]]["params"]
        extra = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in sorted(params.items()) if k not in ("steps", "save_every"))
        print(f"| {label} ({extra}) | {'/'.join(map(str, steps))} | {fmt(j4)} | {fmt(j6)} | {fmt(cr)} | {' '.join(f'{d:+.4f}' for d in deltas)} |")
    if "dgflow-kl" in runs and "auto" in runs:
        print()
        print("DGflow-KL JS-4 at each saved step (mean over seeds) against --steps auto:")
        kl = runs["dgflow-kl"]
        steps = [r["step"] for r in next(iter(kl.values()))["steps"]]
        means = [(statistics.mean(r["steps"][i]["scores"]["JS-4"] for r in kl.values()), k) for i, k in enumerate(steps)]
        print(" ".join(f"step {k}: {v:.4f}" for v, k in means))
        bv, bk = min(means)
        auto = runs["auto"]
        chosen = [last(r)["step"] for r in auto.values()]
        av = statistics.mean(last(r)["scores"]["JS-4"] for r in auto.values())
        print(f"best fixed step {bk} (JS-4 {bv:.4f}); auto chose {chosen} (JS-4 {av:.4f})")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--best":
        best(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 2:
        table(sys.argv[1])
    else:
        sys.exit(__doc__)
