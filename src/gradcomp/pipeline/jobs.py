"""Entry points of the Snakemake jobs: ``python -m gradcomp.pipeline.jobs <kind> ...``.

Each job reads the files the plan materialised (run/problem configs, artifact specs, the
data location; :data:`gradcomp.pipeline.plan.JOBS_ROOT`) and writes its outputs atomically. BLAS is pinned to one thread
before NumPy is imported: Snakemake parallelises across jobs, and one thread keeps a
run's bytes identical from one execution to the next.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402


def _results_root(job_dir: str) -> Path:
    """``<results>/runs/<id>`` or ``<results>/problems/<id>`` -> ``<results>``."""
    return Path(job_dir).resolve().parent.parent


def job_problem(args) -> None:
    from . import io, problem

    cfg = io.read_json(args.config)
    problem.prepare(cfg, io.read_json(args.data), args.dir)
    io.write_json(Path(args.dir) / "config.json", cfg, indent=1)


#: A run job logs its progress at every this fraction of its epochs (a paper-scale run of a
#: local method's 2-D grid takes up to an hour; its log is where a user looks).
PROGRESS_STEP = 0.05


def log_progress(epochs: int, stream=sys.stderr, clock=None):
    """A ``progress(passes)`` callback that prints passes, elapsed and estimated remaining
    time whenever another :data:`PROGRESS_STEP` of the epochs is done."""
    import time

    clock = clock or time.monotonic
    t0 = clock()
    state = {"next": PROGRESS_STEP}

    def progress(passes: float) -> None:
        frac = passes / epochs
        if frac + 1e-12 < state["next"]:
            return
        while state["next"] <= frac + 1e-12:
            state["next"] += PROGRESS_STEP
        spent = clock() - t0
        left = spent * max(1.0 - frac, 0.0) / frac if frac > 0 else float("nan")
        print(f"{passes:.0f}/{epochs} passes ({min(100 * frac, 100):.0f} %), {spent / 60:.1f} min elapsed, "
              f"~{left / 60:.1f} min left", file=stream, flush=True)

    return progress


def job_run(args) -> None:
    from . import io
    from .run import run_to_dir

    cfg = io.read_json(args.config)
    run_to_dir(cfg, io.read_json(args.data), _results_root(args.dir), args.dir,
               progress=log_progress(int(cfg["run"]["epochs"])))


def job_merge(args) -> None:
    from .shards import merge_to_dir

    merge_to_dir(args.spec, args.dir)


def job_artifact(args) -> None:
    """A figure, table or compressor study: its kind renders the doc the plan wrote."""
    from ..kinds import SECTIONS
    from . import io

    doc = io.read_json(args.spec)
    SECTIONS[doc["section"]][1][doc["kind"]].build(doc)


def job_verify(args) -> None:
    from ..verify.claims import write_report
    from . import io

    write_report([io.read_json(s) for s in args.specs], args.out)


def job_check(args) -> None:
    from ..verify.claims import check_report

    sys.exit(check_report(args.report))


def job_manifest(args) -> None:
    from ..verify.manifest import write_manifest

    # figures/<paper>/MANIFEST lists paths relative to figures/
    write_manifest(str(Path(args.out).parent.parent), args.files, args.out)


def main(argv: list[str] | None = None) -> None:
    from threadpoolctl import threadpool_limits

    p = argparse.ArgumentParser(prog="python -m gradcomp.pipeline.jobs")
    sub = p.add_subparsers(dest="kind", required=True)
    for name, fn in (("problem", job_problem), ("run", job_run)):
        s = sub.add_parser(name)
        s.add_argument("config")
        s.add_argument("dir")
        s.add_argument("--data", required=True)
        s.set_defaults(fn=fn)
    s = sub.add_parser("merge")
    s.add_argument("spec")
    s.add_argument("dir")
    s.set_defaults(fn=job_merge)
    for name in ("figure", "table", "study"):
        s = sub.add_parser(name)
        s.add_argument("spec")
        s.set_defaults(fn=job_artifact)
    s = sub.add_parser("verify")
    s.add_argument("specs", nargs="+")
    s.add_argument("--out", required=True)
    s.set_defaults(fn=job_verify)
    s = sub.add_parser("check")
    s.add_argument("report")
    s.set_defaults(fn=job_check)
    s = sub.add_parser("manifest")
    s.add_argument("files", nargs="+")
    s.add_argument("--out", required=True)
    s.set_defaults(fn=job_manifest)
    args = p.parse_args(argv)
    from ..data import DataError
    from ..registry import ConfigError

    try:
        with threadpool_limits(limits=1):
            args.fn(args)
    except (ConfigError, DataError) as exc:
        # the user's problem, not the code's: the message alone, first thing in the job's log
        print(f"gradcomp: error: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
