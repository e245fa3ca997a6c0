# Compose conf/ with the overrides once per parse (memoised on disk), and write the
# files the jobs read. Nothing here depends on clocks or on directory listings.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from gradcomp.config import ConfigError  # noqa: E402
from gradcomp.kinds import SECTIONS  # noqa: E402
from gradcomp.pipeline.plan import load_plan, materialize, slug  # noqa: E402

_overrides = config.get("overrides", [])
if isinstance(_overrides, str):
    _overrides = [_overrides]
try:
    PLAN = load_plan([str(o) for o in _overrides])
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None
materialize(PLAN)

RESULTS = PLAN.results_root
FIGROOT = PLAN.figures_root
PY = sys.executable
SRC = str(Path(workflow.basedir) / "src")
JOB = f"PYTHONPATH={SRC} OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 {PY} -m gradcomp.pipeline.jobs"
# A job's output goes to its log; when it fails, its error message (a user's error: one
# "gradcomp: error:" line) or else the log's last lines are repeated on the console, ahead
# of Snakemake's own report.
TO_LOG = (" > {log} 2>&1 || { if grep -q '^gradcomp: error' {log}; then sed -n '/^gradcomp: error/,$p' {log} >&2;"
          " else tail -n 15 {log} >&2; fi; exit 1; }").replace("{ ", "{{ ").replace("; }", "; }}")

# A run depends on the code that computes it (Snakemake does not track imports).
_pkg = Path(SRC) / "gradcomp"
CODE_PROBLEM = sorted(str(p) for d in ("data", "problems") for p in (_pkg / d).glob("*.py")) + [
    str(_pkg / "pipeline" / "problem.py")]
CODE_RUN = CODE_PROBLEM + sorted(
    str(p) for d in ("compressors", "methods", "theory") for p in (_pkg / d).glob("*.py")) + [
    str(_pkg / "pipeline" / "run.py"), str(_pkg / "seeding.py")]
CODE_MERGE = [str(_pkg / "pipeline" / "shards.py")]
# The run ids whose trace is merged from shards, as a wildcard regex (never matches if none).
SPLIT_RUNS = "|".join(sorted(PLAN.shards)) or "(?!)"
# An artifact depends on the code that plans and renders it (and a compressor study on the
# compressors it measures).
CODE_ARTIFACT = sorted(str(p) for d in ("report", "kinds", "compressors", "theory") for p in (_pkg / d).glob("*.py")) + [
    str(_pkg / "pipeline" / "select.py"), str(_pkg / "seeding.py")]

ARTIFACTS = PLAN.artifact_outputs()
VERIFICATION = PLAN.verification
MANIFESTS = [f"{FIGROOT}/{paper}/MANIFEST" for paper in PLAN.papers()]
