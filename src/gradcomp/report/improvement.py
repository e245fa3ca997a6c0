"""paper cq's Figure 4 (``kind: improvement_plane``): the improvement factor of MARINA with IQ
and CQ over GD in the d-n plane, from the formulas of spec A.5 (gradcomp.theory.cq).

Every value is computed here from the figure's config: the grid, the checkpoints, the bit
model and the AB-constant convention. The CSV holds every grid point, the checkpoints CSV
the rows the claims read.
"""

from __future__ import annotations

import numpy as np

from ..pipeline import io
from ..theory.cq import improvement_factor
from . import style
from .captions import draw_caption, write_captions
from .figures import _csv

COLUMNS = ["d", "n", "log2_d", "log2_n", "ab_constants", "bits_compressed", "A_IQ", "A_CQ", "IF_IQ", "p_IQ",
           "IF_CQ", "p_CQ", "ratio"]
CHECKPOINT_COLUMNS = ["label", *COLUMNS]

def ab_constants(d: int, n: int, convention: str) -> tuple[float, float]:
    """``(A_IQ, A_CQ)`` for d coordinates and n clients, as the compressors state them
    (:meth:`~gradcomp.compressors.IQ.ab_constants`): the paper's d/(4n), d/(4n^2), or the
    exact (d-1)/n, d/n^2 of the range [-||x||, ||x||] the authors' code uses (spec A.1)."""
    from ..compressors import CQ, IQ, BitCost

    cost = BitCost(32, False)
    return IQ(d, cost).ab_constants(n, convention)[0], CQ(d, n, "uniform", cost).ab_constants(n, convention)[0]


def point(d: int, n: int, convention: str, spec: dict) -> dict:
    """One (d, n): both compressors at their own optimal p, and the ratio IF_IQ / IF_CQ."""
    d, n = int(d), int(n)
    bits = int(spec["bits_per_coordinate"]) * d + int(spec["bits_extra"])
    a_iq, a_cq = ab_constants(d, n, convention)
    bpf = int(spec["bits_per_float"])
    if_iq, p_iq = improvement_factor(d, bits, a_iq, bpf)
    if_cq, p_cq = improvement_factor(d, bits, a_cq, bpf)
    return {"d": d, "n": n, "log2_d": float(np.log2(d)), "log2_n": float(np.log2(n)), "ab_constants": convention,
            "bits_compressed": bits, "A_IQ": a_iq, "A_CQ": a_cq, "IF_IQ": if_iq, "p_IQ": p_iq, "IF_CQ": if_cq,
            "p_CQ": p_cq, "ratio": if_iq / if_cq}


def plane(spec: dict) -> list[dict]:
    """Every grid point, n-major (rows of the heatmaps), under the figure's convention."""
    from ..kinds.improvement import axis_values

    conv = str(spec["ab_constants"])
    return [point(2 ** ld, 2 ** ln, conv, spec) for ln in axis_values(spec["log2_n"])
            for ld in axis_values(spec["log2_d"])]


def checkpoints(spec: dict) -> list[dict]:
    return [{"label": c["label"], **point(c["d"], c["n"], str(c.get("ab_constants") or spec["ab_constants"]), spec)}
            for c in spec["checkpoints"]]


def _pow2_ticks(lo: float, hi: float) -> list[float]:
    """Powers of two within [lo, hi] (colorbar ticks of a log scale)."""
    return [2.0 ** k for k in range(int(np.ceil(np.log2(lo) - 1e-9)), int(np.floor(np.log2(hi) + 1e-9)) + 1)]


def _tick_text(v: float) -> str:
    return f"1/{2 ** round(-np.log2(v))}" if v < 1 else f"{v:g}"


def _p_text(p: float) -> str:
    return f"{p:.4f}" if p >= 1e-3 else f"{p:.2e}"


def _extremes(rows: list[dict]) -> str:
    """Where the grid's IF are smallest and the ratio largest (what the reader looks for)."""
    def at(col, pick):
        r = pick(rows, key=lambda r: r[col])
        return f"{r[col]:.4g} at (d, n) = (2^{round(r['log2_d'])}, 2^{round(r['log2_n'])})"
    return (f"On this grid: smallest IF_IQ {at('IF_IQ', min)}, smallest IF_CQ {at('IF_CQ', min)}, "
            f"largest IF_IQ / IF_CQ {at('ratio', max)}.")


