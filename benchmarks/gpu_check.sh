#!/usr/bin/env bash
# One prepared check on a lent GPU machine (issue 14): CuPy parity of the compressors, their
# throughput on the GPU, and one rr run (DIANA-RR on mushrooms) with backend=cupy against
# backend=numpy. Run from the repository root:
#
#     OUT=/some/empty/dir bash benchmarks/gpu_check.sh
#
# Needs: python3 (PY=... to choose another) with numpy, scipy, numba, cupy, pytest, tqdm;
# hydra, omegaconf, antlr4, yaml, packaging may come from .gpu-site/ (pure-Python copies) and
# the LIBSVM file mushrooms from .gpu-data/ (its sha256 is checked against
# conf/dataset/mushrooms.yaml). No network. Without CuPy or a GPU the CuPy steps say SKIP and
# the rest still runs (a dry run of the script on a CPU machine).
#
# Writes to $OUT (flat, 7 files): gpu_check.log (everything), env.txt, parity.txt,
# bench_compressors_cupy.md, rr_numpy.log, rr_cupy.log, rr_cupy.txt. Every step runs under
# its own timeout, and all of them within GPU_CHECK_BUDGET seconds (default 400).
# GPU_CHECK_BENCH_ARGS replaces the bench's "--dims 20 24 --clients 1 16 --repeat 5".
set -u
export PYTHONUNBUFFERED=1
export PYTHONPATH="src:.gpu-site${PYTHONPATH:+:$PYTHONPATH}"
export GRADCOMP_DATA_MIRROR="$PWD/.gpu-data"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
PY=${PY:-python3}
OUT=${OUT:?set OUT to the folder for the results}
mkdir -p "$OUT"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")
exec > >(tee -a "$OUT/gpu_check.log") 2>&1
TEE_PID=$!

DEADLINE=$((SECONDS + ${GPU_CHECK_BUDGET:-400}))
# lim N: N seconds, or what is left of the budget if less
lim() { local want=$1 left=$((DEADLINE - SECONDS)); [ "$left" -lt "$want" ] && want=$left; [ "$want" -lt 1 ] && want=1; echo "$want"; }
step() { echo; echo "=== $(date -u '+%F %T') UTC (+${SECONDS}s) $*"; }
note_rc() { # note_rc NAME RC
    case "$2" in
        0) echo "--- $1: ok" ;;
        124|137) echo "--- $1: TIMED OUT (rc $2)" ;;
        *) echo "--- $1: FAILED (rc $2)" ;;
    esac
}

step "0. setup: PY=$PY, OUT=$OUT, WORK=$WORK, mirror=$GRADCOMP_DATA_MIRROR, budget ${GPU_CHECK_BUDGET:-400}s"
if timeout -k 5 "$(lim 90)" $PY -c 'import sys, cupy; sys.exit(0 if cupy.cuda.runtime.getDeviceCount() > 0 else 1)' 2>/dev/null; then
    HAS_CUPY=1; echo "CuPy and a GPU: yes"
else
    HAS_CUPY=0; echo "CuPy and a GPU: NO (the CuPy steps say SKIP)"
fi

# ---- a. the machine -----------------------------------------------------------------------------
step "a. environment -> env.txt"
{
    echo "# nvidia-smi -L"
    timeout 20 nvidia-smi -L 2>&1 || echo "nvidia-smi: not available"
    timeout 20 nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1 || true
    echo "# versions"
    timeout -k 5 "$(lim 60)" $PY - <<'EOF' 2>&1
import os, platform, sys
from importlib import metadata
print("python", sys.version.split()[0], platform.platform(), f"{os.cpu_count()} cores")
for mod in ("numpy", "scipy", "numba", "cupy", "hydra", "omegaconf", "antlr4", "yaml", "pytest", "tqdm"):
    try:
        m = __import__(mod)
        print(f"{mod:10s} {getattr(m, '__version__', '?'):12s} {os.path.dirname(m.__file__)}")
    except Exception as exc:  # noqa: BLE001
        print(f"{mod:10s} MISSING ({type(exc).__name__}: {exc})")
try:
    import cupy as cp
    rt, drv = cp.cuda.runtime.runtimeGetVersion(), cp.cuda.runtime.driverGetVersion()
    props = cp.cuda.runtime.getDeviceProperties(0)
    name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
    print(f"cupy device 0: {name}, {props['totalGlobalMem'] / 2**30:.1f} GiB, CUDA runtime {rt}, driver {drv}")
except Exception as exc:  # noqa: BLE001
    print(f"cupy device: none ({type(exc).__name__}: {exc})")
EOF
} > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

