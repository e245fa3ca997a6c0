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

import numpy as np

from .. import compressors
from ..pipeline import io
from ..seeding import stream
from ..theory import compression_bounds as bounds
from . import style, tables
from .captions import draw_caption, write_captions
from .figures import _csv

def _build(entry: dict, d: int, n: int | None = None):
    return compressors.build(entry["compressor"], d, n)


def structured_inputs(d: int, seed: int, zero_fractions=()) -> dict[str, np.ndarray]:
    """The hard inputs: each is the worst case of some compressor.

    ``flat``: equal magnitudes 4/3 with random signs (Top-k, dithering, natural compression,
    Sparse Dithering's code length); ``one_hot``: e_1 (scaled sign); ``two_level``:
    (1, t, ..., t), t = 1/(1 + sqrt(d)) (TernGrad); ``sparse_flat_<tau>``: a fraction tau of
    zeros and equal magnitudes elsewhere (Sparse Dithering's longest codes mix zeros and
    equal levels, spec §4).
    """
    signs = np.where(stream(seed, "oc/input/flat-signs").random(d) < 0.5, -1.0, 1.0)
    one_hot = np.zeros(d)
    one_hot[0] = 1.0
    t = 1.0 / (1.0 + math.sqrt(d))
    out = {"flat": (4.0 / 3.0) * signs, "one_hot": one_hot, "two_level": np.array([1.0] + [t] * (d - 1))}
    for tau in zero_fractions:
        x = signs.copy()
        x[: int(round(float(tau) * d))] = 0.0
        out[f"sparse_flat_{tau:g}"] = x
    return out


