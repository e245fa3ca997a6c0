"""``gradcomp``: run one experiment, show the plan, list the config choices, check what is published.

    gradcomp run dataset=a9a method=diana_rr compressor.k=2 stepsize.multiplier=4 scale=quick
    gradcomp run --cfg method=diana compressor=topk     # the resolved run config, not run
    gradcomp plan scale=quick
    gradcomp groups [method]                             # config groups and their choices
    gradcomp manifest-check figures/rr/MANIFEST
    gradcomp check-published            # the committed figures/ still back VERIFICATION.md

Arguments after ``run``, ``plan`` and ``check-published`` are Hydra overrides of
``conf/config.yaml``; ``gradcomp COMMAND --help`` describes each command.
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


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def cmd_run(overrides: list[str], show_cfg: bool = False) -> None:
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
    if show_cfg:
        from omegaconf import OmegaConf

        print(f"# run {rid} (scale={full['scale']['name']}); not run: drop --cfg to run it")
        print(OmegaConf.to_yaml(OmegaConf.create(cfg)), end="")
        return
    root = full["results_root"]
    out = f"{root}/runs/{rid}"
    epochs = int(cfg["run"]["epochs"])
    mult = multipliers_of(cfg)
    axes = list(mult)
    R = len(mult[axes[0]])
    what = ("multiplier", "multipliers") if len(axes) == 1 else (f"({', '.join(axes)}) multiplier pair",
                                                                 f"({', '.join(axes)}) multiplier pairs")
    print(f"run {rid}: {cfg['method']['label']} on {cfg['dataset']['name']}, "
          f"{cfg['compressor']['name']}, {_plural(R, *what)}, {epochs} data passes "
          f"(scale={full['scale']['name']}) -> {out}")
    with tqdm(total=epochs, unit="pass", dynamic_ncols=True) as bar:
        def progress(p: float) -> None:
            bar.update(min(epochs, int(p)) - bar.n)

        def phase(what: str) -> None:
            bar.set_description_str(what)
        run_to_dir(cfg, full["data"], root, out, progress=progress, phase=phase)
        bar.set_description_str("done")
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
    from .pipeline.plan import build_plan, stderr_progress
    from .pipeline.run import multipliers_of

    plan = build_plan(overrides, progress=stderr_progress)
    print(f"scale={plan.base['scale']['name']}: {len(plan.problems)} problems, {len(plan.runs)} runs, "
          f"{len(plan.figures)} figures, {len(plan.tables)} tables -> {plan.figures_root}")
    shard_of = {s: rid for rid, spec in plan.shards.items() for s in spec["runs"]}
    used_by: dict[str, list[str]] = {}
    for ident, fp in plan.figures.items():
        for p in fp.panels:
            for rid in p["runs"].values():
                used_by.setdefault(rid, []).append(ident)

    def key(kv):
        rc = kv[1]
        return rc["dataset"]["name"], rc["method"]["name"], rc["compressor"]["name"], kv[0]
    rows = {}
    for rid, rc in sorted(plan.runs.items(), key=key):
        mult = multipliers_of(rc)
        grid = next(iter(mult.values()))
        reps = (_plural(len(grid), "multiplier", "multipliers") if len(mult) == 1
                else _plural(len(grid), "pair", "pairs") + f" of ({', '.join(mult)})")
        reps += f", {rc['run']['epochs']} passes"
        how = (f", merged from {len(plan.shards[rid]['runs'])} shards" if rid in plan.shards
               else f", shard of {shard_of[rid]}" if rid in shard_of else "")
        rows[rid] = (f"{rc['dataset']['name']:<20} {rc['method']['name']:<14} {_compressor_txt(rc):<26} "
                     f"{reps + how:<34} {', '.join(sorted(set(used_by.get(rid, []))))}")
    differ = _differences(plan.runs, rows)
    print(f"  {'run':<12}  {'dataset':<20} {'method':<14} {'compressor':<26} {'replicas':<34} figures")
    for rid, row in rows.items():
        print(f"  {rid:<12}  {row}" + (f"  [{differ[rid]}]" if rid in differ else ""))


def _flat(node, prefix: str = "") -> dict:
    if isinstance(node, dict):
        return {k: v for key, sub in node.items() for k, v in _flat(sub, f"{prefix}{key}.").items()}
    return {prefix[:-1]: node}


def _differences(runs: dict, rows: dict) -> dict[str, str]:
    """For runs whose summary rows are alike, the config keys that tell them apart."""
    alike: dict[str, list[str]] = {}
    for rid, row in rows.items():
        alike.setdefault(row, []).append(rid)
    out = {}
    for rids in (g for g in alike.values() if len(g) > 1):
        flat = {rid: _flat(runs[rid]) for rid in rids}
        keys = sorted({k for f in flat.values() for k in f
                       if len({repr(g.get(k)) for g in flat.values()}) > 1})
        for rid in rids:
            out[rid] = ", ".join(f"{k}={flat[rid].get(k)}" for k in keys)
    return out


def _compressor_txt(rc: dict) -> str:
    """The compressor and the settings that tell runs apart (k, s, alpha, ...)."""
    c = rc["compressor"]
    keys = ("k", "k_fraction", "s", "nu", "omega", "alpha", "b", "norm")
    extra = [f"{k}={c[k]}" for k in keys if c.get(k) is not None]
    return c["name"] + (f" ({', '.join(extra)})" if extra else "")


def cmd_groups(args: list[str]) -> None:
    """The config groups and their choices (``gradcomp groups``), or one group's choices
    with each yaml's first comment line (``gradcomp groups method``)."""
    from .config import conf_dir

    root = conf_dir()
    groups = sorted(p.name for p in root.iterdir() if p.is_dir())
    if not args:
        for g in groups:
            names = sorted(str(y.relative_to(root / g).with_suffix("")) for y in (root / g).rglob("*.yaml"))
            print(f"{g}: {', '.join(names)}")
        print("\nPick one with <group>=<choice> (e.g. method=diana_rr), or set a key with <group>.<key>=<value>; "
              "`gradcomp groups <group>` describes the choices, `gradcomp run --cfg ...` prints a resolved config.")
        return
    for g in args:
        if g not in groups:
            _die(f"no config group {g!r}; the groups are {', '.join(groups)}")
        for y in sorted((root / g).rglob("*.yaml")):
            first = next((ln.lstrip("# ").rstrip() for ln in y.read_text().splitlines()
                          if ln.startswith("#") and ln.lstrip("# ").strip()), "")
            print(f"{str(y.relative_to(root / g).with_suffix('')):<28} {first}")


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


