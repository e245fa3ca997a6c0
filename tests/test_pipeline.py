import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gradcomp.config import compose, to_plain
from gradcomp.pipeline.identity import problem_id, run_config, run_id
from gradcomp.pipeline.plan import build_plan

from conftest import REPO


def test_plan_is_deterministic_and_hash_sensitive():
    a = build_plan(["scale=smoke"])
    b = build_plan(["scale=smoke"])
    assert list(a.runs) == list(b.runs) and a.runs == b.runs
    # fig1 15 runs, fig2 12, fig8 6 (DIANA/DIANA-RR at multiplier 1 are their own runs),
    # fig1_reshuffle 6 new (QSGD, Q-RR, DIANA shared with fig1), fig2_local_iterate and
    # fig2_wide_server 6 new each (Q-NASTYA, DIANA-NASTYA; FedCOM, FedPAQ shared with fig2)
    def runs_of(paper):
        return {r for f, fp in a.figures.items() if f.startswith(paper + "/") for p in fp.panels
                for r in p["runs"].values()}

    rr, shift, cq = runs_of("rr"), runs_of("shift"), runs_of("cq")
    assert len(rr) == 15 + 12 + 6 + 6 + 6 + 6
    # shift at smoke (sweep_stride 6: natural dithering's s in {2, 4, 8, 12, 14, 20}): fig1 6 + 12
    # runs, fig2 18, theory 4; companions: Rand-DIANA's 9 with free refreshes, fig2's 18 at 8x
    # the stepsize (fig1_tuned's grid thins to fig1's multiplier 1 at smoke)
    assert len(shift) == 18 + 18 + 4 + 9 + 18
    # cq: fig1 6 panels x 5 curves; fig3 5 new per panel (PermK and CQ at n = 64 are fig1's);
    # fig5 4 x 4; fig2 3 x 4; fig1_exact 6 x 4 (its GD curves are fig1's)
    assert len(cq) == 30 + 15 + 16 + 12 + 24
    # oc/fig1 at smoke: 4 curves per panel and Top-k's k thinned to every 6th (3 on Body-Fat,
    # 2 on Breast-Cancer)
    oc = runs_of("oc")
    assert len(oc) == 4 + 3 + 4 + 2
    assert len(a.runs) == len(rr) + len(shift) + len(cq) + len(oc)
    # rr's 3 datasets, shift's ridge problem, cq's 6 + 4 quadratics and 3 logistic regressions,
    # oc's ridge regression on Body-Fat and logistic regression on Breast-Cancer
    assert len(a.problems) == 3 + 1 + 10 + 3 + 2
    base = run_config(to_plain(compose(["method=qsgd"])))
    for change in (["seed=1"], ["compressor.bits_per_float=32"], ["run.epochs=7"], ["problem.split=iid"]):
        assert run_id(run_config(to_plain(compose(["method=qsgd", *change])))) != run_id(base), change


def test_labels_and_data_location_do_not_change_run_ids():
    base = run_config(to_plain(compose(["method=qsgd"])))
    relabelled = run_config(to_plain(compose(["method=qsgd", "method.label=SGD-Q", "data.mirror=/elsewhere"])))
    assert run_id(base) == run_id(relabelled)
    other = run_config(to_plain(compose(["method=qsgd", "stepsize.multiplier=2"])))
    assert run_id(base) != run_id(other)
    assert problem_id(base) == problem_id(other)


def test_cli_run_and_pipeline_share_run_ids():
    plan = build_plan(["scale=smoke"])
    rid = plan.figures["rr/fig1"].panels[0]["runs"]["qsgd"]
    grid = "[" + ",".join(repr(float(g)) for g in plan.figures["rr/fig1"].spec["grid_used"]) + "]"
    cfg = run_config(to_plain(compose(["scale=smoke", "dataset=mushrooms", "method=qsgd", f"stepsize.grid={grid}"])))
    assert run_id(cfg) == rid


