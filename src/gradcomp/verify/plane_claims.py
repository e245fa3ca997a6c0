"""Claim kinds about an analytic plane (``kind: improvement_plane``, paper cq's Figure 4): its
``_checkpoints.csv`` (points evaluated exactly, by label) and its CSV of every grid point.

A value matches a printed number when it rounds to it: within half a unit of the printed
last digit ("0.23": 0.005), unless the check gives its own absolute ``tol``.
"""

from __future__ import annotations

import csv
import math

from .base import claim_kind
from .claims import printed_unit

OPS = {"==": lambda a, b, tol: abs(a - b) <= tol, "<": lambda a, b, tol: a < b - tol,
       "<=": lambda a, b, tol: a <= b + tol, ">": lambda a, b, tol: a > b + tol,
       ">=": lambda a, b, tol: a >= b - tol}


def _read(ctx, claim, output: str) -> list[dict]:
    with open(ctx["figures"][claim["artifact"]]["outputs"][output], newline="") as fh:
        return list(csv.DictReader(fh))


def _checkpoints(ctx, claim) -> dict[str, dict]:
    return {r["label"]: r for r in _read(ctx, claim, "checkpoints")}


def _value(rows: dict, label: str, column: str) -> float:
    if label not in rows:
        raise ValueError(f"no checkpoint {label!r} (have {', '.join(rows)})")
    return float(rows[label][column])


@claim_kind("plane_checkpoint")
def check_plane_checkpoint(ctx, claim):
    """Checkpoint values against published numbers, and optionally a monotone sequence.

    params:
      checks: list of {checkpoint, column, printed (text) or value (number), tol (absolute;
        default half a unit of ``printed``'s last digit), match (default true; false: the
        value must *not* match, e.g. a convention that does not reproduce a number)};
      decreasing: optional {column, checkpoints: [labels]}: the column strictly decreases
        along them (and ``checks`` give where it ends).
    """
    p = claim["params"]
    rows = _checkpoints(ctx, claim)
    ok, out = True, []
    for c in p.get("checks", []):
        v = _value(rows, c["checkpoint"], c["column"])
        if "printed" in c:
            target, ref = float(c["printed"]), f"printed {c['printed']}"
            tol = float(c["tol"]) if "tol" in c else printed_unit(str(c["printed"])) / 2
        else:
            target, ref, tol = float(c["value"]), f"reference {float(c['value']):g}", float(c["tol"])
        matches = math.isfinite(v) and abs(v - target) <= tol * (1 + 1e-9)
        want = bool(c.get("match", True))
        ok &= matches == want
        verdict = ("matches" if matches else "does not match") + ("" if matches == want else " (no)")
        out.append(f"{c['checkpoint']} {c['column']} {v:.6g} ({ref}, |diff| {abs(v - target):.2g} "
                   f"vs {tol:.2g}: {verdict})")
    dec = p.get("decreasing")
    if dec:
        vals = [_value(rows, lab, dec["column"]) for lab in dec["checkpoints"]]
        mono = all(b < a for a, b in zip(vals, vals[1:]))
        ok &= mono
        out.append(f"{dec['column']} along {', '.join(dec['checkpoints'])}: "
                   + " > ".join(f"{v:.5g}" for v in vals) + ("" if mono else " (not decreasing)"))
    return ok, "; ".join(out)


@claim_kind("plane_region")
def check_plane_region(ctx, claim):
    """Every grid point of a region satisfies ``column op value`` (within ``tol``, default 1e-12).

    params: column, op ('==', '<', '<=', '>', '>='), value, tol; the region: d_over_n_min,
    d_over_n_max (bounds on d / n, inclusive), d_min, d_max (optional each).
    """
    p = claim["params"]
    op, target, tol = p["op"], float(p["value"]), float(p.get("tol", 1e-12))

    def inside(r):
        d, n = float(r["d"]), float(r["n"])
        return ((p.get("d_over_n_min") is None or d >= float(p["d_over_n_min"]) * n)
                and (p.get("d_over_n_max") is None or d <= float(p["d_over_n_max"]) * n)
                and (p.get("d_min") is None or d >= float(p["d_min"]))
                and (p.get("d_max") is None or d <= float(p["d_max"])))

    region = [r for r in _read(ctx, claim, "csv") if inside(r)]
    if not region:
        raise ValueError(f"no grid point of {claim['artifact']} lies in the region")
    col = p["column"]
    vals = [float(r[col]) for r in region]
    bad = [(r, v) for r, v in zip(region, vals) if not OPS[op](v, target, tol)]
    text = (f"{len(region) - len(bad)}/{len(region)} grid points hold {col} {op} {target:g}; "
            f"{col} in [{min(vals):.4g}, {max(vals):.4g}] there")
    if bad:
        text += "; failing (d, n, value): " + ", ".join(f"({r['d']}, {r['n']}, {v:.4g})" for r, v in bad[:8])
        text += ", ..." if len(bad) > 8 else ""
    return not bad, text
