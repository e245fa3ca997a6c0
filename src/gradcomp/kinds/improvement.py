"""``kind: improvement_plane``: paper cq's Figure 4, MARINA's improvement factor over GD in the
d-n plane (spec A.5), computed from the formulas: no runs.

Three heatmaps over log2 d (x) and log2 n (y): (a) IF*_IQ, (b) IF*_CQ, (c) IF*_IQ / IF*_CQ,
each compressor at its own optimal p, homogeneous regime (L_- = L_+, L_pm = 0, B = 0), a
compressed round of ``bits_per_coordinate d + bits_extra`` bits against ``bits_per_float d``
for GD. The AB constants follow ``ab_constants``: ``paper`` (A_IQ = d/(4n), A_CQ = d/(4n^2),
cq Corollaries 1-2) or ``exact`` ((d-1)/n and d/n^2, the constants of the range [-||x||, ||x||]
the authors' code quantizes on; spec A.1).

Outputs: the figure (PNG, PDF), every grid point (CSV), the ``checkpoints`` of the spec
(``_checkpoints.csv``: the rows the claims read) and the caption (``_caption.md``, ``_caption.tex``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import List, Optional

from omegaconf import MISSING

from ..config import FigureBaseConf
from ..registry import ConfigError
from .base import FIGURE_KINDS, ArtifactPlan, Kind


class ABConstants(enum.Enum):
    """Which AB constants of IQ and CQ: the paper's, or the exact ones of range 2||x|| (about x4)."""

    paper = "paper"
    exact = "exact"


@dataclass
class Log2AxisConf:
    """log2 of d or n from ``lo`` to ``hi`` (both included) in steps of ``step``."""

    lo: int = MISSING
    hi: int = MISSING
    step: int = MISSING


@dataclass
class CheckpointConf:
    """A point (d, n) evaluated exactly and written to ``_checkpoints.csv``; ``ab_constants``
    null: the figure's."""

    label: str = MISSING
    d: int = MISSING
    n: int = MISSING
    ab_constants: Optional[ABConstants] = None


@dataclass
class GuideConf:
    """A reference line ``log2 d = a log2 n + b`` drawn on panel ``panel`` (0, 1, 2)."""

    panel: int = MISSING
    a: float = MISSING
    b: float = MISSING
    label: str = MISSING


@dataclass
class ImprovementPlaneConf(FigureBaseConf):
    ab_constants: ABConstants = MISSING
    # GD (and MARINA's synchronisation rounds) send d floats of this many bits
    bits_per_float: int = MISSING
    # a compressed round sends bits_per_coordinate * d + bits_extra bits (IQ, CQ: d + 32)
    bits_per_coordinate: int = MISSING
    bits_extra: int = MISSING
    log2_d: Log2AxisConf = MISSING
    log2_n: Log2AxisConf = MISSING
    checkpoints: List[CheckpointConf] = field(default_factory=list)
    # (a), (b), (c)
    panel_titles: List[str] = MISSING
    colorbar_labels: List[str] = MISSING
    xlabel: str = MISSING
    ylabel: str = MISSING
    # colour ranges (log scale) of the IF panels (shared) and of the ratio panel
    if_limits: List[float] = MISSING
    ratio_limits: List[float] = MISSING
    cmap: str = MISSING
    ratio_cmap: str = MISSING
    guides: List[GuideConf] = field(default_factory=list)
    caption: str = MISSING
    deviations: List[str] = field(default_factory=list)


def axis_values(ax: dict) -> list[int]:
    return list(range(int(ax["lo"]), int(ax["hi"]) + 1, int(ax["step"])))


def check_spec(ident: str, spec: dict) -> None:
    """What the schema cannot say: ranges, lengths, unique labels."""
    for name in ("log2_d", "log2_n"):
        ax = spec[name]
        if not (0 <= ax["lo"] <= ax["hi"] and ax["step"] >= 1):
            raise ConfigError(f"figure {ident}: {name} needs 0 <= lo <= hi and step >= 1, got {ax}")
    for name in ("panel_titles", "colorbar_labels"):
        if len(spec[name]) != 3:
            raise ConfigError(f"figure {ident}: {name} needs 3 entries (IQ, CQ, ratio), got {len(spec[name])}")
    for name in ("if_limits", "ratio_limits"):
        lo_hi = spec[name]
        if len(lo_hi) != 2 or not 0 < lo_hi[0] < lo_hi[1]:
            raise ConfigError(f"figure {ident}: {name} needs [lo, hi] with 0 < lo < hi, got {lo_hi}")
    if spec["bits_per_float"] < 1 or spec["bits_per_coordinate"] < 0 or spec["bits_extra"] < 0:
        raise ConfigError(f"figure {ident}: bits_per_float >= 1, bits_per_coordinate >= 0, bits_extra >= 0")
    labels = [c["label"] for c in spec["checkpoints"]]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"figure {ident}: checkpoint labels must be unique, got {labels}")
    for c in spec["checkpoints"]:
        if c["d"] < 1 or c["n"] < 1:
            raise ConfigError(f"figure {ident}: checkpoint {c['label']!r} needs d, n >= 1")
    for g in spec["guides"]:
        if g["panel"] not in (0, 1, 2):
            raise ConfigError(f"figure {ident}: a guide's panel is 0, 1 or 2, got {g['panel']}")


@FIGURE_KINDS.register("improvement_plane")
class ImprovementPlane(Kind):
    schema, schema_name = ImprovementPlaneConf, "base_improvement_plane"
    outputs = {"png": ".png", "pdf": ".pdf", "csv": ".csv", "checkpoints": "_checkpoints.csv",
               "caption": "_caption.md", "caption_tex": "_caption.tex"}

    @classmethod
    def plan(cls, ident: str, spec: dict, planner) -> ArtifactPlan:
        check_spec(ident, spec)
        return ArtifactPlan("improvement_plane", spec, {}, cls.output_paths(planner.figures_root, ident, spec))

    @staticmethod
    def build(doc: dict) -> None:
        from ..report.improvement import build_improvement_plane

        build_improvement_plane(doc)
