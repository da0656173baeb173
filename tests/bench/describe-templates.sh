#!/usr/bin/env bash
# Benchmark (not a test): `atmos describe stacks` on a generated tree of 200 stacks (20 components
# each, from a shared catalog) with and without Go templates in the component sections. The two
# trees have the same shape; the templated one has 6 templated values per component (fields,
# printf, sprig pipelines, a range over a map, an if). Prints the medians and the overhead.
#
# Needs: cargo (or ATMOS_BIN), python3. Uses hyperfine if installed, else a timing loop.
#
#   tests/bench/describe-templates.sh        # STACKS=200 COMPONENTS=20 RUNS=7
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
stacks=${STACKS:-200}
components=${COMPONENTS:-20}
runs=${RUNS:-7}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}

atmos=${ATMOS_BIN:-}
if [ -z "$atmos" ]; then
  echo "building release…" >&2
  (cd "$repo" && cargo build --release --quiet --bin atmos)
  atmos="$CARGO_TARGET_DIR/release/atmos"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 - "$work" "$stacks" "$components" <<'PY'
import os, sys
work, n_stacks, n_comps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
templated = {
    "name": "'{{ .atmos_component }}-{{ .vars.stage }}'",
    "label": "'{{ printf \"%s/%s\" .atmos_stack .atmos_component | upper }}'",
    "region": "'{{ .vars.region | default \"us-east-1\" }}'",
    "tags_text": "'{{ range $k, $v := .settings.tags }}{{ $k }}={{ $v }},{{ end }}'",
    "size": "'{{ if eq .vars.stage \"prod\" }}large{{ else }}small{{ end }}'",
    "path": "'{{ .atmos_stack_file | replace \"/\" \"-\" }}'",
}
plain = {k: "'fixed-value-of-similar-length-{}'".format(k) for k in templated}
for variant, values in (("plain", plain), ("templated", templated)):
    root = os.path.join(work, variant)
    os.makedirs(os.path.join(root, "stacks/catalog"), exist_ok=True)
    with open(os.path.join(root, "atmos.yaml"), "w") as f:
        f.write("base_path: .\nstacks:\n  base_path: stacks\n  included_paths: ['deploy/**/*']\n  name_pattern: '{tenant}-{stage}'\n")
    with open(os.path.join(root, "stacks/catalog/components.yaml"), "w") as f:
        f.write("settings:\n  tags: {team: platform, cost: shared, owner: ops}\ncomponents:\n  terraform:\n")
        for c in range(n_comps):
            f.write(f"    comp{c}:\n      vars:\n        index: {c}\n")
            for k, v in values.items():
                f.write(f"        {k}: {v}\n")
    for s in range(n_stacks):
        d = os.path.join(root, f"stacks/deploy/t{s % 10}")
        os.makedirs(d, exist_ok=True)
        stage = "prod" if s % 2 else "dev"
        with open(os.path.join(d, f"s{s}.yaml"), "w") as f:
            f.write(f"import: [catalog/components]\nvars:\n  tenant: t{s}\n  stage: {stage}\n")
PY

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
time_ms() {  # dir -> median ms
  local dir=$1
  (cd "$dir" && "$atmos" describe stacks > /dev/null)  # warm-up, and fail loudly if it fails
  for _ in $(seq 1 "$runs"); do
    local t0 t1
    t0=$(date +%s%N)
    (cd "$dir" && "$atmos" describe stacks > /dev/null)
    t1=$(date +%s%N)
    echo $(( (t1 - t0) / 1000000 ))
  done | median
}

plain_ms=$(time_ms "$work/plain")
tmpl_ms=$(time_ms "$work/templated")
echo "describe stacks, $stacks stacks x $components components, median of $runs runs:"
echo "  without templates: ${plain_ms} ms"
echo "  with templates:    ${tmpl_ms} ms"
awk -v a="$plain_ms" -v b="$tmpl_ms" 'BEGIN { printf "  overhead: %+.1f%%\n", (b - a) * 100 / a }'
