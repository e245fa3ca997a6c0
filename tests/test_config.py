import subprocess
import sys

import pytest

from gradcomp.config import ConfigError, compose, to_plain
from gradcomp.pipeline.identity import run_config

from conftest import REPO


@pytest.mark.parametrize("override,needle", [
    ("method=dianna", "Available options in 'method'"),
    ("compressor.kk=2", "Key 'kk' not in 'CompressorConf'"),
    ("method.sampling=bogus", "unknown sampling 'bogus'; valid: full, rr, with_replacement"),
    ("method.algorithm=bogus", "unknown method algorithm 'bogus'; valid: cgd, dcgd, diana"),
    ("method.stepsize_rule=bogus", "unknown stepsize rule 'bogus'; valid: cgd, diana,"),
    ("stepsize.multiplier=abc", "could not be converted to Float"),
    ("scale=huge", "Available options in 'scale'"),
])
def test_bad_config_fails_before_any_job_and_says_why(override, needle):
    """Composition rejects misspelt keys and ill-typed values; the run config's checks reject
    choices no plug-in declares (both before any job), each saying what is valid."""
    with pytest.raises(ConfigError) as err:
        run_config(to_plain(compose([override])))
    assert needle in str(err.value)


def test_unknown_method_lists_the_valid_choices():
    with pytest.raises(ConfigError) as err:
        compose(["method=dianna"])
    for name in ("qsgd", "q_rr", "diana", "diana_rr", "diana_rr_1s"):
        assert name in str(err.value)
    assert "base_method" not in str(err.value)


def test_overrides_reach_the_composed_config():
    cfg = to_plain(compose(["dataset=w8a", "method=qsgd", "compressor.k=6", "scale=quick"]))
    assert cfg["dataset"]["name"] == "w8a" and cfg["method"]["sampling"] == "with_replacement"
    assert cfg["compressor"]["k"] == 6 and cfg["run"]["epochs"] == cfg["scale"]["epochs"]


def test_cli_reports_config_errors_without_traceback():
    out = subprocess.run([sys.executable, "-m", "gradcomp.cli", "run", "method=dianna"],
                         capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 2
    assert "gradcomp: error: invalid configuration" in out.stderr
    assert "Traceback" not in out.stderr


def test_cli_reports_missing_data_without_traceback(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "GRADCOMP_DATA_MIRROR": str(tmp_path / "nowhere")}
    out = subprocess.run([sys.executable, "-m", "gradcomp.cli", "run", "dataset=mushrooms", "scale=smoke",
                          f"results_root={tmp_path}/results"],
                         capture_output=True, text=True, cwd=REPO, env={**env, "PYTHONPATH": str(REPO / "src")})
    assert out.returncode == 3, out.stderr
    assert "GRADCOMP_DATA_MIRROR" in out.stderr and "Traceback" not in out.stderr
