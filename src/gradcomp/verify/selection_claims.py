"""Claim kinds about the selected replica of each curve: a convergence figure's
``_selection.csv`` gives, per panel and curve, the lowest value of the selection metric each
multiplier reached (within the figure's bit budget, where it has one) and which multiplier
was selected. Paper cq compares methods this way: each at its best multiplier, at a fixed
per-client bit budget.
"""

from __future__ import annotations

import csv

from .base import claim_kind


def _selected(ctx, claim) -> dict[tuple[str, str], float]:
    """``{(panel, curve): the selected replica's best metric}``."""
    path = ctx["figures"][claim["artifact"]]["outputs"]["selection"]
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    col = next(k for k in rows[0] if k.startswith("best_"))
    return {(r.get("panel") or r["dataset"], r["method"]): float(r[col]) for r in rows if r["selected"] == "1"}


@claim_kind("selected_less")
def check_selected_less(ctx, claim):
    """Curve ``a``'s selected value is at most ``factor`` times curve ``b``'s in at least
    ``min_share`` of the panels (``panels``: their titles, or every panel); the measured
    text gives the ratio a/b per panel."""
    best = _selected(ctx, claim)
    p = claim["params"]
    a, b, factor = p["a"], p["b"], float(p.get("factor", 1.0))
    panels = p.get("panels") or list(dict.fromkeys(panel for panel, _ in best))
    wins, parts = 0, []
    for panel in panels:
        if (panel, a) not in best or (panel, b) not in best:
            raise ValueError(f"no curve {a!r} or {b!r} in panel {panel!r} of {claim['artifact']}")
        va, vb = best[(panel, a)], best[(panel, b)]
        ok = va <= factor * vb
        wins += ok
        parts.append(f"{panel}: {a}/{b} = {va / vb:.3g}" + ("" if ok else " (no)"))
    share = wins / len(panels)
    need = float(p.get("min_share", 1.0))
    return share >= need, f"{wins} of {len(panels)} panels; " + "; ".join(parts)


@claim_kind("selected_best_of")
def check_selected_best_of(ctx, claim):
    """In at least ``min_share`` of the panels, the best of the curves ``some`` (their lowest
    selected value) is below ``factor`` times curve ``b``'s."""
    best = _selected(ctx, claim)
    p = claim["params"]
    b, some, factor = p["b"], list(p["some"]), float(p.get("factor", 1.0))
    panels = p.get("panels") or list(dict.fromkeys(panel for panel, _ in best))
    wins, parts = 0, []
    for panel in panels:
        k = min(some, key=lambda c: best[(panel, c)])
        ok = best[(panel, k)] <= factor * best[(panel, b)]
        wins += ok
        parts.append(f"{panel}: best {k}/{b} = {best[(panel, k)] / best[(panel, b)]:.3g}" + ("" if ok else " (no)"))
    need = float(p.get("min_share", 1.0))
    return wins / len(panels) >= need, f"{wins} of {len(panels)} panels; " + "; ".join(parts)
