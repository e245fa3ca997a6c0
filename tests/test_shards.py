"""A run split into shards (``jobs.max_replicas``) merges to the unsplit run's trace: the
iterates exactly, f(x_t) - f* to rounding (its BLAS sums' order depends on how many replicas
are still live)."""

import subprocess
import sys

import numpy as np
import pytest

from gradcomp.config import ConfigError, compose, to_plain
from gradcomp.pipeline import io
from gradcomp.pipeline.identity import run_config, run_id
from gradcomp.pipeline.plan import build_plan
from gradcomp.pipeline.run import execute, run_to_dir
from gradcomp.pipeline.shards import merge, merge_to_dir, plan_shards

from conftest import REPO


def _cfg(*overrides):
    return run_config(to_plain(compose(["scale=smoke", "dataset=mushrooms", *overrides])))


# Every other client multiplier is huge (x1e6, x1e7). For DIANA-RR and FedCOM those diverge
# at once, so with two shards one shard ends after its first records while the other runs
# on: the merge must fill the NaN tails. (Q-NASTYA's message divides by gamma: it survives.)
ENDS_EARLY = {"diana_rr", "fedcom"}
CASES = {
    "diana_rr": ["method=diana_rr", "stepsize.grid=[0.25,1e6,4.0,1e7]", "run.epochs=6"],
    "fedcom": ["method=fedcom", "stepsize.grid=[0.5,1e6,2.0,1e7]", "stepsize.server_grid=[1.0,64.0,1e6]",
               "run.epochs=4"],
    "q_nastya_local_iterate": ["method=q_nastya", "method.local_gradient_at=local_iterate",
                               "stepsize.grid=[0.5,1e6,2.0,1e7]", "stepsize.server_grid=[1.0,1e6]",
                               "run.epochs=4"],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_merged_shards_are_the_unsplit_run(case, mirror, tmp_path):
    cfg = _cfg(*CASES[case])
    data = {"mirror": str(mirror), "cache_dir": str(tmp_path / "cache"), "download": False}
    root = tmp_path / "results"
    whole, _ = execute(cfg, data, root)
    whole = whole.arrays()
    per_gamma = len(cfg["stepsize"].get("server_grid") or [1])
    split = plan_shards(cfg, 2 * per_gamma)
    assert split["index"] == [[0, 2], [1, 3]]
    shards = [execute(sc, data, root)[0].arrays() for sc in split["configs"]]
    assert (len({len(s["passes"]) for s in shards}) > 1) == (case in ENDS_EARLY)
    merged = merge(shards, split["index"], split["per_gamma"])
    assert list(merged) == list(whole)                   # the same arrays in the same order
    for key in whole:
        assert merged[key].dtype == whole[key].dtype, key
        if key == "f_gap":   # NaN in the same places, values to the rounding of f
            np.testing.assert_allclose(merged[key], whole[key], rtol=1e-14, atol=1e-14)
        else:                # the iterates (dist_sq), statuses, events, stepsizes: exact
            np.testing.assert_array_equal(merged[key], whole[key], err_msg=key)


def test_merge_job_writes_the_unsplit_trace(mirror, tmp_path):
    """Through the job entry point: shards.json in; trace, info and provenance out."""
    cfg = _cfg(*CASES["diana_rr"])
    data = {"mirror": str(mirror), "cache_dir": str(tmp_path / "cache"), "download": False}
    root = tmp_path / "results"
    run_to_dir(cfg, data, root, tmp_path / "whole")
    split = plan_shards(cfg, 2)
    ids = [run_id(sc) for sc in split["configs"]]
    for rid, sc in zip(ids, split["configs"]):
        run_to_dir(sc, data, root, root / "runs" / rid)
    out = root / "runs" / run_id(cfg)
    io.write_json(out / "shards.json", {"runs": ids, "index": split["index"], "per_gamma": split["per_gamma"]})
    merge_to_dir(out / "shards.json", out)
    merged, whole = io.loadz(out / "trace.npz"), io.loadz(tmp_path / "whole" / "trace.npz")
    assert list(merged) == list(whole)
    np.testing.assert_array_equal(merged["dist_sq"], whole["dist_sq"])
    np.testing.assert_allclose(merged["f_gap"], whole["f_gap"], rtol=0, atol=1e-14)
    assert io.read_json(out / "info.json") == io.read_json(tmp_path / "whole" / "info.json")
    assert [p["run"] for p in io.read_json(out / "provenance.json")["shards"]] == ids


def test_shards_interleave_client_multipliers_and_keep_server_rows_whole():
    cfg = _cfg("method=fedcom", "stepsize.grid=[1,2,3,4,5,6,7]", "stepsize.server_grid=[1,2,3]")
    split = plan_shards(cfg, 9)                  # 21 replicas -> 3 shards of whole client rows
    assert split["index"] == [[0, 3, 6], [1, 4], [2, 5]] and split["per_gamma"] == 3
    assert [sc["stepsize"]["grid"] for sc in split["configs"]] == [[1.0, 4.0, 7.0], [2.0, 5.0], [3.0, 6.0]]
    assert all(sc["stepsize"]["server_grid"] == cfg["stepsize"]["server_grid"] for sc in split["configs"])
    assert len(plan_shards(cfg, 1)["configs"]) == 7      # never less than one client row
    assert plan_shards(cfg, 21) is None and plan_shards(cfg, None) is None
    # at the server point gamma cancels: shards would recompute every eta's trajectory
    assert plan_shards(_cfg("method=q_nastya", "stepsize.grid=[1,2,3]", "stepsize.server_grid=[1,2]"), 2) is None
    with pytest.raises(ConfigError, match="max_replicas"):
        plan_shards(cfg, 0)


def test_merge_refuses_shards_of_different_runs():
    a = {"passes": np.array([0.0, 1.0]), "rounds": np.array([0, 5]), "bits": np.array([0, 9]),
         "f_gap": np.ones((2, 1)), "status": np.zeros(1, np.int8)}
    b = dict(a, rounds=np.array([0, 6]))
    with pytest.raises(ValueError, match="record times"):
        merge([a, b], [[0], [1]], 1)


def test_split_plan_keeps_run_ids_and_adds_shard_runs():
    figs = ["artifacts.figures=[rr/fig2,rr/fig2_local_iterate]", "artifacts.tables=[]"]
    plain = build_plan(["scale=quick", *figs])
    split = build_plan(["scale=quick", *figs, "jobs.max_replicas=12"])
    assert plain.shards == {}
    for fid, fp in plain.figures.items():
        assert split.figures[fid].panels == fp.panels          # figures read the same run ids
    assert set(plain.runs) < set(split.runs)
    for rid, spec in split.shards.items():
        rc = split.runs[rid]
        assert rc["method"]["local_gradient_at"] == "local_iterate"
        grids = [split.runs[s]["stepsize"]["grid"] for s in spec["runs"]]
        assert sorted(g for sub in grids for g in sub) == sorted(rc["stepsize"]["grid"])
        assert all(split.run_problem[s] == split.run_problem[rid] for s in spec["runs"])
    methods = {split.runs[r]["method"]["name"] for r in split.shards}
    assert methods == {"fedcom", "q_nastya", "diana_nastya"}   # fedpaq's 10 replicas fit one job


@pytest.mark.slow
def test_snakemake_merges_split_runs(tmp_path, mirror):
    """The workflow runs the shards and merges them instead of running the split run."""
    env_over = 'overrides=[scale=smoke,jobs.max_replicas=4,"artifacts.figures=[rr/fig2]","artifacts.tables=[]"]'
    target = "results/smoke/figures/rr/fig2.png"
    out = subprocess.run([sys.executable, "-m", "snakemake", target, "-s", str(REPO / "Snakefile"),
                          "-d", str(tmp_path), "-c2", "--config", env_over],
                         capture_output=True, text=True, env={**__import__("os").environ,
                                                              "GRADCOMP_DATA_MIRROR": str(mirror)})
    assert out.returncode == 0, out.stderr[-3000:]
    log = out.stdout + out.stderr
    assert "rule merge_run:" in log
    assert (tmp_path / target).stat().st_size > 0
