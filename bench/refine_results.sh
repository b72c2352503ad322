#!/usr/bin/env bash
# Reproduces the README's refinement results for the bundled model: a small sweep of
# the DDLS and DOT step sizes, then 3 seeds x 10,000 samples of every method, scored
# with JS-4/JS-6 against held-out shard 00013. Usage (from the repository root):
#   make build && bench/refine_results.sh            # N=10000 SWEEP_N=2000 by default
set -euo pipefail
BIN=${BIN:-./bin/dgtext}
BW=${BW:-../shared/data/billion-words}
EVAL=1-billion-word-language-modeling-benchmark-r13output/heldout-monolingual.tokenized.shuffled/news.en.heldout-00013-of-00050
OUT=${OUT:-out/results}
N=${N:-10000}
SWEEP_N=${SWEEP_N:-2000}
SEEDS=${SEEDS-"1 2 3"}
mkdir -p "$OUT"

run() { # run NAME SEED N [refine flags...]
	local name=$1 seed=$2 n=$3
	shift 3
	"$BIN" refine --threads "${THREADS:-0}" --corpus billion-words --data-dir "$BW" --eval-files "$EVAL" --n "$n" --seed "$seed" \
		--quiet --show 0 --json --out "$OUT/$name-s$seed.parquet" "$@" >"$OUT/$name-s$seed.json"
	echo "done $name seed $seed" >&2
}

# 1. Sweep the baselines' step sizes on SWEEP_N samples, seed 100 (not a reported seed).
#    DDLS_EPS and DOT_LR given in the environment skip it.
best() { python3 bench/refine_table.py --best "$OUT" "$1"; }
if [ -z "${DDLS_EPS:-}" ]; then
	for eps in 0.01 0.03 0.1 0.3; do run "sweep-ddls-eps$eps" 100 "$SWEEP_N" --method ddls --eps "$eps"; done
	DDLS_EPS=$(best sweep-ddls-eps)
fi
if [ -z "${DOT_LR:-}" ]; then
	for lr in 0.01 0.03 0.1 0.3; do run "sweep-dot-lr$lr" 100 "$SWEEP_N" --method dot --dot-lr "$lr"; done
	DOT_LR=$(best sweep-dot-lr)
fi
echo "DDLS eps $DDLS_EPS, DOT lr $DOT_LR" >&2

# 2. Every method, 3 seeds. A seed fixes the starting latents, so step 0 is the same
#    base sample for every method of that seed.
for seed in $SEEDS; do
	run dgflow-kl "$seed" "$N" --f kl
	run dgflow-js "$seed" "$N" --f js
	run dgflow-logd "$seed" "$N" --f logd
	run ddls "$seed" "$N" --method ddls --eps "$DDLS_EPS"
	run dot "$seed" "$N" --method dot --dot-lr "$DOT_LR"
	run auto "$seed" "$N" --steps auto
done
python3 bench/refine_table.py "$OUT"
