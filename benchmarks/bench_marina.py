"""Milliseconds per round of MARINA on paper cq's largest tasks, and the compressor's share.

    python benchmarks/bench_marina.py [--rounds 2000] [--out results/bench_marina.md]

Each case is a figure's run config (its run overrides and one panel's): the quadratics of
cq/fig1 at n = 64, d = 256 and the non-convex logistic regression of cq/fig2 on a9a (n = 264,
d = 123), MARINA with CQ (and IQ, DRIVE, PermK for comparison), at one stepsize (R = 1) and
with the figure's grid (R = 6; replicas that diverge are dropped, as in a run). The
compressor's share is the time of its ``compress`` calls inside those rounds (measured by
wrapping it), over the rounds' time.

Not a test: the numbers depend on the machine and on what else runs on it. One BLAS thread.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from gradcomp import compressors, methods  # noqa: E402
from gradcomp.config import composer, to_plain  # noqa: E402
from gradcomp.pipeline import problem  # noqa: E402
from gradcomp.seeding import stream  # noqa: E402

CASES = [  # (figure, panel index, compressor overrides)
    ("cq/fig1", 4, ["compressor=cq"]),
    ("cq/fig1", 4, ["compressor=iq"]),
    ("cq/fig1", 4, ["compressor=drive"]),
    ("cq/fig1", 4, ["compressor=permk"]),
    ("cq/fig2", 0, ["compressor=cq"]),
    ("cq/fig2", 0, ["compressor=drive"]),
]


def run_case(cfg: dict, results: str, R: int, grid: list[float], rounds: int) -> tuple[float, float, int]:
    """``(ms per round, compressor share, replicas live at the end)``."""
    prob, const, x_star = problem.load(cfg, cfg["data"], results)
    comp = compressors.build(cfg["compressor"], prob.d, prob.M, weights=const.L_m)
    spent = [0.0]
    inner = comp.compress

    def timed_compress(v, rng):
        t = time.perf_counter()
        out = inner(v, rng)
        spent[0] += time.perf_counter() - t
        return out

    comp.compress = timed_compress
    x0 = prob.x0(float(cfg["run"]["x0_std"]), stream(0, "x0"))
    meth, theory = methods.build(cfg["method"], prob, const, comp, R, rng_sampling=stream(0, "sampling"),
                                 rng=stream(0, "compressor"), x0=x0, x_star=x_star)
    m = np.asarray(grid[:R], dtype=float)
    t = time.perf_counter()
    tr = methods.optimize(meth, x0=x0, steps={"gamma": theory["gamma"] * m}, multipliers={"gamma": m},
                          x_star=x_star, f_star=const.f_star, epochs=rounds, record_every=10,
                          metrics=("grad_norm_sq",))
    wall = time.perf_counter() - t
    return wall / rounds * 1e3, spent[0] / wall, int(np.sum(np.isfinite(tr.grad_norm_sq[-1])))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2000)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    rows = []
    with composer() as c:
        for fig_id, k, comp in CASES:
            fig = to_plain(c([f"+figure={fig_id}"]))["figure"]
            panel = fig["panels"][k]
            where = [f"dataset={panel['dataset']}"] if panel.get("dataset") else []
            cfg = to_plain(c([*fig["run_overrides"], *where, "method=marina", *panel["overrides"], *comp]))
            run_case(cfg, cfg["results_root"], 1, fig["grid"], 20)    # warm-up: caches, first calls
            for R in (1, len(fig["grid"])):
                ms, share, live = run_case(cfg, cfg["results_root"], R, fig["grid"], a.rounds)
                rows.append(f"| {fig_id} | {panel['title']} | {cfg['compressor']['name']} | {cfg['problem']['n_clients']} "
                            f"| {cfg['dataset']['n_features']} | {R} ({live} live) | {ms:.2f} | {100 * share:.0f} % |")
                print(rows[-1], flush=True)
    head = [f"MARINA, {a.rounds} rounds per case, one BLAS thread; {platform.processor() or platform.machine()}, "
            f"NumPy {np.__version__}", "",
            "| figure | panel | compressor | n | d | replicas | ms / round | compressor share |",
            "|---|---|---|---|---|---|---|---|"]
    text = "\n".join(head + rows) + "\n"
    if a.out:
        with open(a.out, "w") as fh:
            fh.write(text)
    print(text)


if __name__ == "__main__":
    main()