def test_plan_of_the_local_and_companion_figures():
    """2-D grids per method, the local_iterate and reshuffle companions sharing what they do not change."""
    figs = "artifacts.figures=[rr/fig1,rr/fig2,rr/fig2_local_iterate,rr/fig1_reshuffle,rr/fig8]"
    plan = build_plan(["scale=smoke", figs, "artifacts.tables=[rr/table1]"])
    base = build_plan(["scale=smoke"])
    fig2, li = plan.figures["rr/fig2"], plan.figures["rr/fig2_local_iterate"]
    for p2, pl in zip(fig2.panels, li.panels):
        for m in ("fedcom", "fedpaq"):  # already at the local iterate: the same runs
            assert p2["runs"][m] == pl["runs"][m]
        for m in ("q_nastya", "diana_nastya"):
            assert p2["runs"][m] != pl["runs"][m]
            assert plan.runs[p2["runs"][m]]["method"]["local_gradient_at"] == "server"
            assert plan.runs[pl["runs"][m]]["method"]["local_gradient_at"] == "local_iterate"
    used = fig2.spec["grids_used"]
    step = plan.runs[fig2.panels[0]["runs"]["q_nastya"]]["stepsize"]
    assert step["grid"] == used["q_nastya"]["grid"] and step["server_grid"] == used["q_nastya"]["server_grid"]
    full = fig2.spec["grids"]["q_nastya"]["grid"]
    assert used["q_nastya"]["grid"] == full[::-1][::8][::-1] and used["q_nastya"]["grid"][-1] == full[-1]
    assert plan.runs[fig2.panels[0]["runs"]["fedpaq"]]["stepsize"]["server_grid"] == [1.0]
    for p1, pr, pb in zip(plan.figures["rr/fig1"].panels, plan.figures["rr/fig1_reshuffle"].panels,
                          base.figures["rr/fig1"].panels):
        assert p1["runs"] == pb["runs"]  # adding figures does not change fig1's runs
        for m in ("qsgd", "q_rr", "diana"):
            assert pr["runs"][m] == p1["runs"][m]
        for m in ("diana_rr", "diana_rr_1s"):
            assert plan.runs[pr["runs"][m]]["method"]["reshuffle"] == "every_epoch"
            assert plan.runs[p1["runs"][m]]["method"]["reshuffle"] == "once"
    assert plan.figures["rr/fig8"].spec["grid_used"] == [1.0]
    # figure.run_overrides reach every run of fig2 (and its companion), nothing else
    for p2, pl, p1 in zip(fig2.panels, li.panels, plan.figures["rr/fig1"].panels):
        assert {plan.runs[r]["run"]["record_every"] for r in [*p2["runs"].values(), *pl["runs"].values()]} == {5}
        assert {plan.runs[r]["run"]["record_every"] for r in p1["runs"].values()} == {1}
    # Table 1 reads the Figure 1 runs, with Figure 1's selection rule
    t1 = base.tables["rr/table1"]
    assert t1.doc["runs"] == {p["dataset"]: p["runs"] for p in base.figures["rr/fig1"].panels}
    assert t1.doc["select"] == base.figures["rr/fig1"].spec["select"]
    assert sorted(t1.runs) == sorted(r for p in base.figures["rr/fig1"].panels for r in p["runs"].values())


def test_embed_caption_reaches_the_image_jobs_alone():
    """report.embed_caption changes what the figure and image-study jobs read, and nothing
    else: no run id, no table's or Monte Carlo table's spec (so switching it reruns none)."""
    from gradcomp.pipeline.plan import artifact_doc

    few = ["scale=smoke", "artifacts.figures=[rr/fig1,cq/fig4]", "artifacts.tables=[rr/table2]",
           "artifacts.compressor_studies=[oc/bits-vs-error,cq/table2]", "artifacts.claims=[]"]
    off, on = build_plan(few), build_plan([*few, "report.embed_caption=true"])
    assert off.runs == on.runs and off.problems == on.problems
    drawn = 0
    for section, _, ident, ap in off.artifacts():
        a, b = artifact_doc(off, section, ap), artifact_doc(on, section, on.sections[section][ident])
        if "png" in ap.outputs:
            drawn += 1
            assert (a.pop("report"), b.pop("report")) == ({"embed_caption": False}, {"embed_caption": True})
            assert ap.outputs["caption_tex"] == ap.outputs["caption"].replace(".md", ".tex")
        assert a == b, ident
    assert drawn == 3


