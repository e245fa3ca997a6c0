"""Artifact kinds: how a figure, table or compressor-study config becomes runs, and how it renders.

A kind is declared once, on its class, in one module of this package
(``@FIGURE_KINDS.register(name)`` and so on); a config names it by ``kind:``. It states
what its job reads (:meth:`~.base.Kind.plan`: the runs and problems it needs, through the
:class:`~gradcomp.pipeline.plan.Planner`), its outputs, and how it renders
(:meth:`~.base.Kind.build`, which imports the plotting stack only when it runs).
"""

from .base import FIGURE_KINDS, SECTIONS, STUDY_KINDS, TABLE_KINDS, ArtifactPlan, Kind

__all__ = ["FIGURE_KINDS", "SECTIONS", "STUDY_KINDS", "TABLE_KINDS", "ArtifactPlan", "Kind"]
