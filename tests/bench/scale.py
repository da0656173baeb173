#!/usr/bin/env python3
"""Scale benchmark (issue 11; not a test): wall time and peak RSS of the stack-reading commands
on generated organisations of 50 / 200 / 800 / 3,200 stacks (shape: tests/bench/gen-tree.py),
next to the "libyaml floor" — Python + yaml.CSafeLoader reading every YAML file of the tree
once, interpreter start-up included — measured in the same run.

    ATMOS_BIN=target/release/atmos tests/bench/scale.py [--sizes 50,200,800] [--runs 3]
        [--svg docs/performance-scale.svg] [--keep DIR]

Each command runs once as a warm-up (and must succeed); then RUNS rounds time every command
at every size once each (interleaved, so that a busy moment of a shared machine falls on all
sizes alike). The table shows the median wall time, its ratio to the floor and the peak RSS
(max over the runs, from wait4's rusage). Commands:
  list -s S          secret list -s S
  list -s S (no index) the same with ATMOS_STACKS_INDEX=false: every manifest read to name it
  validate -s S -c C secret validate -s S -c C    (every secret of S/C set beforehand)
  exec -s S -c C     secret exec -s S -c C -- true
  list (all)         secret list
  describe stacks    describe stacks   (stdout to /dev/null)
One-stack commands use the stack-name index (docs/commands.md) once it vouches for the tree,
which it does for files unchanged for two seconds: the timed rounds start at least that long
after the trees were written, and the "no index" row shows the same command without it.
The SVG (time against stacks, log-log) is written by this script: no plotting library needed.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
gen = __import__("gen-tree")

FLOOR = r"""
import os, sys, yaml
n = 0
for d, _, files in os.walk(sys.argv[1]):
    for f in files:
        if f.endswith(".yaml"):
            with open(os.path.join(d, f)) as fh:
                yaml.load(fh, Loader=yaml.CSafeLoader)
            n += 1
