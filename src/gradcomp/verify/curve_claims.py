"""Claim kinds about when curves reach a level: a convergence figure's ``_reach.csv``
(a figure with ``reach``), which gives every curve's x (bits, rounds, ...) at the level,
``nan`` when it never got there, and its status (``diverged`` when it blew up).

A curve that never reached the level counts as slower than every curve that did.
"""

from __future__ import annotations

import csv
import math

from .base import claim_kind


def _reach(ctx, claim) -> dict[str, dict]:
    path = ctx["figures"][claim["artifact"]]["outputs"]["reach"]
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    col = next(k for k in rows[0] if k.endswith("_to_level"))
    return {r["curve"]: {"x": float(r[col]), "status": r["status"], "best": r["best_of_sweep"] == "1",
                         "lowest": float(next(v for k, v in r.items() if k.startswith("lowest_")))}
            for r in rows}


def _best_of(rows: dict, sweep: str) -> str:
    keys = [k for k, r in rows.items() if r["best"] and k.startswith(sweep + "_")]
    if len(keys) != 1:
        raise ValueError(f"sweep {sweep!r} has {len(keys)} best curves in the reach table")
    return keys[0]


def _key(rows: dict, key: str) -> str:
    """A curve key, or ``best:<sweep>`` for the best curve of a sweep."""
    return _best_of(rows, key[5:]) if key.startswith("best:") else key


def _x(rows: dict, key: str) -> float:
    if key not in rows:
        raise ValueError(f"no curve {key!r} in the reach table")
    x = rows[key]["x"]
    return math.inf if math.isnan(x) else x


def _txt(rows: dict, key: str) -> str:
    r = rows[key]
    if math.isnan(r["x"]):
        return f"{key} never ({r['status']}, lowest {r['lowest']:.2g})"
    return f"{key} {r['x']:.4g}"


@claim_kind("reach_less")
def check_reach_less(ctx, claim):
    """Every pair ``[a, b]`` of ``pairs``: a reaches the level at a smaller x than b, by at
    least the factor ``factor`` (default 1: any margin); a key ``best:<sweep>`` names the
    best curve of a sweep. The measured text gives x(b) / x(a) (the paper's ratios go in the
    statement)."""
    rows = _reach(ctx, claim)
    factor = float(claim["params"].get("factor", 1.0))
    out, ok = [], True
    for a, b in claim["params"]["pairs"]:
        a, b = _key(rows, a), _key(rows, b)
        xa, xb = _x(rows, a), _x(rows, b)
        passed = xa * factor < xb
        ok &= passed
        ratio = xb / xa if math.isfinite(xa) and math.isfinite(xb) else math.nan
        out.append(f"{_txt(rows, a)} vs {_txt(rows, b)}" + (f", ratio {ratio:.2f}" if math.isfinite(ratio) else "")
                   + ("" if passed else " (no)"))
    return ok, "; ".join(out)


@claim_kind("reach_increasing")
def check_reach_increasing(ctx, claim):
    """The curves of ``keys`` reach the level at strictly increasing x, in that order."""
    rows = _reach(ctx, claim)
    keys = claim["params"]["keys"]
    xs = [_x(rows, k) for k in keys]
    ok = all(a < b for a, b in zip(xs, xs[1:])) and math.isfinite(xs[-1])
    return ok, " < ".join(_txt(rows, k) for k in keys)


@claim_kind("reach_argmin")
def check_reach_argmin(ctx, claim):
    """Among ``keys``, the curve that reaches the level first is one of ``fastest``."""
    rows = _reach(ctx, claim)
    p = claim["params"]
    first = min(p["keys"], key=lambda k: _x(rows, k))
    ok = math.isfinite(_x(rows, first)) and first in p["fastest"]
    return ok, f"first: {first}; " + ", ".join(_txt(rows, k) for k in p["keys"])


@claim_kind("sweep_best_less")
def check_sweep_best_less(ctx, claim):
    """The best value of sweep ``a`` reaches the level before the best of sweep ``b`` (each
    sweep's best is the curve marked ``best_of_sweep``)."""
    rows = _reach(ctx, claim)
    p = claim["params"]
    a, b = _best_of(rows, p["a"]), _best_of(rows, p["b"])
    xa, xb = _x(rows, a), _x(rows, b)
    ratio = xb / xa if math.isfinite(xa) and math.isfinite(xb) else math.nan
    return xa < xb, f"best {_txt(rows, a)} vs best {_txt(rows, b)}" + (
        f", ratio {ratio:.2f}" if math.isfinite(ratio) else "")


@claim_kind("diverges")
def check_diverges(ctx, claim):
    """The curves of ``diverge`` diverge (status diverged) and those of ``converge`` reach the
    level."""
    rows = _reach(ctx, claim)
    p = claim["params"]
    bad = [k for k in p.get("diverge", []) if rows[k]["status"] != "diverged"]
    bad += [k for k in p.get("converge", []) if not math.isfinite(_x(rows, k))]
    shown = [*p.get("diverge", []), *p.get("converge", [])]
    return not bad, "; ".join(_txt(rows, k) + (" (no)" if k in bad else "") for k in shown)
