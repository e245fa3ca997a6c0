"""Monte Carlo studies of the compressors themselves (no optimization runs): paper oc's
bits-versus-error figure and compressor table, and paper cq's Table 2.

Each study reads one spec document that the plan wrote (``results/plan/<scale>/study/``),
with every compressor's config already composed, and writes its artifacts. Randomness
comes from named streams keyed by the study, the compressor's label and the input, so an
entry's numbers do not change when another entry is added. Every Monte Carlo mean comes
with its standard error; the CSVs hold both, and the claims use them.
"""

from __future__ import annotations

import math
import textwrap

import numpy as np

from .. import compressors
from ..pipeline import io
from ..seeding import stream
from ..theory import compression_bounds as bounds
from . import style, tables
from .figures import _csv

#: Entries (clients x codewords x d) of one Spherical Compression call; larger batches are split.
_MAX_ENTRIES = 1 << 23


def _build(entry: dict, d: int, n: int | None = None):
    return compressors.build(entry["compressor"], d, n)


def structured_inputs(d: int, seed: int) -> dict[str, np.ndarray]:
    """The hard inputs of the worst-case panel: each is the worst case of some compressor.

    ``flat``: equal magnitudes 4/3 with random signs (Top-k, dithering, natural compression);
    ``one_hot``: e_1 (scaled sign); ``two_level``: (1, t, ..., t), t = 1/(1 + sqrt(d)) (TernGrad).
    """
    signs = np.where(stream(seed, "oc/input/flat-signs").random(d) < 0.5, -1.0, 1.0)
    one_hot = np.zeros(d)
    one_hot[0] = 1.0
    t = 1.0 / (1.0 + math.sqrt(d))
    return {"flat": (4.0 / 3.0) * signs, "one_hot": one_hot, "two_level": np.array([1.0] + [t] * (d - 1))}


