"""Bad input fails before anything is written, with a message that names the key and the
valid range; a run whose every replica diverges exits non-zero; a job's user error is one
message, no traceback; outputs get the permissions an ordinary write would."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from gradcomp.config import ConfigError, compose, to_plain
from gradcomp.pipeline import io
from gradcomp.pipeline.identity import problem_config, run_config

from conftest import REPO

BASE = ["method=diana", "dataset=mushrooms"]


@pytest.mark.parametrize("override,needle", [
    ("compressor.k=0", "compressor.k=0 is out of range: need 1 <= k <= d = 112"),
    ("compressor.k=-3", "compressor.k=-3 is out of range: need 1 <= k <= d = 112"),
    ("compressor.k=1000", "compressor.k=1000 is out of range: need 1 <= k <= d = 112"),
    ("compressor.k_fraction=1.5", "compressor.k_fraction=1.5 is out of range"),
    ("stepsize.grid=[]", "stepsize.grid=[] is empty"),
    ("stepsize.multiplier=nan", "stepsize.multiplier=nan: must be a finite number"),
    ("stepsize.grid=[1,nan]", "stepsize.grid[1]=nan: must be a finite number"),
    ("run.stop_dist_sq=nan", "run.stop_dist_sq=nan: must be a finite number"),
    ("run.diverge_factor=inf", "run.diverge_factor=inf: must be a finite number"),
])
def test_bad_values_are_refused_at_plan_time_naming_the_key(override, needle):
    extra = ["compressor.k=null"] if "k_fraction" in override else []
    with pytest.raises(ConfigError) as err:
        run_config(to_plain(compose([*BASE, *extra, override])))
    assert needle in str(err.value)


def _gradcomp(tmp_path, *overrides):
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run([sys.executable, "-m", "gradcomp.cli", "run", *BASE, "scale=smoke",
                           f"results_root={tmp_path}/results", *overrides],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=300)


def test_a_refused_run_writes_nothing(tmp_path):
    p = _gradcomp(tmp_path, "compressor.k=1000")
    assert p.returncode == 2 and "gradcomp: error: " in p.stderr and "Traceback" not in p.stderr
    assert not (tmp_path / "results").exists()


@pytest.mark.skipif(not os.environ.get("GRADCOMP_DATA_MIRROR"), reason="needs the LIBSVM mirror")
def test_every_replica_diverging_is_an_error_and_some_diverging_is_not(tmp_path):
    p = _gradcomp(tmp_path, "stepsize.grid=[1e9]")
    assert p.returncode == 1 and "every replica diverged" in p.stderr
    p = _gradcomp(tmp_path, "stepsize.grid=[1.0,1e9]")
    assert p.returncode == 0, p.stderr


def test_a_jobs_user_error_is_one_message_without_traceback(tmp_path):
    spec = tmp_path / "problem.json"
    data = tmp_path / "data.json"
    io.write_json(data, {"mirror": str(tmp_path / "no-mirror"), "cache_dir": str(tmp_path / "cache"),
                         "download": False})
    io.write_json(spec, problem_config(run_config(to_plain(compose(BASE)))))
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    p = subprocess.run([sys.executable, "-m", "gradcomp.pipeline.jobs", "problem", str(spec), str(tmp_path / "out"),
                        "--data", str(data)], capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 1
    assert p.stderr.startswith("gradcomp: error: ") and "Traceback" not in p.stderr
    assert "use no mirror" in p.stderr


def test_outputs_get_the_permissions_of_an_ordinary_write(tmp_path):
    mask = os.umask(0o022)
    os.umask(mask)
    io.write_text(tmp_path / "a.txt", "x")
    ordinary = tmp_path / "b.txt"
    ordinary.write_text("x")
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == stat.S_IMODE(ordinary.stat().st_mode)
