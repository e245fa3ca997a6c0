"""What a build cost: the runs' wall times against the floor of the work they did.

    python benchmarks/reproduction_cost.py [--results results] [--top 5] [--out FILE]

Reads every ``<results>/runs/<id>/`` with a ``provenance.json`` (the runs of whatever was
built there: ``snakemake all`` at ``scale=paper`` for the whole reproduction) and prints:

* the sum of the runs' wall times (``provenance.json``'s ``wall_time_s``; a merged run
  counts through its shards, which are runs too);
* the floor of that work, as issue 14 defines it: for each run, the data passes its
  replicas actually kept live (a replica that stopped or diverged at record t counts the
  passes up to t; replicas whose records are identical count once, since a local method
  computes the server-point path it shares across client stepsizes once), times
  ``PASSES`` reads of the data per pass (the method's gradients and f), times the per-pass
  floor of ``bench_methods.py`` (``nnz x 16`` bytes of a sparse matrix, 8
  bytes per entry of a dense one, at the ``numpy.copyto`` bandwidth measured in this run);
* the most expensive runs with their share of the total and their own floor ratio.

Runs on problems whose data is not a matrix ``A`` (none today) are counted in the wall
time and left out of the floor, with a line saying so. The floor counts each replica's
bytes, as the per-replica targets of issue 14 do: a run that advances many replicas per
read of the data can go under it (a ratio below 1), and local methods and MARINA's
full-gradient rounds read the data more than twice per pass.
Not a test: wall times depend on the machine and on what ran beside the build.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from bench_methods import BYTES_PER_NNZ, PASSES, copy_bandwidth

from gradcomp.config import composer, to_plain
from gradcomp.data import DataError
from gradcomp.pipeline import io, problem


def trajectories(trace) -> np.ndarray:
    """Indices of the replicas whose records differ: replicas that share a trajectory (a local
    method's server-point path, shared across its client stepsizes) were computed once."""
    R = len(trace["event"])
    recs = [np.nan_to_num(np.asarray(v, dtype=float)) for k, v in trace.items()
            if np.ndim(v) == 2 and np.shape(v)[1] == R]
    if not recs:
        return np.arange(R)
    return np.unique(np.concatenate(recs, axis=0), axis=1, return_index=True)[1]


def live_passes(trace) -> float:
    """Data passes summed over the distinct trajectories, each up to the record where its
    replica stopped."""
    passes = np.asarray(trace["passes"])
    event = np.asarray(trace["event"])[trajectories(trace)]
    return float(np.where(event >= 0, passes[np.clip(event, 0, None)], passes[-1]).sum())


def bytes_per_pass(prob) -> int | None:
    A = getattr(prob, "A", None)
    if A is None:
        return None
    return int(A.nnz) * BYTES_PER_NNZ if sp.issparse(A) else int(np.asarray(A).size) * 8


def runs(results: Path) -> list[dict]:
    out = []
    for prov_path in sorted((results / "runs").glob("*/provenance.json")):
        d = prov_path.parent
        prov = io.read_json(prov_path)
        if "shards" in prov or not (d / "trace.npz").exists():
            continue  # a merge: its shards are counted
        cfg = io.read_json(d / "config.json")
        trace = dict(io.loadz(d / "trace.npz"))
        out.append({"id": d.name, "cfg": cfg, "wall": float(prov["wall_time_s"]),
                    "replicas": len(trace["event"]), "distinct": len(trajectories(trace)),
                    "passes": live_passes(trace)})
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", default="results")
    ap.add_argument("--top", type=int, default=5)
    ap.add_argument("--out")
    a = ap.parse_args()
    results = Path(a.results)
    with composer() as c:  # the data node of conf/config.yaml: mirror, cache, download
        data = to_plain(c([]))["data"]
    rs = runs(results)
    if not rs:
        raise SystemExit(f"reproduction_cost: no finished runs under {results}/runs (build something first)")
    bw = copy_bandwidth()
    sizes: dict[str, int | None] = {}
    for r in rs:
        pid = problem.problem_dir(r["cfg"], results).name
        if pid not in sizes:
            try:
                sizes[pid] = bytes_per_pass(problem.load(r["cfg"], data, results)[0])
            except DataError as e:
                raise SystemExit(f"reproduction_cost: {e}") from None
        b = sizes[pid]
        r["floor"] = None if b is None else r["passes"] * PASSES * b / bw
    total = sum(r["wall"] for r in rs)
    counted = [r for r in rs if r["floor"] is not None]
    floor = sum(r["floor"] for r in counted)
    lines = [
        f"{len(rs)} runs in {results}/runs; copy bandwidth {bw / 1e9:.2f} GB/s.", "",
        f"* sum of the runs' wall times: {total:.0f} s ({total / 3600:.2f} CPU-hours)",
        f"* floor of their work: {floor:.0f} s ({PASSES} reads of the data per pass, "
        f"{len(counted)} runs); wall / floor = {total / floor:.1f}" if floor else "* floor: none counted",
    ]
    if len(counted) < len(rs):
        lines.append(f"* {len(rs) - len(counted)} runs have no data matrix and no floor")
    lines += ["", f"The {a.top} most expensive runs:", "",
              "| run | dataset | method | replicas (distinct) | live passes | wall s | share | wall / floor |",
              "|---|---|---|---|---|---|---|---|"]
    for r in sorted(rs, key=lambda r: -r["wall"])[:a.top]:
        c = r["cfg"]
        ratio = f"{r['wall'] / r['floor']:.1f}" if r["floor"] else "-"
        lines.append(f"| {r['id']} | {c['dataset']['name']} | {c['method']['name']} | {r['replicas']} ({r['distinct']}) | "
                     f"{r['passes']:.0f} | {r['wall']:.0f} | {r['wall'] / total:.1%} | {ratio} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        Path(a.out).write_text(text)


if __name__ == "__main__":
    main()
