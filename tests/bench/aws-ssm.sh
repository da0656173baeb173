#!/usr/bin/env bash
# Benchmark (not a test): 1,000 declared `aws/ssm` secrets on a local moto server.
# `atmos secret validate` and `atmos secret exec -- true` (wall time and SSM request count) vs a
# one-call-per-secret sequential baseline (boto3 `GetParameter` per name) on the same server.
#
# Needs: cargo (or ATMOS_BIN), .svc/moto (moto[server] 5.2.5 + boto3; `bash .ci/test` installs it).
#
#   tests/bench/aws-ssm.sh           # N=1000 secrets, RUNS=5 timed runs (median)
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
n=${N:-1000}
runs=${RUNS:-5}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
py="$repo/.svc/moto/bin/python"
moto_server="$repo/.svc/moto/bin/moto_server"
[ -x "$moto_server" ] || { echo "moto not installed: run bash .ci/test (or see test-services)" >&2; exit 1; }

atmos=${ATMOS_BIN:-}
if [ -z "$atmos" ]; then
  echo "building release…" >&2
  (cd "$repo" && cargo build --release --quiet)
  atmos="$CARGO_TARGET_DIR/release/atmos"
fi

work=$(mktemp -d)
port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
MOTO_ENABLE_RECORDING=True MOTO_RECORDER_FILEPATH="$work/rec.jsonl" \
  "$moto_server" -H 127.0.0.1 -p "$port" > "$work/moto.log" 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
url="http://127.0.0.1:$port"
for _ in $(seq 1 200); do
  curl -sf "$url/moto-api/data.json" > /dev/null && break
  sleep 0.05
done

export AWS_ENDPOINT_URL="$url" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
  AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true N="$n" \
  ATMOS_EXPERIMENTAL=silence

mkdir -p "$work/p/stacks" "$work/home"
cat > "$work/p/atmos.yaml" <<EOF
base_path: "."
stacks: { base_path: stacks, included_paths: ["*.yaml"], name_pattern: "{stage}" }
stores:
  ssm:
    kind: aws/ssm
    secret: true
    options: { region: us-east-1, prefix: /bench, endpoint: "$url" }
EOF
{
  printf 'vars:\n  stage: dev\ncomponents:\n  terraform:\n    api:\n      secrets:\n        vars:\n'
  for i in $(seq -w 1 "$n"); do printf '          S%s: { store: ssm, required: true }\n' "$i"; done
} > "$work/p/stacks/dev.yaml"

"$py" - <<'EOF'
import os, boto3
s = boto3.client("ssm")
n = int(os.environ["N"])
w = len(str(n))
for i in range(1, n + 1):
    s.put_parameter(Name=f"/bench/dev/api/S{i:0{w}d}", Value=f"value-{i}", Type="SecureString")
EOF

cat > "$work/baseline.py" <<'EOF'
import os, boto3
s = boto3.client("ssm")
n = int(os.environ["N"])
w = len(str(n))
for i in range(1, n + 1):
    s.get_parameter(Name=f"/bench/dev/api/S{i:0{w}d}", WithDecryption=True)
EOF

reset() { curl -sf -X POST "$url/moto-api/recorder/reset-recording" > /dev/null; }
ssm_calls() { grep -c '"AmazonSSM\.' "$work/rec.jsonl" || true; }

median_s() { # command... → median wall seconds over $runs runs (after one warm-up)
  local times=() start end
  "$@" > /dev/null
  for _ in $(seq 1 "$runs"); do
    start=$(date +%s%N); "$@" > /dev/null; end=$(date +%s%N)
    times+=($(( (end - start) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.3f", m / 1000000 }'
}

cd "$work/p"
export HOME="$work/home"
count_of() { reset; "$@" > /dev/null; ssm_calls; }

validate_calls=$(count_of "$atmos" secret validate -s dev -c api)
exec_calls=$(count_of "$atmos" secret exec -s dev -c api -- true)
baseline_calls=$(count_of "$py" "$work/baseline.py")
validate_t=$(median_s "$atmos" secret validate -s dev -c api)
exec_t=$(median_s "$atmos" secret exec -s dev -c api -- true)
baseline_t=$(median_s "$py" "$work/baseline.py")
py_start=$(median_s "$py" -c 'import boto3; boto3.client("ssm")')

printf '%-44s %10s %14s\n' "case ($n secrets)" "wall (s)" "SSM requests"
printf '%-44s %10s %14s\n' "atmos secret validate" "$validate_t" "$validate_calls"
printf '%-44s %10s %14s\n' "atmos secret exec -- true" "$exec_t" "$exec_calls"
printf '%-44s %10s %14s\n' "baseline: boto3 GetParameter, sequential" "$baseline_t" "$baseline_calls"
printf '%-44s %10s %14s\n' "  (of which python+boto3 start-up)" "$py_start" "0"