_OVERRIDES = "Hydra overrides of conf/config.yaml: group=choice (method=diana_rr) or key=value (compressor.k=2)"


def _parser() -> argparse.ArgumentParser:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(prog="gradcomp", description=__doc__, formatter_class=raw)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("run", help="run one experiment, with a progress bar", formatter_class=raw,
                       description="Run one experiment: one method on one problem over its stepsize multipliers, "
                                   "written to results/runs/<run id>/ (skipped work is never redone: the id is "
                                   "the hash of the config).\n\nexamples:\n"
                                   "  gradcomp run method=diana_rr dataset=a9a compressor.k=2\n"
                                   "  gradcomp run method=diana compressor=natural_dithering stepsize.grid=[1,2,4]\n"
                                   "  gradcomp run --cfg method=cgd compressor=spherical compressor.alpha=0.2\n\n"
                                   "The defaults run scale=paper lengths (conf/config.yaml); scale=quick or "
                                   "scale=smoke is shorter. `gradcomp groups` lists the choices.")
    p.add_argument("overrides", nargs="*", help=_OVERRIDES)
    p.add_argument("--cfg", action="store_true", help="print the resolved run config and its id, do not run")
    p = sub.add_parser("plan", help="list the runs `snakemake all` would need", formatter_class=raw,
                       description="Compose the plan of `snakemake all` for these overrides and list its runs: id, "
                                   "dataset, method, compressor, replicas and the figures that use each.\n\n"
                                   "example:\n  gradcomp plan scale=quick")
    p.add_argument("overrides", nargs="*", help=_OVERRIDES)
    p = sub.add_parser("groups", help="list the config groups and their choices",
                       description="Without arguments: every config group (conf/<group>/) and its choices. With "
                                   "group names: each choice with the first line of its yaml's comment.")
    p.add_argument("groups", nargs="*", help="config groups to describe (e.g. method compressor)")
    p = sub.add_parser("manifest-check", help="check artifacts against a MANIFEST of sha256 sums")
    p.add_argument("paths", nargs="+", help="MANIFEST files (e.g. figures/rr/MANIFEST)")
    p = sub.add_parser("check-published", help="check the committed figures/ against their MANIFESTs and "
                                               "VERIFICATION.json, without rerunning anything")
    p.add_argument("overrides", nargs="*", help=_OVERRIDES)
    return parser


def main(argv: list[str] | None = None) -> None:
    ns = _parser().parse_args(argv)

    from .config import ConfigError
    from .data import DataError

    try:
        if ns.command == "run":
            cmd_run(ns.overrides, show_cfg=ns.cfg)
        elif ns.command == "plan":
            cmd_plan(ns.overrides)
        elif ns.command == "groups":
            cmd_groups(ns.groups)
        elif ns.command == "manifest-check":
            cmd_manifest_check(ns.paths)
        else:
            cmd_check_published(ns.overrides)
    except ConfigError as exc:
        _die(str(exc))
    except DataError as exc:
        _die(str(exc), 3)
    except KeyboardInterrupt:
        _die("interrupted; nothing half-written was kept", 130)
    except BrokenPipeError:
        # the reader went away (`gradcomp plan | head`): stop quietly, as a shell tool does;
        # stdout goes to devnull so that Python's exit-time flush does not raise again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)


if __name__ == "__main__":
    main()
