"""Claim kinds about the compressor studies (``conf/compressor_study/``), whose CSVs hold
Monte Carlo means with their standard errors.

A comparison passes when it holds within ``z`` standard errors of the Monte Carlo mean
(``z`` = 3 unless the claim says otherwise), so a claim's outcome does not flip with the
number of draws when the statement is true, and a false statement fails once the draws
resolve it.
"""

from __future__ import annotations

import csv
import math

from .base import claim_kind

OPS = {"<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b}


def _rows(ctx, claim) -> list[dict]:
    with open(ctx["studies"][claim["artifact"]]["outputs"]["csv"], newline="") as fh:
        return list(csv.DictReader(fh))


def _match(row: dict, where: dict) -> bool:
    return all(str(row.get(k)) == str(v) for k, v in where.items())


def _num(row: dict, col: str) -> float:
    return float(row[col])


@claim_kind("study_compare")
def check_study_compare(ctx, claim):
    """Every selected row (or group maximum): ``value op factor * ref``, within z se.

    params: where (column -> value filters), value, se (column, optional), op ('<=' or '>='),
    ref (a column) or ref_value (a number), factor (default 1), group_by + aggregate 'max'
    (compare the group's largest value + z se, e.g. the worst input of a compressor), z.
    """
    p = claim["params"]
    z, factor, op = float(p.get("z", 3.0)), float(p.get("factor", 1.0)), p["op"]
    rows = [r for r in _rows(ctx, claim) if _match(r, p.get("where", {}))]
    if not rows:
        raise ValueError(f"no rows of {claim['artifact']} match {p.get('where')}")

    def val(r):  # the value moved by z se towards passing
        se = _num(r, p["se"]) if p.get("se") else 0.0
        se = 0.0 if math.isnan(se) else se
        return _num(r, p["value"]) + (-z * se if op == "<=" else z * se)

    def ref(r):
        return factor * (_num(r, p["ref"]) if p.get("ref") else float(p["ref_value"]))

    items = []
    if p.get("group_by"):
        groups: dict[str, list[dict]] = {}
        for r in rows:
            groups.setdefault(r[p["group_by"]], []).append(r)
        for g, rs in groups.items():
            best = max(rs, key=val)
            items.append((g, _num(best, p["value"]), val(best), ref(best)))
    else:
        label = p.get("label", "label")
        for r in rows:
            tag = r.get(label, "") + (f" n={r['n']}" if "n" in r and label != "n" else "")
            items.append((tag, _num(r, p["value"]), val(r), ref(r)))
    bad = [it for it in items if not OPS[op](it[2], it[3])]

    def fmt(its):
        return "; ".join(f"{g}: {v:.4g} vs {r_:.4g}" for g, v, _, r_ in its[:8]) + ("; ..." if len(its) > 8 else "")
    head = f"{len(items) - len(bad)}/{len(items)} hold (measured vs {factor:g} x reference)"
    head += f"; failing: {fmt(bad)}" if bad else f": {fmt(items)}"
    return not bad, head


@claim_kind("study_ratio_band")
def check_study_ratio_band(ctx, claim):
    """Per value of ``by`` (e.g. n): ratio of the numerator row's ``value`` to the
    denominator row's lies in [lo, hi] times ``by`` (or times 1 if ``scale_by`` is false),
    with the ratio's standard error (delta method) allowed z times."""
    p = claim["params"]
    z, (lo, hi) = float(p.get("z", 3.0)), p["band"]
    rows = _rows(ctx, claim)
    num = {r[p["by"]]: r for r in rows if _match(r, p["numerator"])}
    den = {r[p["by"]]: r for r in rows if _match(r, p["denominator"])}
    keys = [k for k in num if k in den]
    if not keys:
        raise ValueError("no common rows for the ratio")
    out, ok = [], True
    for k in keys:
        a, sa = _num(num[k], p["value"]), _num(num[k], p["se"])
        b, sb = _num(den[k], p["value"]), _num(den[k], p["se"])
        ratio = a / b
        se = ratio * math.sqrt((sa / a) ** 2 + (sb / b) ** 2) if a > 0 and b > 0 else math.inf
        s = float(k) if p.get("scale_by", True) else 1.0
        passed = ratio + z * se >= lo * s and ratio - z * se <= hi * s
        ok &= passed
        out.append(f"{p['by']}={k}: {ratio:.3g} = {ratio / s:.3g} x {p['by']}" + ("" if passed else " (no)"))
    return ok, "; ".join(out)

