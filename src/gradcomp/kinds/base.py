"""The artifact-kind protocol and its registries (see the package docstring)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..registry import Registry

FIGURE_KINDS = Registry("figure kind", "gradcomp.kinds")
TABLE_KINDS = Registry("table kind", "gradcomp.kinds")
STUDY_KINDS = Registry("compressor study kind", "gradcomp.kinds")

#: artifacts.<section> -> (config group, registry of its kinds, Snakemake rule prefix)
SECTIONS = {
    "figures": ("figure", FIGURE_KINDS, "figure"),
    "tables": ("table", TABLE_KINDS, "table"),
    "compressor_studies": ("compressor_study", STUDY_KINDS, "study"),
}


@dataclass
class ArtifactPlan:
    """One artifact: its spec, what its job reads (``doc``), its outputs, and the run and
    problem ids whose results it needs (the job's inputs)."""

    kind: str
    spec: dict
    doc: dict
    outputs: dict[str, str]
    runs: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def panels(self) -> list[dict]:
        return self.doc.get("panels", [])


class Kind:
    """A kind of artifact. Subclass, register, and implement :meth:`plan` and :meth:`build`."""

    #: output name -> file suffix after the artifact's id (``.png``, ``_caption.md``, ...)
    outputs: dict[str, str] = {}
    #: a quick job run where Snakemake runs (not sent to a cluster)
    local = True
    #: the kind's own config schema (a figure kind: a :class:`~gradcomp.config.FigureBaseConf`
    #: subclass) and the name its yamls put in their defaults list; None: the section's base
    #: schema (``base_figure``, ``base_table``)
    schema = None
    schema_name = None

    @classmethod
    def output_paths(cls, root: str, ident: str, spec: dict) -> dict[str, str]:
        return {name: f"{root}/{ident}{suffix}" for name, suffix in cls.outputs.items()}

    @classmethod
    def plan(cls, ident: str, spec: dict, planner) -> ArtifactPlan:
        raise NotImplementedError

    @staticmethod
    def build(doc: dict) -> None:
        raise NotImplementedError