# ---- b. CuPy parity of every compressor (and the strict stand-in) -------------------------------
step "b. parity: pytest tests/test_compressor_library.py -k 'cupy or strict' -> parity.txt"
timeout -k 5 "$(lim 120)" $PY -m pytest -q -p no:cacheprovider -rs tests/test_compressor_library.py \
    -k "cupy or strict" 2>&1 | tee "$OUT/parity.txt"
rc=${PIPESTATUS[0]}
note_rc parity "$rc"
n_skip=$(grep -c "CuPy parity" "$OUT/parity.txt")
if [ "$HAS_CUPY" = 1 ] && [ "$n_skip" -gt 0 ]; then
    echo "--- parity: FAILED: CuPy and a GPU are here, but the CuPy parity tests skipped ($n_skip skip lines)" \
        | tee -a "$OUT/parity.txt"
fi

# ---- c. compressor throughput on the GPU --------------------------------------------------------
step "c. bench: benchmarks/bench_compressors.py --backend cupy -> bench_compressors_cupy.md"
if [ "$HAS_CUPY" = 1 ]; then
    # shellcheck disable=SC2086
    timeout -k 10 "$(lim 180)" $PY benchmarks/bench_compressors.py --backend cupy \
        ${GPU_CHECK_BENCH_ARGS:---dims 20 24 --clients 1 16 --repeat 5} --out "$OUT/bench_compressors_cupy.md"
    note_rc bench "$?"
else
    echo "SKIP: no CuPy/GPU"
fi

# ---- d. one rr run, NumPy vs CuPy ---------------------------------------------------------------
# rr/fig1's DIANA-RR panel on mushrooms (M = 20 clients, Rand-k with k = floor(0.02 d) = 2,
# 64-bit floats, its 23-multiplier grid) at 1000 data passes instead of the paper's 5000.
RR=(method=diana_rr dataset=mushrooms scale=paper run.epochs=1000
    "stepsize.grid=[0.000975,0.00195,0.0039,0.0078,0.0156,0.0312,0.0625,0.125,0.25,0.5,1,2,4,8,16,32,64,128,256,512,1024,2048,4096]"
    "results_root=$WORK/rr")
for be in numpy cupy; do
    step "d. rr run: gradcomp run ${RR[*]} backend=$be -> rr_$be.log"
    if [ "$be" = cupy ] && [ "$HAS_CUPY" != 1 ]; then
        echo "SKIP: no CuPy/GPU" | tee "$OUT/rr_$be.log"
        continue
    fi
    t0=$(date +%s%N)
    timeout -k 5 "$(lim 80)" $PY -m gradcomp.cli run "${RR[@]}" backend=$be > "$WORK/rr_$be.raw" 2>&1
    rc=$?
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    # tqdm redraws its bar with carriage returns: keep the last state of each line
    tr '\r' '\n' < "$WORK/rr_$be.raw" | grep -v -E 'pass/s\]|^\s*$' > "$OUT/rr_$be.log"
    printf 'wall_s %d.%03d rc %d\n' $((ms / 1000)) $((ms % 1000)) "$rc" | tee -a "$WORK/wall_$be" >> "$OUT/rr_$be.log"
    tail -n 30 "$OUT/rr_$be.log"
    note_rc "rr $be" "$rc"
