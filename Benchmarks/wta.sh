#!/usr/bin/env bash
# Weapon-target assignment benchmark: runs `canopy wta` with each solver on the public instances
# (../shared/data/wta when present; else the instances that ship with the tests) with each
# solver (greedy; quick = local search by moves and swaps; local = that plus cyclic exchanges;
# exact) and prints, per instance, the objective, the proven lower bound and gap (exact), the
# gap to the best known solution (from index.json when present), the solver's CPU time (least
# of REPEAT runs in one process, default 5) and, apart, the CPU time to build the shared
# representation from the parsed file. TIME_LIMIT (default 30) bounds the exact solver and local search.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product canopy >/dev/null
bin=$(swift build -c release --show-bin-path)/canopy
data=../shared/data/wta
[ -d "$data" ] || data=Tests/CanopyWTATests/Fixtures
REPEAT=${REPEAT:-5} TIME_LIMIT=${TIME_LIMIT:-30} SOLVERS=${SOLVERS:-"greedy quick local exact"} python3 - "$bin" "$data" <<'PY'
import json, os, subprocess, sys
bin, data = sys.argv[1], sys.argv[2]
index = {}
if os.path.exists(f"{data}/index.json"):
    index = json.load(open(f"{data}/index.json"))["instances"]
names = sorted((f[:-5] for f in os.listdir(data) if f.endswith(".json") and not f.endswith(".best.json") and f != "index.json"),
               key=lambda n: (index.get(n, {}).get("weapons", 0) * index.get(n, {}).get("targets", 0), n))
print(f"{'instance':34s} {'solver':6s} {'objective':>14s} {'lower bound':>14s} {'gap %':>9s} {'vs best %':>9s} {'cpu ms':>10s} {'setup ms':>9s}")
for name in names:
    best = index.get(name, {}).get("best_known")
    for solver in os.environ["SOLVERS"].split():
        reps = os.environ["REPEAT"] if solver != "exact" or index.get(name, {}).get("weapons", 0) <= 400 else "1"
        args = ["--solver", "local", "--quick"] if solver == "quick" else ["--solver", solver]
        r = subprocess.run([bin, "wta", f"{data}/{name}.json", *args, "--json", "--repeat", reps,
                            "--time-limit", os.environ["TIME_LIMIT"]], capture_output=True, text=True)
        if r.returncode:
            print(f"{name:34s} {solver:6s} failed: {r.stderr.strip()[:80]}"); continue
        d = json.loads(r.stdout)
        lb = f"{d['lower_bound']:14.6f}" if "lower_bound" in d else f"{'-':>14s}"
        gap = f"{100 * d['gap']:9.2e}" if "gap" in d else f"{'-':>9s}"
        vs = f"{100 * (d['objective'] - best) / best:9.4f}" if best else f"{'-':>9s}"
        print(f"{name:34s} {solver:6s} {d['objective']:14.6f} {lb} {gap} {vs} {1000 * d['cpu_seconds']:10.2f} {1000 * d['setup_cpu_seconds']:9.2f}")
PY
