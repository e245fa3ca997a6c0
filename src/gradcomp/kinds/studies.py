"""Compressor-study kinds (``conf/compressor_study/<paper>/<id>.yaml``): Monte Carlo artifacts
about the compressors themselves, which need no optimization run.

A study spec lists series of compressors; each series names a compressor config, Hydra
overrides, and optionally one parameter swept over values. The plan composes every
entry's compressor config (so the job composes nothing) and picks the Monte Carlo size
for the scale from the spec's ``draws`` mapping.
"""

from __future__ import annotations

from ..registry import ConfigError
from .base import STUDY_KINDS, ArtifactPlan, Kind


class CompressorStudy(Kind):
    outputs = {"md": ".md", "tex": ".tex", "csv": ".csv"}
    local = False   # Monte Carlo: minutes at scale=paper

    @classmethod
    def plan(cls, ident: str, spec: dict, planner) -> ArtifactPlan:
        scale = planner.base["scale"]["name"]
        if scale not in spec["draws"]:
            raise ConfigError(f"compressor study {ident}: no Monte Carlo size for scale {scale!r} "
                              f"(draws has {sorted(spec['draws'])})")
        entries = []
        for s in spec["series"]:
            values = s.get("values") or [None]
            for v in values:
                ov = [f"compressor={s['compressor']}", *spec.get("common", []), *s.get("overrides", [])]
                if v is not None:
                    ov += [t.format(v=v) for t in s["set"]]
                comp = planner.compose(ov)["compressor"]
                label = s["name"] if v is None else f"{s['name']} {s['param']}={v}"
                entries.append({"series": s["name"], "label": label, "value": v, "compressor": comp,
                                "reconstructed": bool(s.get("reconstructed", False)),
                                "draws_scale": float(s.get("draws_scale", 1.0)),
                                "unit_vector_view": bool(s.get("unit_vector_view", False)),
                                "guarantee": s.get("guarantee")})
        doc = {"entries": entries, "draws": int(spec["draws"][scale])}
        return ArtifactPlan(spec["kind"], spec, doc, cls.output_paths(planner.figures_root, ident, spec))


@STUDY_KINDS.register("bits_vs_error")
class BitsVsError(CompressorStudy):
    """paper oc's normalised error against bits per coordinate, worst case and average case,
    with the prior bound, the poster's two P(alpha, d) bounds and its headline numbers."""

    outputs = {"png": ".png", "pdf": ".pdf", "csv": ".csv", "caption": "_caption.md", "caption_tex": "_caption.tex"}

    @staticmethod
    def build(doc: dict) -> None:
        from ..report.compressor_studies import build_bits_vs_error

        build_bits_vs_error(doc)


@STUDY_KINDS.register("compressor_table")
class CompressorTable(CompressorStudy):
    """Class, constants and bits of every compressor, with Monte Carlo checks."""

    @staticmethod
    def build(doc: dict) -> None:
        from ..report.compressor_studies import compressor_table_rows, write_table

        write_table(doc, *compressor_table_rows(doc))


@STUDY_KINDS.register("cq_table2")
class CQTable2(CompressorStudy):
    """paper cq's Table 2: bits and homogeneous MSE of the quantizers."""

    @staticmethod
    def build(doc: dict) -> None:
        from ..report.compressor_studies import cq_table2_rows, write_table

        write_table(doc, *cq_table2_rows(doc))
