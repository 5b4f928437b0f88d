#!/usr/bin/env bash
# The release pipeline's cost, measured against a baseline in the same run:
#   baseline: `cargo build --release --locked` of the shipped binaries, from a clean target dir;
#   release:  `cargo xtask release` (reproducible build + .dep-v0 + SBOMs + provenance +
#             signatures + notes + manifest), from a clean target dir;
# RUNS times each (default 3), interleaved so both see the same machine load; prints the
# medians and their ratio. Then times one cold `cargo xtask repro-check` (both builds from
# scratch, as in CI where it runs before the release stage).
# Usage: xtask/bench/release-overhead.sh   (takes several minutes per run)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
runs=${RUNS:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/cordon-bench-XXXXXX")
trap 'rm -rf "$work"' EXIT

cargo build --locked --quiet --package xtask
xtask=target/debug/xtask
bins=()
while read -r package bin; do
  bins+=(--package "$package" --bin "$bin")
done < <(cargo metadata --locked --no-deps --format-version 1 | python3 -c '
import json, sys
for p in json.load(sys.stdin)["packages"]:
    if p.get("publish") == []:
        continue
    for t in p["targets"]:
        if "bin" in t["kind"]:
            print(p["name"], t["name"])')

seconds() { python3 -c 'import time; print(time.monotonic())'; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

plain=() release=()
for i in $(seq "$runs"); do
  start=$(seconds)
  CARGO_TARGET_DIR="$work/plain-$i" cargo build --release --locked --quiet "${bins[@]}"
  plain+=("$(python3 -c "import time; print(round(time.monotonic() - $start, 1))")")
  rm -rf "$work/plain-$i"

  start=$(seconds)
  CARGO_TARGET_DIR="$work/release-$i" "$xtask" release --quiet --allow-dirty --force \
    --dist "$work/dist-$i" >/dev/null
  release+=("$(python3 -c "import time; print(round(time.monotonic() - $start, 1))")")
  rm -rf "$work/release-$i" "$work/dist-$i"
  echo "run $i: plain ${plain[-1]} s, release ${release[-1]} s" >&2
done
p=$(median "${plain[@]}")
r=$(median "${release[@]}")
echo "plain cargo build --release --locked (median of $runs): $p s   [${plain[*]}]"
echo "cargo xtask release                  (median of $runs): $r s   [${release[*]}]"
python3 -c "print(f'overhead ratio release/plain: {$r / $p:.2f}')"

start=$(seconds)
CARGO_TARGET_DIR="$work/repro" "$xtask" repro-check --quiet --allow-dirty >/dev/null
echo "cargo xtask repro-check (cold, both builds): $(python3 -c "import time; print(round(time.monotonic() - $start, 1))") s"