print(n)
"""


def run(argv, cwd, env, timeout=600):
    """(wall seconds, peak RSS bytes, exit code) of one child. Waits in `wait4` (no polling, so
    the wall time has no sleep granularity in it); a timer kills a child that runs past
    `timeout`."""
    import threading
    t0 = time.perf_counter()
    with open(os.path.join(cwd, ".bench-stderr"), "wb") as err:
        p = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=err)
        killer = threading.Timer(timeout, p.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(p.pid, 0)
        finally:
            killer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    return wall, usage.ru_maxrss * 1024, os.waitstatus_to_exitcode(status)


def setup(root, atmos, env, stack, component):
    def ok(*args, stdin=None):
        subprocess.run([atmos, *args], cwd=root, env=env, check=True, input=stdin,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ok("secret", "keygen", "local-sops")
    for name in (f"{component.upper()}_DB_PASSWORD", f"{component.upper()}_API_TOKEN", "STACK_TOKEN"):
        ok("secret", "set", f"{name}=bench-{name.lower()}", "-s", stack, "-c", component)


def svg(results, sizes, path):
    """A log-log line chart of median wall time against stacks, one line per command."""
    w, h, left, right, top, bottom = 720, 420, 70, 200, 20, 50
    series = {}
    for size in sizes:
        for name, value in results[size].items():
            if value is not None:
                series.setdefault(name, []).append((size, value[0]))
    values = [t for pts in series.values() for _, t in pts]
    if not values:
        return
    import math
    lo, hi = math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))
    hi = max(hi, lo + 1)
    xs = [math.log10(s) for s in sizes]
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1

    def px(size):
        return left + (math.log10(size) - x0) / (x1 - x0) * (w - left - right)

    def py(t):
        return top + (hi - math.log10(t)) / (hi - lo) * (h - top - bottom)

    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#7f7f7f", "#8c564b",
              "#e377c2"]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>']
    for e in range(lo, hi + 1):
        y = py(10 ** e)
        label = f"{10 ** e:g} s"
        out.append(f'<line x1="{left}" x2="{w - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{label}</text>')
    for size in sizes:
        x = px(size)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{h - bottom}" stroke="#eee"/>')
        out.append(f'<text x="{x:.1f}" y="{h - bottom + 16}" text-anchor="middle">{size}</text>')
    out.append(f'<text x="{(left + w - right) / 2:.0f}" y="{h - 12}" text-anchor="middle">'
               'stacks (log scale)</text>')
    out.append(f'<text x="14" y="{(top + h - bottom) / 2:.0f}" text-anchor="middle" '
               f'transform="rotate(-90 14 {(top + h - bottom) / 2:.0f})">median wall time (log scale)</text>')
    for i, (name, pts) in enumerate(series.items()):
        c = colors[i % len(colors)]
        dash = ' stroke-dasharray="6 4"' if name == "libyaml floor" else ""
        d = " ".join(f"{'M' if j == 0 else 'L'}{px(s):.1f},{py(t):.1f}" for j, (s, t) in enumerate(pts))
        out.append(f'<path d="{d}" fill="none" stroke="{c}" stroke-width="2"{dash}/>')
        for s, t in pts:
            out.append(f'<circle cx="{px(s):.1f}" cy="{py(t):.1f}" r="3" fill="{c}"/>')
        ly = top + 10 + i * 18
        out.append(f'<line x1="{w - right + 12}" x2="{w - right + 36}" y1="{ly}" y2="{ly}" '
                   f'stroke="{c}" stroke-width="2"{dash}/>')
        out.append(f'<text x="{w - right + 42}" y="{ly + 4}">{name}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="50,200,800,3200")
    ap.add_argument("--runs", type=int, default=int(os.environ.get("RUNS", "3")))
    ap.add_argument("--svg")
    ap.add_argument("--keep")
    ap.add_argument("--only", help="comma-separated command labels to run")
    a = ap.parse_args()
    atmos = os.environ.get("ATMOS_BIN") or os.path.join(HERE, "../../target/release/atmos")
    atmos = os.path.abspath(atmos)
    sizes = [int(s) for s in a.sizes.split(",")]
    work = a.keep or tempfile.mkdtemp(prefix="atmos-scale-")
    results = {}
    try:
        # Every tree first; then each round times every command at every size once, so a busy
        # moment of the machine falls on all sizes alike instead of on one size's block (the
        # growth between sizes is one of the figures read off this table).
        plans = []
        for size in sizes:
            root = os.path.join(work, str(size))
            shutil.rmtree(root, ignore_errors=True)
            stack, component = gen.generate(root, size)
            home = os.path.join(root, ".home")
            os.makedirs(home, exist_ok=True)
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home,
                   "ATMOS_EXPERIMENTAL": "silence", "NO_COLOR": "1"}
            setup(root, atmos, env, stack, component)
            commands = {
                "libyaml floor": [sys.executable, "-c", FLOOR, os.path.join(root, "stacks")],
                "list -s S": [atmos, "secret", "list", "-s", stack],
                "list -s S (no index)": ["env", "ATMOS_STACKS_INDEX=false", atmos, "secret",
                                         "list", "-s", stack],
                "validate -s S -c C": [atmos, "secret", "validate", "-s", stack, "-c", component],
                "exec -s S -c C": [atmos, "secret", "exec", "-s", stack, "-c", component, "--", "true"],
                "list (all)": [atmos, "secret", "list"],
                "describe stacks": [atmos, "describe", "stacks"],
            }
            if a.only:
                keep = {"libyaml floor", *a.only.split(",")}
                commands = {k: v for k, v in commands.items() if k in keep}
            plans.append((size, root, env, commands))
        # The index vouches only for files older than two seconds (docs/commands.md).
        time.sleep(2.5)
        samples = {}
        for size, root, env, commands in plans:
            for name, argv in commands.items():
                wall, rss, code = run(argv, root, env)  # warm-up, and it must succeed
                if code != 0:
                    with open(os.path.join(root, ".bench-stderr"), errors="replace") as f:
                        sys.stderr.write(f"{' '.join(argv)} exited {code}:\n{f.read()[-2000:]}\n")
                    samples[(size, name)] = None
                else:
                    samples[(size, name)] = ([], rss)
        for _ in range(a.runs):
            for size, root, env, commands in plans:
                for name, argv in commands.items():
                    got = samples[(size, name)]
                    if got is None:
                        continue
                    wall, rss, _ = run(argv, root, env)
                    got[0].append(wall)
                    samples[(size, name)] = (got[0], max(got[1], rss))
        for size, _, _, commands in plans:
            results[size] = {}
            for name in commands:
                got = samples[(size, name)]
                results[size][name] = None if got is None else (statistics.median(got[0]), got[1])
                r = results[size][name]
                shown = "failed" if r is None else f"{r[0] * 1000:.0f} ms, {r[1] / 2**20:.0f} MiB"
                print(f"{size:>5} stacks  {name:<20} {shown}", file=sys.stderr, flush=True)
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    names = list(next(iter(results.values())).keys())
    print(f"| command | " + " | ".join(f"{s} stacks" for s in sizes) + " |")
    print("| --- |" + " --- |" * len(sizes))
    for name in names:
        cells = []
        for size in sizes:
            r = results[size].get(name)
            floor = results[size]["libyaml floor"]
            if r is None:
                cells.append("failed")
            elif name == "libyaml floor" or floor is None:
                cells.append(f"{r[0] * 1000:.0f} ms · {r[1] / 2**20:.0f} MiB")
            else:
                cells.append(f"{r[0] * 1000:.0f} ms ({r[0] / floor[0]:.2f}×) · {r[1] / 2**20:.0f} MiB")
        print(f"| {name} | " + " | ".join(cells) + " |")
    if a.svg:
        svg(results, sizes, a.svg)


if __name__ == "__main__":
    main()