done

step "d. compare the traces -> rr_cupy.txt"
timeout -k 5 "$(lim 30)" $PY - "$WORK" <<'EOF' 2>&1 | tee "$OUT/rr_cupy.txt"
import glob, json, os, sys
import numpy as np

work = sys.argv[1]
runs = {}
for d in sorted(glob.glob(f"{work}/rr/runs/*/")):
    cfg = json.load(open(d + "config.json"))
    if os.path.exists(d + "trace.npz"):
        runs[cfg["backend"]] = (d, cfg, np.load(d + "trace.npz"), json.load(open(d + "provenance.json")))
wall = {}
for be in ("numpy", "cupy"):
    try:
        wall[be] = open(f"{work}/wall_{be}").read().split()
    except OSError:
        pass
print("rr run: DIANA-RR on mushrooms, Rand-k (rr/fig1 settings), 1000 data passes, the 23 multipliers of rr/fig1")
for be in ("numpy", "cupy"):
    if be in runs:
        d, cfg, tr, prov = runs[be]
        print(f"backend={be}: run {os.path.basename(d.rstrip('/'))}, wall clock of `gradcomp run` {wall.get(be, ['?'])[1]} s "
              f"(rc {wall.get(be, ['?'] * 4)[3]}), of the run itself (provenance) {prov['wall_time_s']:.2f} s")
    else:
        print(f"backend={be}: no trace ({'wall ' + ' '.join(wall[be]) if be in wall else 'not run'})")
if not {"numpy", "cupy"} <= set(runs):
    print("COMPARISON: not possible (a run is missing)")
    sys.exit(0)
a, b = runs["numpy"][2], runs["cupy"][2]
same = {k: bool(np.array_equal(a[k], b[k])) for k in ("passes", "rounds", "bits", "status", "multipliers")}
print("identical:", ", ".join(f"{k} {v}" for k, v in same.items()))
fa, fb = a["f_gap"], b["f_gap"]
both = np.isfinite(fa) & np.isfinite(fb)
print(f"f - f* recorded: {fa.shape[0]} points x {fa.shape[1]} multipliers; finite in both: {both.sum()}, "
      f"finite in one only: {(np.isfinite(fa) != np.isfinite(fb)).sum()}")
rel = np.where(both, np.abs(fb - fa) / np.maximum(np.abs(fa), 1e-300), 0.0)
status = a["status"]
conv = status != 2
print(f"max relative difference of f - f*: all multipliers {rel.max():.3e}; "
      f"not diverged ({conv.sum()}) {rel[:, conv].max() if conv.any() else float('nan'):.3e}")
best = int(np.nanargmin(np.where(both[-1], fa[-1], np.inf))) if both[-1].any() else len(status) - 1
print(f"max relative difference of f - f* up to the best multiplier (x{a['multipliers'][best]:g}, the lowest final "
      f"f - f*; larger ones oscillate, and rounding differences grow there): {rel[:, :best + 1].max():.3e}")
print(f"{'multiplier':>10s} {'status':>6s} {'final f-f* numpy':>17s} {'final f-f* cupy':>16s} {'max rel diff':>12s} "
      f"{'at pass':>7s}")
for r, m in enumerate(a["multipliers"]):
    ok = np.flatnonzero(both[:, r])
    last = ok[-1] if len(ok) else 0
    t = int(np.argmax(rel[:, r]))
    print(f"{m:10g} {int(status[r]):6d} {fa[last, r]:17.6e} {fb[last, r]:16.6e} {rel[:, r].max():12.3e} "
          f"{a['passes'][t]:7.0f}")
EOF
note_rc compare "${PIPESTATUS[0]}"

step "done in ${SECONDS}s; results in $OUT:"
ls -la "$OUT"
rm -rf "$WORK"
exec 1>&- 2>&-
wait "$TEE_PID" 2>/dev/null