def caption(doc: dict, rows: list[dict], cps: list[dict]) -> str:
    spec, scale = doc["spec"], doc["scale"]
    ld, ln = spec["log2_d"], spec["log2_n"]
    conv = str(spec["ab_constants"])
    consts = ("A_IQ = d/(4n), A_CQ = d/(4n^2) (the paper's)" if conv == "paper"
              else "A_IQ = d/n, A_CQ = d/n^2 (true constants of the range 2||x||)")
    bpc = int(spec["bits_per_coordinate"])
    head = (f"**{spec['id']}** (scale={scale['name']}, analytic: no runs; ab_constants={conv}: {consts}; "
            f"compressed round {'' if bpc == 1 else f'{bpc} '}d + {spec['bits_extra']} bits, GD "
            f"{spec['bits_per_float']} d bits; grid log2 d in [{ld['lo']}, {ld['hi']}], log2 n in "
            f"[{ln['lo']}, {ln['hi']}], step {ld['step']}/{ln['step']}: our choice, the paper gives no "
            f"ranges). {' '.join(spec['caption'].split())} {_extremes(rows)}")
    lines = [head]
    if cps:
        lines += ["", "Checkpoints (each compressor at its own optimal p):", "",
                  "| checkpoint | d | n | constants | IF_IQ (p*) | IF_CQ (p*) | IF_IQ / IF_CQ |",
                  "|---|---|---|---|---|---|---|"]
        lines += [f"| {c['label']} | {c['d']} | {c['n']} | {c['ab_constants']} | {c['IF_IQ']:.4f} "
                  f"({_p_text(c['p_IQ'])}) | {c['IF_CQ']:.4f} ({_p_text(c['p_CQ'])}) | {c['ratio']:.2f} |"
                  for c in cps]
    if spec.get("deviations"):
        lines += ["", "Differences from the paper's text: " + " ".join(spec["deviations"])]
    return "\n".join(lines) + "\n"


def build_improvement_plane(doc: dict) -> None:
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    from ..kinds.improvement import axis_values

    spec, outs = doc["spec"], doc["outputs"]
    rows = plane(spec)
    cps = checkpoints(spec)
    xs, ys = axis_values(spec["log2_d"]), axis_values(spec["log2_n"])
    shape = (len(ys), len(xs))
    grids = [np.array([r[c] for r in rows]).reshape(shape) for c in ("IF_IQ", "IF_CQ", "ratio")]
    norms = [LogNorm(*spec["if_limits"]), LogNorm(*spec["if_limits"]), LogNorm(*spec["ratio_limits"])]
    cmaps = [spec["cmap"], spec["cmap"], spec["ratio_cmap"]]
    sx, sy = int(spec["log2_d"]["step"]), int(spec["log2_n"]["step"])
    xe = np.append(np.asarray(xs, float) - sx / 2, xs[-1] + sx / 2)
    ye = np.append(np.asarray(ys, float) - sy / 2, ys[-1] + sy / 2)

    style.apply()
    fig, axes = plt.subplots(1, 3, figsize=(15.0, 4.6))
    for i, ax in enumerate(axes):
        mesh = ax.pcolormesh(xe, ye, grids[i], norm=norms[i], cmap=cmaps[i], shading="flat")
        ticks = _pow2_ticks(norms[i].vmin, norms[i].vmax)
        cb = fig.colorbar(mesh, ax=ax, ticks=ticks, fraction=0.046, pad=0.03)
        cb.ax.minorticks_off()
        cb.ax.set_yticklabels([_tick_text(t) if i < 2 else f"{t:g}" for t in ticks])
        cb.set_label(spec["colorbar_labels"][i])
        for g in (g for g in spec["guides"] if int(g["panel"]) == i):
            n_line = np.linspace(ye[0], ye[-1], 200)
            d_line = float(g["a"]) * n_line + float(g["b"])
            keep = np.flatnonzero((d_line >= xe[0]) & (d_line <= xe[-1]))
            if keep.size == 0:
                continue
            ax.plot(d_line[keep], n_line[keep], ls="--", lw=1.3, color="white")
            at = keep[int(0.7 * (keep.size - 1))]
            ax.text(d_line[at], n_line[at], " " + g["label"], color="white", fontsize=8, ha="left", va="top",
                    rotation=0, bbox={"boxstyle": "round,pad=0.15", "fc": "0.15", "ec": "none", "alpha": 0.6})
        ax.set_xlim(xe[0], xe[-1])
        ax.set_ylim(ye[0], ye[-1])
        ax.set_title(spec["panel_titles"][i])
        ax.set_xlabel(spec["xlabel"])
        ax.set_ylabel(spec["ylabel"])
        ax.grid(False)
        step = max(1, len(xs) // 10)
        ax.set_xticks(xs[::step])
        ax.set_yticks(ys[::max(1, len(ys) // 10)])
    fig.tight_layout()
    # embedded, the caption leaves out the checkpoints table (in the caption files and CSV)
    draw_caption(fig, doc, caption(doc, rows, []), 200)
    for fmt in ("png", "pdf"):
        style.save(fig, outs[fmt])
    plt.close(fig)
    io.write_text(outs["csv"], _csv([[r[c] for c in COLUMNS] for r in rows], COLUMNS))
    io.write_text(outs["checkpoints"], _csv([[r[c] for c in CHECKPOINT_COLUMNS] for r in cps], CHECKPOINT_COLUMNS))
    write_captions(doc, caption(doc, rows, cps))
