"""Milliseconds per epoch of each rr method, at R = 1 and R = 23 replicas, against the floor.

    python benchmarks/bench_methods.py [--epochs 30] [--datasets mushrooms w8a a9a] [--out FILE]
                                       [--authors FILE]
    python benchmarks/bench_methods.py --local [--epochs 20] [--at server local_iterate]

**The floor.** An epoch of a non-local rr method reads the data once for its minibatch
gradients and once more to record f: ``2 x nnz x 16`` bytes (8 for a value, 4 for its
column index, and the row's share of the iterate and the output). The floor is those bytes
at the machine's memory bandwidth, measured in the same run as the bytes read plus written
per second by ``numpy.copyto`` of a 256 MiB array (best of 5). The table gives each
method's time at R = 1 and per replica at R = 23 as a multiple of the floor (targets: 3x
and 2x). A second table times one compiled pass over the rows in order and over an epoch's
rows drawn with replacement, in the order drawn: what the memory system charges for the
order the with-replacement methods read the data in.

``--authors FILE``: the authors' own timings (CSV ``dataset,method,ms_per_epoch``, ``#``
lines are comments; measured on the same machine with their scripts, one stepsize, f
recorded every epoch), printed beside ours with the ratio. Their code is not part of this
repository; ``benchmarks/authors-rr-timings.csv`` holds the ones issue 14 reports.

``--local`` times the local methods of Figure 2 on their full 2-D (gamma, eta) grids
(conf/figure/rr/fig2.yaml), for each setting of ``local_gradient_at``, and reports the
replicas still live at the end (frozen ones are compacted away, so early epochs cost
the most) and the estimated time of 5000 epochs at the measured rate.

Runs the real code path (Hydra config -> problem -> methods.optimize) on the LIBSVM data
found through GRADCOMP_DATA_MIRROR (or the download cache), one BLAS thread, no early
stopping, and prints a Markdown table. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from bench_compressors import copy_time  # noqa: E402

from gradcomp import compressors, methods  # noqa: E402
from gradcomp.config import composer, to_plain  # noqa: E402
from gradcomp.pipeline import problem  # noqa: E402
from gradcomp.pipeline.identity import run_config  # noqa: E402
from gradcomp.seeding import stream  # noqa: E402

METHODS = ["qsgd", "q_rr", "diana", "diana_rr", "diana_rr_1s"]

#: Bytes one pass reads per nonzero (module docstring), and passes per epoch of a non-local
#: method: its minibatch gradients, and f.
BYTES_PER_NNZ, PASSES = 16, 2


def copy_bandwidth(mib: int = 256, repeat: int = 5) -> float:
    """Bytes read plus written per second by ``numpy.copyto`` of a ``mib`` MiB float64 array."""
    v = np.ones(mib * 2**20 // 8)
    return 2 * v.nbytes / copy_time(v, repeat)


def read_authors(path: str | None) -> dict:
    """``{(dataset, method): ms per epoch}`` from a CSV ``dataset,method,ms_per_epoch``."""
    if not path:
        return {}
    import csv

    with open(path) as fh:
        rows = csv.DictReader(line for line in fh if not line.startswith("#"))
        return {(r["dataset"], r["method"]): float(r["ms_per_epoch"]) for r in rows}


def timed(cfg: dict, data: dict, results: str, mult: dict, epochs: int, record_every: int = 1):
    """ms per epoch of ``methods.optimize`` on run config ``cfg`` with the replicas ``mult``
    (axis -> multipliers), and ``(R, replicas live at the end)``."""
    prob, const, x_star = problem.load(cfg, data, results)
    comp = compressors.build(cfg["compressor"], prob.d, prob.M)
    R = len(next(iter(mult.values())))
    x0 = stream(0, "x0").standard_normal(prob.d)
    meth, theory = methods.build(cfg["method"], prob, const, comp, R, rng_sampling=stream(0, "sampling"),
                                 rng=stream(0, "compressor"), x0=x0, x_star=x_star)
    kw = dict(x0=x0, steps={a: theory[a] * m for a, m in mult.items()}, multipliers=mult, x_star=x_star,
              f_star=const.f_star, record_every=record_every, stop_dist_sq=None, diverge_factor=1e4)
    methods.optimize(meth, epochs=1, **kw)  # warm-up: Numba's cache, first-touch of the data
    meth, theory = methods.build(cfg["method"], prob, const, comp, R, rng_sampling=stream(0, "sampling"),
                                 rng=stream(0, "compressor"), x0=x0, x_star=x_star)
    t = time.perf_counter()
    tr = methods.optimize(meth, epochs=epochs, **kw)
    ms = (time.perf_counter() - t) / epochs * 1e3
    return ms, R, int(np.sum(np.isfinite(tr.f_gap[-1])))


def passes(cfg: dict, data: dict, results: str, repeat: int = 5) -> tuple[float, float]:
    """ms of one pass of the compiled forward product (``a_i^T x`` per row, R = 1) over every
    row in order, and over an epoch's with-replacement rows in the order drawn (best of
    ``repeat``): what reading the data costs in the two orders the methods read it."""
    from gradcomp.methods.samplers import WithReplacement
    from gradcomp.problems.kernels import rows_dot
    from gradcomp.problems.rows import unsigned

    prob, const, _ = problem.load(cfg, data, results)
    sampler = WithReplacement(prob, const.b_m, stream(0, "sampling"))
    drawn = unsigned(np.concatenate([sampler.next_round()[0].rows for _ in range(const.n_steps)]))
    XT = np.ones((prob.d, 1))
    out = []
    for rows in (unsigned(np.arange(prob.N)), drawn):
        rows_dot(*prob._csr, rows, XT)
        best = np.inf
        for _ in range(repeat):
            t = time.perf_counter()
            rows_dot(*prob._csr, rows, XT)
            best = min(best, time.perf_counter() - t)
        out.append(best * 1e3)
    return out[0], out[1]


def bench(cfg: dict, data: dict, results: str, R: int, epochs: int, grid: list[float]) -> float:
    # R = 23 uses the paper's grid; its large multipliers diverge and get compacted away,
    # as in a real run. R = 1 is the theoretical stepsize.
    mult = {"gamma": np.asarray(grid if R > 1 else [1.0], dtype=float)}
    return timed(cfg, data, results, mult, epochs)[0]


LOCAL_METHODS = ["q_nastya", "diana_nastya", "fedcom", "fedpaq"]


def bench_local(cfg: dict, data: dict, results: str, epochs: int, grids: dict,
                record_every: int = 1) -> tuple[float, int, int]:
    """ms per epoch of one local method on its full 2-D grid, and (R, replicas live at the end)."""
    mult = methods.replica_steps(("gamma", "eta"), grids)
    return timed(cfg, data, results, mult, epochs, record_every)


def main_local(a) -> None:
    rows = []
    with composer() as c:
        fig2 = to_plain(c(["+figure=rr/fig2"]))["figure"]
        grids = fig2["grids"]
        # the figure's recording cadence (run.record_every in its run_overrides)
        every = int(to_plain(c(fig2["run_overrides"]))["run"]["record_every"])
        for ds in a.datasets:
            for m in a.methods or LOCAL_METHODS:
                for at in a.at:
                    full = to_plain(c([f"dataset={ds}", f"method={m}", f"method.local_gradient_at={at}"]))
                    ms, R, live = bench_local(run_config(full), full["data"], full["results_root"], a.epochs, grids[m],
                                              every)
                    rows.append((ds, m, at, R, live, ms))
                    print(f"{ds:10s} {m:13s} {at:14s} R={R:4d} live={live:4d} {ms:8.1f} ms/epoch "
                          f"(5000 epochs ~ {ms * 5 / 60:.1f} min)", flush=True)
    lines = [f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
             f"numpy {np.__version__}; first {a.epochs} epochs, one BLAS thread, f recorded every {every} "
             "epochs (rr/fig2's run.record_every).", "",
             "| dataset | method | local_gradient_at | pairs | live after | ms/epoch | 5000 epochs (min) |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {d} | {m} | {at} | {R} | {lv} | {ms:.1f} | {ms * 5 / 60:.1f} |" for d, m, at, R, lv, ms in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        with open(a.out, "w") as fh:
            fh.write(text)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--datasets", nargs="+", default=["mushrooms", "w8a", "a9a"])
    ap.add_argument("--methods", nargs="+")
    ap.add_argument("--local", action="store_true", help="the local methods of Figure 2 on their 2-D grids")
    ap.add_argument("--at", nargs="+", default=["server", "local_iterate"], help="local_gradient_at settings")
    ap.add_argument("--out")
    ap.add_argument("--authors", help="CSV dataset,method,ms_per_epoch of the authors' scripts, same machine")
    a = ap.parse_args()
    if a.local:
        return main_local(a)
    a.methods = a.methods or METHODS
    authors = read_authors(a.authors)
    bw = copy_bandwidth()
    print(f"copy bandwidth {bw / 1e9:.2f} GB/s (bytes read + written by numpy.copyto, 256 MiB)", flush=True)
    rows, read = [], {}
    with composer() as c:
        grid = to_plain(c(["+figure=rr/fig1"]))["figure"]["grid"]
        for ds in a.datasets:
            for m in a.methods:
                full = to_plain(c([f"dataset={ds}", f"method={m}"]))
                cfg = run_config(full)
                nnz = problem.load(cfg, full["data"], full["results_root"])[0].A.nnz
                floor = PASSES * nnz * BYTES_PER_NNZ / bw * 1e3
                if ds not in read:
                    read[ds] = passes(cfg, full["data"], full["results_root"])
                r1 = bench(cfg, full["data"], full["results_root"], 1, a.epochs, grid)
                r23 = bench(cfg, full["data"], full["results_root"], len(grid), a.epochs, grid) / len(grid)
                rows.append((ds, nnz, floor, m, r1, r23, authors.get((ds, m))))
                print(f"{ds:10s} {m:12s} R=1 {r1:7.2f} ms/epoch ({r1 / floor:.1f}x floor {floor:.2f})   "
                      f"R=23 {r23:.2f} ms/epoch/replica ({r23 / floor:.1f}x)", flush=True)
    lines = [f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
             f"numpy {np.__version__}; {a.epochs} epochs per measurement, one BLAS thread; copy bandwidth "
             f"{bw / 1e9:.2f} GB/s (read + written, `numpy.copyto` of 256 MiB, best of 5). Floor = "
             f"{PASSES} x nnz x {BYTES_PER_NNZ} B per epoch at that bandwidth (one pass for the gradients, "
             f"one for f); targets: R = 1 within 3x, R = 23 per replica within 2x. Load average at the end: "
             f"{os.getloadavg()[0]:.1f}.", "",
             "| dataset | nnz | floor ms/epoch | method | R=1 ms/epoch | R=1 / floor | R=23 ms/epoch/replica "
             "| R=23 / floor |" + (" authors ms/epoch | authors / R=1 |" if authors else ""),
             "|---|---|---|---|---|---|---|---|" + ("---|---|" if authors else "")]
    for d, nnz, fl, m, x, z, au in rows:
        line = f"| {d} | {nnz} | {fl:.2f} | {m} | {x:.2f} | {x / fl:.1f} | {z:.2f} | {z / fl:.1f} |"
        if authors:
            line += f" {au:.1f} | {au / x:.0f} |" if au else " - | - |"
        lines.append(line)
    lines += ["", "What one pass over the data costs, in the two orders the methods read it: the "
              "compiled forward product alone (`rows_dot`, R = 1, best of 5) over every row in order "
              "(f, reshuffled slots gathered once) and over an epoch's with-replacement rows in the order "
              "drawn (QSGD, DIANA: two such passes per epoch, forward and backward, as the order of every "
              "sum is SciPy's).", "",
              "| dataset | floor ms/pass | in order ms | drawn rows ms | drawn / floor |", "|---|---|---|---|---|"]
    for d, (in_order, drawn) in read.items():
        per_pass = next(fl for dd, _, fl, *_ in rows if dd == d) / PASSES
        lines.append(f"| {d} | {per_pass:.2f} | {in_order:.2f} | {drawn:.2f} | {drawn / per_pass:.1f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        with open(a.out, "w") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
