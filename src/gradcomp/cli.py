"""``gradcomp``: run one experiment, show the plan, check a manifest.

    gradcomp run dataset=a9a method=diana_rr compressor.k=2 stepsize.multiplier=4 scale=quick
    gradcomp plan scale=quick
    gradcomp manifest-check figures/rr/MANIFEST
    gradcomp check-published            # the committed figures/ still back VERIFICATION.md

Arguments after the subcommand are Hydra overrides of ``conf/config.yaml``.
"""

from __future__ import annotations

import os

# One BLAS thread: runs are deterministic and parallelism comes from running many jobs.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402


def _die(msg: str, code: int = 2) -> None:
    print(f"gradcomp: error: {msg}", file=sys.stderr)
    sys.exit(code)


def cmd_run(overrides: list[str]) -> None:
    import numpy as np
    from tqdm import tqdm

    from .config import compose, to_plain
    from .pipeline.identity import run_config, run_id
    from .methods.metrics import recorded
    from .pipeline import io
    from .pipeline.run import multipliers_of, run_to_dir

    full = to_plain(compose(overrides))
    cfg = run_config(full)
    rid = run_id(cfg)
    root = full["results_root"]
    out = f"{root}/runs/{rid}"
    epochs = int(cfg["run"]["epochs"])
    mult = multipliers_of(cfg)
    axes = list(mult)
    R = len(mult[axes[0]])
    what = "multiplier(s)" if len(axes) == 1 else f"({', '.join(axes)}) multiplier combination(s)"
    print(f"run {rid}: {cfg['method']['label']} on {cfg['dataset']['name']}, "
          f"{cfg['compressor']['name']}, {R} {what}, {epochs} data passes -> {out}")
    with tqdm(total=epochs, unit="pass", dynamic_ncols=True) as bar:
        def progress(p: float) -> None:
            bar.update(min(epochs, int(p)) - bar.n)
        run_to_dir(cfg, full["data"], root, out, progress=progress)
    tr = io.loadz(f"{out}/trace.npz")
    info = io.read_json(f"{out}/info.json")
    theory = ", ".join(f"{a}_theory = {info[a + '_theory']:.4g}" for a in axes)
    print(f"compressor {info['compressor_class']}; {theory}")
    status = {0: "", 1: " (stopped: reached the stopping tolerance)", 2: " (diverged)"}
    metric = recorded(cfg["run"])[0]
    for r in range(R):
        col = tr[metric][:, r]
        ok = np.flatnonzero(np.isfinite(col))
        last = f"{col[ok[-1]]:.6e} at {tr['passes'][ok[-1]]:.1f} passes" if len(ok) else "n/a"
        name = ", ".join(f"{a} x{mult[a][r]:g}" for a in axes)
        print(f"  multipliers {name}: final {metric} = {last}{status[int(tr['status'][r])]}")
    if np.all(tr["status"] == 2):
        _die(f"every replica diverged ({metric} grew above run.diverge_factor = {cfg['run']['diverge_factor']:g} "
             f"times its start): lower the stepsize multipliers", 1)


def cmd_plan(overrides: list[str]) -> None:
    from .pipeline.plan import build_plan
    from .pipeline.run import multipliers_of

    plan = build_plan(overrides)
    print(f"scale={plan.base['scale']['name']}: {len(plan.problems)} problems, {len(plan.runs)} runs, "
          f"{len(plan.figures)} figures, {len(plan.tables)} tables -> {plan.figures_root}")
    shard_of = {s: rid for rid, spec in plan.shards.items() for s in spec["runs"]}
    for rid, rc in sorted(plan.runs.items(), key=lambda kv: (kv[1]["dataset"]["name"], kv[1]["method"]["name"])):
        mult = multipliers_of(rc)
        what = "multipliers" if len(mult) == 1 else f"({', '.join(mult)}) combinations"
        mult = next(iter(mult.values()))
        how = (f", merged from {len(plan.shards[rid]['runs'])} shards" if rid in plan.shards
               else f", shard of {shard_of[rid]}" if rid in shard_of else "")
        print(f"  {rid}  {rc['dataset']['name']:<10} {rc['method']['name']:<12} "
              f"{len(mult)} {what}, {rc['run']['epochs']} passes{how}")


def cmd_manifest_check(paths: list[str]) -> None:
    from .verify.manifest import check_manifest

    bad = False
    for m in paths:
        changed = check_manifest(m)
        bad |= bool(changed)
        print(f"{m}: " + ("all artifacts match" if not changed else "changed: " + ", ".join(changed)))
    sys.exit(1 if bad else 0)


def cmd_check_published(overrides: list[str]) -> None:
    """Re-check what is committed under figures/ without rerunning anything: every artifact
    matches its MANIFEST, and the claims re-evaluated on those artifacts give the committed
    VERIFICATION.json, with no outcome other than the expected one."""
    from pathlib import Path

    from .pipeline.plan import build_plan, claims_doc
    from .verify.claims import recheck
    from .verify.manifest import check_manifest

    plan = build_plan(overrides)
    report = Path(plan.verification).with_suffix(".json")
    if not report.exists():
        _die(f"{report} does not exist: build it with `snakemake verify` at this scale first", 1)
    problems = []
    for paper in plan.papers():
        manifest = f"{plan.figures_root}/{paper}/MANIFEST"
        problems += [f"{manifest}: {name} changed or missing" for name in check_manifest(manifest)]
    problems += recheck([claims_doc(plan, p) for p in plan.claims], str(report))
    for line in problems:
        print(line)
    print(f"{plan.figures_root}: " + ("published artifacts and claims check out" if not problems
                                      else f"{len(problems)} problem(s)"))
    sys.exit(1 if problems else 0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="gradcomp", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["run", "plan", "manifest-check", "check-published"])
    parser.add_argument("args", nargs="*", help="Hydra overrides (key=value), or manifest paths")
    ns = parser.parse_args(argv)

    from .config import ConfigError
    from .data import DataError

    try:
        {"run": cmd_run, "plan": cmd_plan, "manifest-check": cmd_manifest_check,
         "check-published": cmd_check_published}[ns.command](ns.args)
    except ConfigError as exc:
        _die(str(exc))
    except DataError as exc:
        _die(str(exc), 3)
    except KeyboardInterrupt:
        _die("interrupted; nothing half-written was kept", 130)


if __name__ == "__main__":
    main()
