#!/usr/bin/env bash
# Wall time of cordon's SBOM generator against cargo-cyclonedx and cargo-sbom on the same
# package, measured in the same run, interleaved, RUNS times each (default 5); prints
# each tool's median and the ratio of cordon's median to each peer's.
#
# Usage: sbom/bench/peers.sh WORKSPACE_DIR PACKAGE BIN BUILT_BINARY
# Needs `cargo-cyclonedx` and `cargo-sbom` on PATH (e.g. `cargo install --locked
# cargo-cyclonedx@0.5.9 cargo-sbom@0.10.0 --root DIR`), and target/debug/xtask built.
# Outputs go to a temporary directory; the workspace is not written to except by
# cargo-cyclonedx, which writes `<bin>_bin.cdx.json` files next to the manifests (removed
# after): give it a scratch copy of the workspace.
set -euo pipefail
workspace=$1 package=$2 bin=$3 binary=$4
runs=${RUNS:-5}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
xtask=$here/target/debug/xtask
target=$(rustc -vV | sed -n 's/^host: //p')
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
manifest=$(cd "$workspace" && cargo metadata --format-version 1 --no-deps --locked |
  python3 -c "import json,sys; m=json.load(sys.stdin); print([p['manifest_path'] for p in m['packages'] if p['name']=='$package'][0])")
pkgdir=$(dirname "$manifest")

cordon() { "$xtask" sbom --manifest-path "$workspace/Cargo.toml" -p "$package" --bin "$bin" \
  --target "$target" --format cyclonedx-1.6 --binary "$binary" --out "$out/cordon.cdx.json" 2>/dev/null; }
cyclonedx() { cargo-cyclonedx cyclonedx --manifest-path "$manifest" -f json --describe binaries \
  --target "$target" --spec-version 1.5 --no-build-deps -q
  rm -f "$pkgdir"/*_bin.cdx.json; }
sbom() { (cd "$workspace" && cargo-sbom sbom --cargo-package "$package" \
  --output-format cyclone_dx_json_1_6 >"$out/cargo-sbom.cdx.json"); }

declare -A times
for ((i = 0; i < runs; i++)); do
  for tool in cordon cyclonedx sbom; do
    start=$(date +%s%N)
    "$tool"
    end=$(date +%s%N)
    times[$tool]+="$(((end - start) / 1000000)) "
  done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
c=$(echo "${times[cordon]}" | median)
y=$(echo "${times[cyclonedx]}" | median)
s=$(echo "${times[sbom]}" | median)
echo "runs: $runs; milliseconds: cordon [${times[cordon]}] cargo-cyclonedx [${times[cyclonedx]}] cargo-sbom [${times[sbom]}]"
echo "median ms: cordon $c, cargo-cyclonedx $y, cargo-sbom $s"
awk -v c="$c" -v y="$y" -v s="$s" 'BEGIN {printf "ratio cordon/cargo-cyclonedx %.2f, cordon/cargo-sbom %.2f\n", c/y, c/s}'