def _batch_size(q, d: int) -> int:
    if isinstance(q, compressors.SphericalCompression):
        return max(1, _MAX_ENTRIES // (2**q.b * d))
    return max(1, (1 << 22) // d)


def normalized_errors(q, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``||C(x) - x||^2 / ||x||^2`` for every row x of X (each row one independent client)."""
    out = np.empty(X.shape[0])
    B = _batch_size(q, X.shape[1])
    for s in range(0, X.shape[0], B):
        Xb = X[s:s + B]
        err = q.compress(Xb, rng) - Xb
        out[s:s + B] = np.sum(err * err, axis=1) / np.sum(Xb * Xb, axis=1)
    return out


def _mean_se(v: np.ndarray) -> tuple[float, float]:
    return float(v.mean()), float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else math.nan


def _theory_error(q) -> tuple[str, float]:
    """(constant name, value) as the compressor states it: omega, or 1 - delta."""
    if q.kind == "unbiased":
        return "omega", float(q.omega)
    return "1-delta", 1.0 - float(q.delta)


def _scaled(kind: str, m: float, se: float) -> tuple[float, float]:
    """The plotted error: omega/(omega + 1) for unbiased compressors (their best scaling),
    the error itself for contractive ones; with the delta-method standard error."""
    if kind == "unbiased":
        return m / (1.0 + m), se / (1.0 + m) ** 2
    return m, se


# --- oc: bits versus error --------------------------------------------------------------------


def bits_vs_error_rows(doc: dict) -> list[dict]:
    spec, seed = doc["spec"], int(doc["seed"])
    d, N = int(spec["d"]), int(doc["draws"])
    hard = structured_inputs(d, seed)
    rows = []
    for e in doc["entries"]:
        q = _build(e, d)
        key = f"{spec['id']}/{e['label']}"
        X = stream(seed, f"{key}/gaussian-inputs").standard_normal((N, d))
        per_input = {"gaussian": normalized_errors(q, X, stream(seed, f"{key}/gaussian"))}
        for name, x in hard.items():
            per_input[name] = normalized_errors(q, np.tile(x, (N, 1)), stream(seed, f"{key}/{name}"))
        cname, theory = _theory_error(q)
        for name, errs in per_input.items():
            m, se = _mean_se(errs)
            y, yse = _scaled(q.kind, m, se)
            rows.append({"series": e["series"], "label": e["label"], "param": e["value"], "kind": q.kind,
                         "input": name, "bits_per_coordinate": q.bits_per_client() / d,
                         "error_mean": m, "error_se": se, "plotted_error": y, "plotted_se": yse,
                         "constant": cname, "theory": theory,
                         "theory_plotted": _scaled(q.kind, theory, 0.0)[0],
                         "reconstructed": bool(e.get("reconstructed", False))})
    return rows


def _worst(rows: list[dict]) -> list[dict]:
    """Per entry, the structured input with the largest plotted error."""
    best: dict[str, dict] = {}
    for r in rows:
        if r["input"] == "gaussian":
            continue
        cur = best.get(r["label"])
        if cur is None or r["plotted_error"] > cur["plotted_error"]:
            best[r["label"]] = r
    return [best[k] for k in sorted(best, key=lambda k: [r["label"] for r in rows].index(k))]


def _bound_curves(d: int, xs: np.ndarray) -> dict[str, np.ndarray]:
    return {"uncertainty": bounds.uncertainty_bound(xs),
            "average": np.array([bounds.average_case_bound(x * d, d) for x in xs])}


def build_bits_vs_error(doc: dict) -> None:
    import matplotlib.pyplot as plt

    spec, outs, d = doc["spec"], doc["outputs"], int(doc["spec"]["d"])
    rows = bits_vs_error_rows(doc)
    # Spherical Compression with the scale sent for free: index + sign bits only
    free = []
    for r in rows:
        if r["series"] == spec["spherical_series"] and r["input"] == "gaussian":
            free.append({**r, "series": "Spherical (scale free)", "label": r["label"] + " (scale free)",
                         "bits_per_coordinate": (int(r["param"]) + 1) / d, "input": "gaussian",
                         "bound_at_bits": bounds.average_case_bound(int(r["param"]) + 1, d)})
    xs = np.geomspace(spec["xlim"][0], spec["xlim"][1], 80)
    curves = _bound_curves(d, xs)

    style.apply()
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 4.6), sharey=True)
    series = list(dict.fromkeys(r["series"] for r in rows)) + ["Spherical (scale free)"]
    markers = "os^vD<>pPX*hH8d"
    palette = plt.get_cmap("tab20").colors
    look = {s: (palette[i % 20], markers[i % len(markers)]) for i, s in enumerate(series)}
    panels = (("gaussian", "Gaussian inputs (average case)", [r for r in rows if r["input"] == "gaussian"] + free),
              ("worst", "worst of the structured inputs", _worst(rows)))
    for ax, (_, title, pts) in zip(axes, panels):
        ax.plot(xs, curves["uncertainty"], "k-", lw=1.6, label="uncertainty principle $4^{-b/d}$")
        ax.plot(xs, curves["average"], ls="--", color="0.55", lw=2.2,
                label="average-case bound (sphere, cap covering)")
        for s in series:
            p = sorted((r for r in pts if r["series"] == s), key=lambda r: r["bits_per_coordinate"])
            if not p:
                continue
            c, mk = look[s]
            lab = s + (" [reconstructed]" if p[0].get("reconstructed") else "")
            ax.plot([r["bits_per_coordinate"] for r in p], [r["plotted_error"] for r in p], marker=mk,
                    color=c, lw=1.0, ms=5, label=lab, ls=":" if "scale free" in s else "-")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(*spec["xlim"])
        ax.set_ylim(*spec["ylim"])
        ax.set_title(f"{title}, d = {d}")
        ax.set_xlabel("bits per coordinate b/d (payload and metadata)")
    axes[0].set_ylabel("normalized error: $\\omega/(\\omega+1)$ (unbiased),\n"
                       "$E\\|C(x)-x\\|^2/\\|x\\|^2$ (biased)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize=8)
    cap = caption_bits_vs_error(doc)
    fig.text(0.0, -0.03, "\n".join(textwrap.wrap(cap, 170)), ha="left", va="top", fontsize=7)
    fig.tight_layout()
    for fmt in ("png", "pdf"):
        style.save(fig, outs[fmt])
    plt.close(fig)

    header = ["series", "label", "param", "kind", "input", "bits_per_coordinate", "error_mean", "error_se",
              "plotted_error", "plotted_se", "constant", "theory", "theory_plotted", "reconstructed",
              "bound_uncertainty", "bound_average"]
    table = []
    for r in rows + free:
        b = r["bits_per_coordinate"]
        table.append([r[h] for h in header[:14]] + [float(bounds.uncertainty_bound(b)),
                                                     r.get("bound_at_bits", bounds.average_case_bound(b * d, d))])
    io.write_text(outs["csv"], _csv(table, header))
    io.write_text(outs["caption"], cap + "\n")


def caption_bits_vs_error(doc: dict) -> str:
    spec, scale = doc["spec"], doc["scale"]
    return (f"{spec['id']} (scale={scale['name']}, {doc['draws']} draws per point, d = {spec['d']}). "
            + " ".join(spec["caption"].split()))


# --- oc: the compressor table -------------------------------------------------------------------


def compressor_table_rows(doc: dict):
    spec, seed = doc["spec"], int(doc["seed"])
    d, n, N = int(spec["d"]), int(spec["n_clients"]), int(doc["draws"])
    hard = structured_inputs(d, seed)
    header = ["compressor", "class", "constant", "theory", "measured_gaussian", "se_gaussian",
              "measured_worst", "worst_input", "bits_per_coordinate", "reconstructed"]
    rows = []
    for e in doc["entries"]:
        q = _build(e, d, n)
        key = f"{spec['id']}/{e['label']}"
        if q.kind == "correlated":
            A, B = q.ab(n)
            # measured: E||mean_i C_i(a_i) - abar||^2 over the AB right-hand side
            # A mean||a_i||^2 - B ||abar||^2 (<= 1 when the inequality holds)
            g = _ab_ratios(q, stream(seed, f"{key}/gaussian-inputs").standard_normal((N, n, d)),
                           stream(seed, f"{key}/gaussian"), A, B)
            same = _ab_ratios(q, np.tile(hard["flat"], (N, n, 1)), stream(seed, f"{key}/identical"), A, B)
            m, se = _mean_se(g)
            rows.append([e["label"], "correlated", f"A={A:.4g}, B={B:.4g}", 1.0, m, se,
                         float(np.mean(same)), "identical flat inputs", q.bits_per_client() / d,
                         bool(e.get("reconstructed", False))])
            continue
        cname, theory = _theory_error(q)
        errs = normalized_errors(q, stream(seed, f"{key}/gaussian-inputs").standard_normal((N, d)),
                                 stream(seed, f"{key}/gaussian"))
        m, se = _mean_se(errs)
        worst = max(((float(np.mean(normalized_errors(q, np.tile(x, (N, 1)), stream(seed, f"{key}/{name}")))), name)
                     for name, x in hard.items()))
        rows.append([e["label"], q.kind, cname, theory, m, se, worst[0], worst[1], q.bits_per_client() / d,
                     bool(e.get("reconstructed", False))])
    return header, rows


def _ab_ratios(q, A_in: np.ndarray, rng: np.random.Generator, A: float, B: float) -> np.ndarray:
    out = np.empty(A_in.shape[0])
    for t in range(A_in.shape[0]):
        a = A_in[t]
        abar = a.mean(axis=0)
        est = q.compress(a, rng).mean(axis=0)
        rhs = A * np.mean(np.sum(a * a, axis=1)) - B * np.sum(abar * abar)
        out[t] = np.sum((est - abar) ** 2) / rhs if rhs > 0 else 0.0
    return out


# --- cq: Table 2 ------------------------------------------------------------------------------


def cq_table2_rows(doc: dict):
    spec, seed = doc["spec"], int(doc["seed"])
    d, N = int(spec["d"]), int(doc["draws"])
    x = stream(seed, f"{spec['id']}/input").standard_normal(d)
    xx = float(x @ x)
    header = ["compressor", "n", "bits_per_client", "mse_measured", "mse_se", "mse_bound", "bound_source",
              "mse_paper", "measured_over_bound"]
    rows = []
    for e in doc["entries"]:
        for n in spec["n"]:
            q = _build(e, d, int(n))
            rng = stream(seed, f"{spec['id']}/{e['label']}/n={n}")
            a = np.tile(x, (int(n), 1))
            errs = np.empty(N)
            for t in range(N):
                est = q.compress(a, rng).mean(axis=0)
                errs[t] = np.sum((est - x) ** 2) / xx
            m, se = _mean_se(errs)
            bound, src, paper = _cq_bound(q, int(n), d)
            rows.append([e["label"], int(n), q.bits_per_client(), m, se, bound, src,
                         "" if paper is None else paper, m / bound])
    return header, rows


def _cq_bound(q, n: int, d: int) -> tuple[float, str, float | None]:
    """Homogeneous MSE / ||x||^2: our stated bound, and paper cq's formula where it gives one
    (Corollaries 1-2 for IQ and CQ, range [-||x||, ||x||]; [NG] for the others)."""
    if isinstance(q, compressors.CQ):
        return q.A_homogeneous, "d/n^2 (f(1-f) <= 1/4 per coordinate)", q.A_paper
    if isinstance(q, compressors.IQ):
        return q.omega / n, "(d-1)/n (exact)", q.A_paper(d, n)
    if isinstance(q, compressors.ISCC):
        return q.A - q.B, "A - B = omega_C (uniform q)", q.A_paper - q.B
    return q.omega / n, "omega/n (independent clients)", None


# --- entry point ------------------------------------------------------------------------------


def write_table(doc: dict, header: list[str], rows: list[list]) -> None:
    cap = f"(scale={doc['scale']['name']}, {doc['draws']} draws per entry) " + " ".join(doc["spec"]["caption"].split())
    tables.write_table(doc, header, rows, cap)