def test_table1_without_its_figure_is_a_config_error():
    from gradcomp.config import ConfigError

    with pytest.raises(ConfigError, match="add rr/fig1 to artifacts.figures"):
        build_plan(["scale=smoke", "artifacts.figures=[rr/fig8]", "artifacts.tables=[rr/table1]"])


def test_run_jobs_log_progress_every_five_percent():
    import io as _io

    from gradcomp.pipeline.jobs import log_progress

    out, now = _io.StringIO(), [0.0]
    progress = log_progress(100, stream=out, clock=lambda: now[0])
    for p in range(1, 101):
        now[0] = 6.0 * p            # 6 s per pass
        progress(float(p))
    lines = out.getvalue().splitlines()
    assert len(lines) == 20
    assert lines[0] == "5/100 passes (5 %), 0.5 min elapsed, ~9.5 min left"
    assert lines[-1].startswith("100/100 passes (100 %), 10.0 min elapsed, ~0.0 min left")


def _digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


# Every kind of artifact and every paper, at a few runs each: a convergence figure per paper
# (the variable-length codes of oc/fig1 and MARINA's bit budget of cq/fig2 included), the
# improvement plane, tables from runs and from problems, the three compressor studies, and
# every paper's claims (those of artifacts left out report NOT BUILT). The whole of `all` is
# built by CI at scale=ci (`make verify SCALE=ci`).
E2E = ('overrides=[scale=smoke,"artifacts.figures=[rr/fig1,shift/theory,cq/fig2,cq/fig4,oc/fig1]",'
       '"artifacts.tables=[rr/table1,rr/table5,rr/table6]"]')


@pytest.mark.slow
def test_smoke_workflow_end_to_end_and_byte_identical_reaggregation(tmp_path, mirror):
    env = {**os.environ, "GRADCOMP_DATA_MIRROR": str(mirror)}
    def smk(target):  # --config is greedy: the target goes before it
        return [sys.executable, "-m", "snakemake", target, "-s", str(REPO / "Snakefile"), "-d", str(tmp_path),
                "-c2", "--config", E2E]
    out = subprocess.run(smk("all"), capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    figs = tmp_path / "results" / "smoke" / "figures"
    for name in ("rr/fig1.png", "rr/fig1.pdf", "rr/fig1.csv", "rr/fig1_selection.csv", "rr/fig1_caption.tex",
                 "rr/table1.md", "rr/table6.tex", "rr/table5.md", "rr/MANIFEST", "VERIFICATION.md",
                 "shift/theory.png", "cq/fig2.png", "cq/fig4.png", "oc/fig1.png",
                 "oc/bits-vs-error.png", "oc/bits-vs-error.csv", "oc/compressors.md", "cq/table2.tex",
                 "oc/MANIFEST", "cq/MANIFEST", "shift/MANIFEST"):
        assert (figs / name).stat().st_size > 0, name
    first = _digests(figs)
    traces = _digests(tmp_path / "results" / "runs")

    # Re-aggregate from the same traces: identical bytes, and no run is recomputed.
    shutil.rmtree(figs)
    out = subprocess.run(smk("all"), capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "rule run:" not in out.stdout + out.stderr
    assert _digests(figs) == first
    assert _digests(tmp_path / "results" / "runs") == traces

    # The verify target passes when every claim outcome matches its expectation at
    # this scale or reports exactly which do not; either way it names the report.
    out = subprocess.run(smk("verify"), capture_output=True, text=True, env=env)
    assert "VERIFICATION.md" in out.stdout + out.stderr


def test_a_run_is_byte_deterministic(tmp_path, mirror):
    from gradcomp.pipeline.run import run_to_dir

    cfg = run_config(to_plain(compose(["scale=smoke", "dataset=mushrooms", "method=diana_rr",
                                       "stepsize.grid=[0.5,1.0,2.0]", "run.epochs=4"])))
    data = {"mirror": str(mirror), "cache_dir": str(tmp_path / "cache"), "download": False}
    for name in ("a", "b"):
        run_to_dir(cfg, data, tmp_path / "results", tmp_path / name)
    assert (tmp_path / "a" / "trace.npz").read_bytes() == (tmp_path / "b" / "trace.npz").read_bytes()
