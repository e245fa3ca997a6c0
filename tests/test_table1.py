"""rr Table 1, evaluated: the numbers against hand computations from the constants."""

from __future__ import annotations

import json
import math

import pytest

from gradcomp.config import composer, to_plain
from gradcomp.report.tables import build_complexity as build_table
from gradcomp.theory.complexity import TheoryInputs, complexity

# Round numbers so the expected values can be worked out by hand:
# kappa = L_max / mu = 200, omega = d/k - 1 = 3, omega/M = 0.75, n = min n_m = 100.
CONSTANTS = {"L_max": 2.0, "mu": 0.01, "d": 12, "M": 4, "n_m": [101, 100, 102, 103], "n_steps": 10,
             "sigma_sq": 0.5, "zeta_sq": 0.25, "sigma_n_sq": 0.04}
EPS = 1e-2


def _doc(tmp_path, n="min_n_m"):
    with composer() as c:
        spec = to_plain(c(["+table=rr/table1"]))["table"]
    spec["epsilon"], spec["n"] = EPS, n
    pdir = tmp_path / "problems" / "p0"
    pdir.mkdir(parents=True)
    (pdir / "constants.json").write_text(json.dumps(CONSTANTS))
    (pdir / "clients.json").write_text("{}")
    outs = {ext: str(tmp_path / f"table1.{ext}") for ext in ("md", "tex", "csv")}
    return {"spec": {**spec, "datasets": ["toy"]}, "problems": [["toy", "p0"]], "k": {"toy": 3},
            "outputs": outs, "results_root": str(tmp_path)}


def _row(csv_text: str, method: str) -> list[str]:
    import csv
    import io

    return next(r for r in csv.reader(io.StringIO(csv_text)) if r[0] == method)


def test_table1_evaluated_matches_hand_computation(tmp_path):
    doc = _doc(tmp_path)
    build_table(doc)
    csv_text = (tmp_path / "table1.csv").read_text()
    # QSGD: (1 + 0.75) 200 + 0.75 (0.5 + 0.25) / (1e-4 1e-2) + 0.5 / (4 1e-4 1e-2)
    #     = 350 + 562500 + 125000
    assert float(_row(csv_text, "QSGD [Gorbunov'20]")[-1]) == pytest.approx(687850.0, rel=1e-12)
    # DIANA-RR (Cor. 2): n (1 + omega) + (1 + 0.75) 200 + sqrt(0.04) / 0.01 sqrt(200 100 / 1e-2)
    #                  = 400 + 350 + 20 sqrt(2e6)
    expected = 400 + 350 + 20 * math.sqrt(2e6)
    assert float(_row(csv_text, "DIANA-RR (Cor. 2)")[-1]) == pytest.approx(expected, rel=1e-12)

    md = (tmp_path / "table1.md").read_text()
    assert "| 6.8785e+05 |" in md  # the QSGD cell, as rendered
    assert "theory ranks first among compressed methods DIANA-RR (Cor. 2)" in md
    assert "epsilon = 0.01" in md and "n = 100" in md and "omega = 3" in md
    tex = (tmp_path / "table1.tex").read_text()
    assert r"$n(1+\omega)+(1+\frac{\omega}{M})\tilde\kappa" in tex  # math is not escaped
    assert r"zeta\_*\^{}2" in tex  # the caption's text is


def test_table1_n_convention_steps_uses_minibatch_steps(tmp_path):
    doc = _doc(tmp_path, n="steps")
    build_table(doc)
    # RR (convex): n kappa + sigma_*,n / mu sqrt(kappa n / eps), n = 10
    expected = 10 * 200 + 20 * math.sqrt(200 * 10 / EPS)
    rows = [r for r in (tmp_path / "table1.csv").read_text().splitlines() if r.startswith("RR [")]
    assert float(rows[1].rsplit(",", 1)[1]) == pytest.approx(expected, rel=1e-12)


def test_unknown_formula_is_refused():
    c = TheoryInputs(L_max=1, mu=1, omega=0, M=1, n=1, sigma_sq=0, zeta_sq=0, sigma_n_sq=0, eps=1)
    with pytest.raises(KeyError, match="unknown Table 1 formula"):
        complexity("__import__('os')", c)


# ---- the rounds our runs needed, and the rank correlation ---------------------------------

def _trace(path, dist_cols, rounds):
    """A two-replica trace (multipliers 1 and 4) whose f_gap follows dist_sq, so the
    figure's rule picks the replica with the lower final value."""
    import numpy as np

    from gradcomp.pipeline import io

    D = np.asarray(dist_cols, dtype=float).T
    io.savez(path, passes=np.arange(len(rounds), dtype=float), rounds=np.asarray(rounds), f_gap=D.copy(),
             dist_sq=D, multipliers=np.array([1.0, 4.0]))


def test_table1_rounds_of_the_runs_and_rank_correlation(tmp_path):
    from gradcomp.report.tables import Censored, rank_correlation

    doc = _doc(tmp_path)
    rounds = [0, 10, 20, 30]
    # epsilon = 1e-2: (x1, tuned x4) first reach it at rounds
    runs = {"qsgd": ([1, 1, 1, 1], [1, 0.5, 0.1, 0.05]),        # never, never
            "q_rr": ([1, 1, 1, 1], [1, 0.5, 0.1, 0.005]),       # never, 30
            "diana": ([1, 0.5, 0.1, 0.01], [1, 0.5, 0.001, 0.001]),   # 30, 20
            "diana_rr": ([1, 1, 0.009, 0.001], [1, 0.001, 0.001, 0.001])}  # 20, 10
    for j, (m, cols) in enumerate(runs.items()):
        (tmp_path / "runs" / f"r{j}").mkdir(parents=True)
        _trace(tmp_path / "runs" / f"r{j}" / "trace.npz", cols, rounds)
    doc["runs"] = {"toy": {m: f"r{j}" for j, m in enumerate(runs)}}
    doc["select"] = {"metric": "f_gap", "tie_factor": 2.0}
    doc["spec"]["runs_from"] = "rr/fig1"
    build_table(doc)
    csv_text = (tmp_path / "table1.csv").read_text()
    assert _row(csv_text, "QSGD [Gorbunov'20]")[-2:] == [">30", ">30"]
    assert _row(csv_text, "Q-RR (Cor. 1)")[-2:] == [">30", "30"]
    assert _row(csv_text, "DIANA [Mishchenko'19]")[-2:] == ["30", "20"]
    assert _row(csv_text, "DIANA-RR (Cor. 8)")[-2:] == ["20", "10"]
    assert _row(csv_text, "SGD [Gower'19]")[-2:] == ["-", "-"]
    md = (tmp_path / "table1.md").read_text()
    # theory: QSGD 687850 > Q-RR > DIANA > DIANA-RR (hand values above); runs: the same order
    assert "the runs rank first DIANA-RR (Cor. 2) (10 rounds)" in md
    assert "(theory vs tuned runs, 4 methods) = 1.00" in md

    # ties at the worst rank for censored runs; no spread -> undefined
    assert rank_correlation([1, 2, 3], [Censored(">9"), 5, 1]) == -1.0
    assert math.isnan(rank_correlation([1, 2, 3], [Censored(">9")] * 3))
    assert rank_correlation([1, 2, 3, 4], [1, 2, Censored(">9"), Censored(">9")]) == pytest.approx(
        0.9486832980505138)