def _encoded(q, X: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``(||C(x) - x||^2 / ||x||^2, code length)`` for every row x of X (one client each)."""
    err, bits = np.empty(X.shape[0]), np.empty(X.shape[0])
    B = max(1, (1 << 22) // X.shape[1])
    for s in range(0, X.shape[0], B):
        Xb = X[s:s + B]
        out, b = q.encode(Xb, rng)
        e = out - Xb
        err[s:s + B] = np.sum(e * e, axis=1) / np.sum(Xb * Xb, axis=1)
        bits[s:s + B] = b
    return err, bits


def normalized_errors(q, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``||C(x) - x||^2 / ||x||^2`` for every row x of X (each row one independent client)."""
    return _encoded(q, X, rng)[0]


def _mean_se(v: np.ndarray) -> tuple[float, float]:
    return float(v.mean()), float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else math.nan


def _theory_error(q) -> tuple[str, float]:
    """(constant name, value) as the compressor states it: omega, or 1 - delta."""
    if q.kind == "unbiased":
        return "omega", float(q.omega)
    return "1-delta", 1.0 - float(q.delta)


def _scaled(kind: str, m: float, se: float) -> tuple[float, float]:
    """The plotted error: omega/(omega + 1) for unbiased compressors (their best scaling,
    in B(omega/(omega + 1))), the error itself for biased ones; with the delta-method se."""
    if kind == "unbiased":
        return m / (1.0 + m), se / (1.0 + m) ** 2
    return m, se


# --- oc: bits versus error --------------------------------------------------------------------
#
# The poster's two notions of bit cost, both over unit inputs (spec §1): the worst case
# b = max_x |code| (over inputs and draws) and the average case B = max_x E|code| (the expected
# length for the worst input, not an average over inputs). The error of a compressor is its
# class constant: alpha of B(alpha), the expected error for the worst input, estimated as the
# largest Monte Carlo mean over the inputs tried (unbiased ones scaled, see _scaled).

WORST = "worst"          # the ``input`` of an entry's summary row


def bits_vs_error_rows(doc: dict) -> list[dict]:
    """One row per (entry, input) and one summary row per entry (``input == "worst"``)."""
    spec, seed = doc["spec"], int(doc["seed"])
    d = int(spec["d"])
    hard = structured_inputs(d, seed, spec.get("zero_fractions", ()))
    rows = []
    for e in doc["entries"]:
        q = _build(e, d)
        N = max(2, int(round(int(doc["draws"]) * float(e.get("draws_scale", 1.0)))))
        key = f"{spec['id']}/{e['label']}"
        inputs = {"gaussian": stream(seed, f"{key}/gaussian-inputs").standard_normal((N, d)),
                  **{name: np.tile(x, (N, 1)) for name, x in hard.items()}}
        cname, theory = _theory_error(q)
        base = {"series": e["series"], "label": e["label"], "param": e["value"], "kind": q.kind,
                "sure_bound": bool(q.sure_bound), "variable_length": bool(q.variable_length),
                "constant": cname, "theory": theory, "theory_plotted": _scaled(q.kind, theory, 0.0)[0],
                "stated_bits": float(q.bits_per_client()), "norm_bits": _norm_bits(q, e),
                "guarantee_bits": _guarantee_bits(e, d, _norm_bits(q, e)), "reconstructed": bool(e.get("reconstructed", False))}
        per = []
        for name, X in inputs.items():
            err, bits = _encoded(q, X, stream(seed, f"{key}/{name}"))
            m, se = _mean_se(err)
            y, yse = _scaled(q.kind, m, se)
            bm, bse = _mean_se(bits)
            per.append({**base, "input": name, "error_mean": m, "error_se": se, "error_max": float(err.max()),
                        "plotted_error": y, "plotted_se": yse, "bits_mean": bm, "bits_se": bse,
                        "bits_max": float(bits.max())})
        rows += per
        worst = max(per, key=lambda r: r["plotted_error"])
        longest = max(per, key=lambda r: r["bits_mean"])
        rows.append({**base, "input": WORST, "worst_input": worst["input"],
                     "error_mean": worst["error_mean"], "error_se": worst["error_se"],
                     "error_max": max(r["error_max"] for r in per),
                     "plotted_error": worst["plotted_error"], "plotted_se": worst["plotted_se"],
                     "bits_mean": longest["bits_mean"], "bits_se": longest["bits_se"],
                     "bits_max": max(r["bits_max"] for r in per)})
    for r in rows:
        _add_bounds(r, d)
    return rows


def _norm_bits(q, entry: dict) -> float:
    """The bits of ||x|| in the code, which the poster's unit-vector counts leave out (only
    for the series that ask for that view: Spherical Compression sends the norm as a float)."""
    return float(q.cost.bits_per_float) if entry.get("unit_vector_view") else 0.0


def _guarantee_bits(entry: dict, d: int, norm_bits: float) -> float:
    """The poster's upper bound on the code length, where the spec names one
    (``guarantee: {fn, param}``: a function ``fn(d, value)`` of
    :mod:`gradcomp.theory.compression_bounds` at the compressor's config key ``param``),
    plus the norm's bits where the poster leaves them out; NaN for the compressors the
    poster states nothing about."""
    g = entry.get("guarantee")
    if not g:
        return math.nan
    return float(getattr(bounds, g["fn"])(d, float(entry["compressor"][g["param"]]))) + norm_bits


def _add_bounds(r: dict, d: int) -> None:
    """The smallest error each lower bound allows at the row's bits: the prior bound and the
    poster's worst-case one at the longest code, the poster's average-case one at the mean."""
    r["bpc_worst"] = r["bits_max"] / d
    r["bpc_mean"] = r["bits_mean"] / d
    r["bound_uncertainty"] = float(bounds.uncertainty_bound(r["bpc_worst"]))
    r["bound_wca"] = float(bounds.alpha_for_bits(r["bits_max"], d, "wca"))
    r["bound_aca"] = float(bounds.alpha_for_bits(r["bits_mean"], d, "aca"))
    r["unit_bits_mean"] = r["bits_mean"] - r["norm_bits"]


COLUMNS = ["series", "label", "param", "kind", "sure_bound", "variable_length", "input", "worst_input",
           "error_mean", "error_se", "error_max", "plotted_error", "plotted_se", "bits_mean", "bits_se",
           "bits_max", "bpc_mean", "bpc_worst", "unit_bits_mean", "norm_bits", "stated_bits", "guarantee_bits",
           "constant", "theory", "theory_plotted", "bound_uncertainty", "bound_wca", "bound_aca",
           "reconstructed"]


def _theory_curves(d: int, spec: dict) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(bits per coordinate, alpha) of each bound and guarantee the figure draws."""
    a = np.geomspace(spec["ylim"][0], 0.95, 120)
    per = lambda f, xs: np.array([f(x) for x in xs]) / d  # noqa: E731
    om = np.geomspace(0.02, 20.0, 80)
    return {"uncertainty": (per(lambda x: bounds.uncertainty_bits(x, d), a), a),
            "wca": (per(lambda x: bounds.wca_bits(x, d), a), a),
            "aca": (per(lambda x: bounds.aca_bits(x, d), a), a),
            "spherical": (per(lambda x: bounds.aca_bits(x, d) + 3.0, a), a),
            "sd": (per(lambda x: bounds.sd_bits_corrected(d, x), a), a),
            "sd_printed": (per(lambda x: bounds.sd_bits_printed(d, x), a), a),
            "usd": (per(lambda w: bounds.sd_randomized_bits(d, w), om), om / (1.0 + om))}


def build_bits_vs_error(doc: dict) -> None:
    import matplotlib.pyplot as plt

    spec, outs, d = doc["spec"], doc["outputs"], int(doc["spec"]["d"])
    rows = bits_vs_error_rows(doc)
    summary = [r for r in rows if r["input"] == WORST]
    unit = [{**r, "series": r["series"] + " (||x|| free)", "bpc_mean": r["unit_bits_mean"] / d}
            for r in summary if r["norm_bits"] > 0]
    curves = _theory_curves(d, spec)
    head = float(spec["headline_alpha"])

    style.apply()
    fig, axes = plt.subplots(1, 2, figsize=(12.5, 5.2), sharey=True)
    series = list(dict.fromkeys(r["series"] for r in summary + unit))
    markers = "os^vD<>pPX*hH8d"
    palette = plt.get_cmap("tab20").colors
    look = {s: (palette[i % 20], markers[i % len(markers)]) for i, s in enumerate(series)}
    panels = ((axes[0], "bpc_worst", "worst case: b = max |code| over inputs and draws", summary,
               [("uncertainty", "k-", "prior bound (d/2) log2(1/alpha) [Safaryan et al.]"),
                ("wca", "k--", "new bound -log2 P(alpha, d) + log2 d (O(1) = 0)"),
                ("sd", ":", "Sparse Dithering's guarantee, 3.35d + log2 d + 30 at alpha = 0.1 (corrected, spec §4)"),
                ("sd_printed", "-.", "the same as printed on the poster")]),
              (axes[1], "bpc_mean", "average case: B = max over inputs of E|code|", summary + unit,
               [("uncertainty", "k-", None), ("aca", "k--", "new bound -log2 P(alpha, d)"),
                ("spherical", ":", "Spherical Compression's guarantee -log2 P + 3"),
                ("usd", "-.", "randomized Sparse Dithering's guarantee (log2 3 + 1/(2 sqrt(omega))) d + log2 d + 30")]))
    for ax, col, title, pts, lines in panels:
        for key, ls, lab in lines:
            x, y = curves[key]
            ax.plot(x, y, ls, color="0.45" if ls in (":", "-.") else "k", lw=1.4, label=lab)
        for s in series:
            p = sorted((r for r in pts if r["series"] == s), key=lambda r: r[col])
            if not p:
                continue
            c, mk = look[s]
            lab = s + (" [reconstructed]" if p[0]["reconstructed"] else "")
            ax.plot([r[col] for r in p], [r["plotted_error"] for r in p], marker=mk, color=c, lw=1.0, ms=5,
                    label=lab, ls=":" if "free" in s else "-")
        ax.axhline(head, color="0.8", lw=0.8, zorder=0)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(*spec["xlim"])
        ax.set_ylim(*spec["ylim"])
        ax.set_title(f"{title}, d = {d}", fontsize=10)
        ax.set_xlabel("bits per coordinate (whole code, ||x|| included)")
    ua, sd = bounds.uncertainty_bits(head, d) / d, bounds.sd_bits_corrected(d, head) / d
    axes[0].plot([ua], [head], "k*", ms=11, label=f"headline: prior bound at alpha = {head:g}: {ua:.2f} d")
    axes[0].plot([sd], [head], "*", color="0.45", ms=11,
                 label=f"headline: Sparse Dithering at alpha = {head:g}: 3.35d + log2 d + 30 = {sd:.2f} d here")
    axes[0].set_ylabel("normalized error alpha (worst input): E||C(x)-x||^2/||x||^2,\n"
                       "omega/(omega+1) for unbiased C")
    handles, labels = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3, frameon=False, fontsize=7.5)
    fig.tight_layout()
    cap = caption_bits_vs_error(doc) + "\n"
    draw_caption(fig, doc, cap, 180)
    for fmt in ("png", "pdf"):
        style.save(fig, outs[fmt])
    plt.close(fig)
    io.write_text(outs["csv"], _csv([[r.get(h, "") for h in COLUMNS] for r in rows], COLUMNS))
    write_captions(doc, cap)


def caption_bits_vs_error(doc: dict) -> str:
    spec, scale = doc["spec"], doc["scale"]
    return (f"{spec['id']} (scale={scale['name']}, {doc['draws']} draws per point and input, d = {spec['d']}). "
            + " ".join(spec["caption"].split()))


# --- oc: the compressor table -------------------------------------------------------------------


def compressor_table_rows(doc: dict):
    spec, seed = doc["spec"], int(doc["seed"])
    d, n, N = int(spec["d"]), int(spec["n_clients"]), int(doc["draws"])
    hard = structured_inputs(d, seed, spec.get("zero_fractions", ()))
    header = ["compressor", "class", "constant", "theory", "measured_gaussian", "se_gaussian",
              "measured_worst", "worst_input", "bits_per_coordinate", "bits_max", "guarantee_bits",
              "reconstructed"]
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
                         q.bits_per_client(), math.nan, bool(e.get("reconstructed", False))])
            continue
        cname, theory = _theory_error(q)
        errs, longest = _encoded(q, stream(seed, f"{key}/gaussian-inputs").standard_normal((N, d)),
                                 stream(seed, f"{key}/gaussian"))
        m, se = _mean_se(errs)
        worst, bits_max = (-1.0, ""), float(longest.max())
        for name, x in hard.items():
            err, bits = _encoded(q, np.tile(x, (N, 1)), stream(seed, f"{key}/{name}"))
            worst, bits_max = max(worst, (float(np.mean(err)), name)), max(bits_max, float(bits.max()))
        rows.append([e["label"], q.kind, cname, theory, m, se, worst[0], worst[1], q.bits_per_client() / d,
                     bits_max, _guarantee_bits(e, d, 0.0), bool(e.get("reconstructed", False))])
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
