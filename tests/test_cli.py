"""The command line a new user meets: each command's own help, the config choices, a run's
resolved config without running it, and a plan whose rows can be told apart."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import REPO


def _cli(*args, check=True):
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    p = subprocess.run([sys.executable, "-m", "gradcomp.cli", *args], capture_output=True, text=True, env=env,
                       cwd=REPO, timeout=300)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def test_each_command_has_its_own_help():
    run = _cli("run", "--help").stdout
    assert "usage: gradcomp run" in run and "--cfg" in run and "gradcomp run method=diana_rr" in run
    assert "scale=paper" in run     # the default lengths are said
    plan = _cli("plan", "--help").stdout
    assert "usage: gradcomp plan" in plan and "--cfg" not in plan


def test_groups_lists_the_choices_from_conf():
    out = _cli("groups").stdout
    assert "method: " in out and "diana_rr" in out and "compressor: " in out and "spherical" in out
    one = _cli("groups", "scale").stdout.splitlines()
    assert [ln.split()[0] for ln in one] == ["ci", "paper", "quick", "smoke"]
    bad = _cli("groups", "methods", check=False)
    assert bad.returncode == 2 and "no config group 'methods'" in bad.stderr


def test_run_cfg_prints_the_resolved_config_and_runs_nothing(tmp_path):
    out = _cli("run", "--cfg", "method=diana", "compressor.k=3", f"results_root={tmp_path}").stdout
    assert out.startswith("# run ") and "algorithm: diana" in out and "k: 3" in out
    assert not (tmp_path / "runs").exists()


def test_plan_rows_name_what_tells_runs_apart():
    p = _cli("plan", "scale=smoke")
    assert "planning rr/fig1 (1/" in p.stderr       # progress while composing
    rows = [ln for ln in p.stdout.splitlines()[2:] if ln.strip()]
    assert len(rows) == len(set(ln.split(None, 1)[1] for ln in rows))   # no two rows alike
    assert " 1 multipliers" not in p.stdout and " 1 multiplier," in p.stdout


def test_a_reader_that_stops_early_gets_no_traceback():
    """`gradcomp plan | head -1`: the closed pipe ends the command quietly (exit 141, as a
    shell tool killed by SIGPIPE), with no BrokenPipeError on stderr."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    p = subprocess.Popen([sys.executable, "-m", "gradcomp.cli", "groups"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env, cwd=REPO, bufsize=0)
    p.stdout.close()    # before the command writes: its first write meets a closed pipe
    err = p.stderr.read().decode()
    p.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert p.returncode == 141
