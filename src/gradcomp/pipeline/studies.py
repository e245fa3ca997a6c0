"""Plans of the compressor studies (``conf/compressor_study/<paper>/<id>.yaml``): Monte Carlo
artifacts about the compressors themselves, which need no optimization run.

A study spec lists series of compressors; each series names a compressor config, Hydra
overrides, and optionally one parameter swept over values. The plan composes every
entry's compressor config (so the job composes nothing) and picks the Monte Carlo size
for the scale from the spec's ``draws`` mapping.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import ConfigError, to_plain

OUTPUTS = {"bits_vs_error": ("png", "pdf", "csv", "caption"), "compressor_table": ("md", "tex", "csv"),
           "cq_table2": ("md", "tex", "csv")}


@dataclass
class StudyPlan:
    spec: dict
    entries: list[dict]  # {series, label, value, reconstructed, compressor: plain config}
    draws: int
    outputs: dict[str, str]


def plan_study(c, overrides: list[str], ident: str, base: dict) -> StudyPlan:
    spec = to_plain(c(overrides + [f"+compressor_study={ident}"]))["compressor_study"]
    scale = base["scale"]["name"]
    if scale not in spec["draws"]:
        raise ConfigError(f"compressor study {ident}: no Monte Carlo size for scale {scale!r} "
                          f"(draws has {sorted(spec['draws'])})")
    if spec["kind"] not in OUTPUTS:
        raise ConfigError(f"compressor study {ident}: unknown kind {spec['kind']!r}; valid: {sorted(OUTPUTS)}")
    entries = []
    for s in spec["series"]:
        values = s.get("values") or [None]
        for v in values:
            ov = [f"compressor={s['compressor']}", *spec.get("common", []), *s.get("overrides", [])]
            if v is not None:
                ov += [t.format(v=v) for t in s["set"]]
            comp = to_plain(c(overrides + ov))["compressor"]
            label = s["name"] if v is None else f"{s['name']} {s['param']}={v}"
            entries.append({"series": s["name"], "label": label, "value": v, "compressor": comp,
                            "reconstructed": bool(s.get("reconstructed", False))})
    root = base["scale"]["figures_root"]
    outs = {}
    for ext in OUTPUTS[spec["kind"]]:
        outs[ext] = f"{root}/{ident}_caption.md" if ext == "caption" else f"{root}/{ident}.{ext}"
    return StudyPlan(spec, entries, int(spec["draws"][scale]), outs)


def study_doc(sp: StudyPlan, base: dict) -> dict:
    """What the study job reads."""
    return {"spec": sp.spec, "entries": sp.entries, "draws": sp.draws, "outputs": sp.outputs,
            "scale": base["scale"], "seed": base["seed"]}
