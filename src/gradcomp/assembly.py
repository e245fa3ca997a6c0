"""The configs Hydra's compose returns, assembled from group nodes loaded once (the plan's speed).

A plan composes one config per run, figure, table and study: over a hundred. Each Hydra
compose re-reads and re-merges the whole defaults tree (about 0.1 s), so :class:`Assembler`
composes with Hydra only what it must and assembles the rest the way Hydra would:

* a group option (``method=diana``, ``+figure=shift/fig2``) whose defaults list holds only
  its schema, other options placed ``@_here_`` or at a key of the node, and ``_self_`` last,
  is loaded once as a node (its schema merged with the yaml, as Hydra merges them) and put at
  its group's key;
* everything else (an option that overrides another group, a package override, a group
  given twice) is composed by Hydra, as the base the loaded nodes replace parts of;
* value overrides are then applied by Hydra's own code, in order, in struct mode.

The result equals Hydra's compose for the same overrides: ``tests/test_assembly.py`` checks
every yaml of ``conf/`` and every config of the plans at every scale against Hydra.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Callable, Optional

from omegaconf import DictConfig, OmegaConf, flag_override


class Assembler:
    """``assembler(overrides)`` -> the DictConfig ``hydra_compose(overrides)`` would give.

    Parameters
    ----------
    config_dir : Path
        ``conf/``.
    hydra_compose : callable
        Hydra's compose of ``conf/config.yaml`` with a list of overrides.
    schemas : dict
        ``{(group, schema name): dataclass}`` of the schemas in Hydra's ConfigStore.
    """

    def __init__(self, config_dir: Path, hydra_compose: Callable[[list[str]], DictConfig],
                 schemas: dict[tuple[str, str], type]):
        from hydra.core.override_parser.overrides_parser import OverridesParser

        self.dir = Path(config_dir)
        self.hydra = hydra_compose
        self.schemas = schemas
        self.groups = {p.name for p in self.dir.iterdir() if p.is_dir()}
        root = OmegaConf.load(self.dir / "config.yaml").get("defaults", [])
        self.root_groups = {next(iter(d)) for d in root if isinstance(d, (dict, DictConfig))}
        self.parser = OverridesParser.create()
        self._nodes: dict[tuple[str, str], Optional[DictConfig]] = {}
        self._bases: dict[tuple[str, ...], DictConfig] = {}
        self._parsed: dict[str, object] = {}
        self._pristine: dict[int, dict] = {}   # id(base) -> {key: its node before any override}

    # ---- group options as nodes -----------------------------------------------------------------
    def node(self, group: str, option: str) -> Optional[DictConfig]:
        """The node of ``group/option.yaml`` as Hydra composes it, or None where it takes Hydra."""
        key = (group, option)
        if key not in self._nodes:
            self._nodes[key] = self._load(group, option)
        return self._nodes[key]

    def _load(self, group: str, option: str) -> Optional[DictConfig]:
        path = self.dir / group / f"{option}.yaml"
        if not path.is_file() or path.read_text().lstrip().startswith("# @package"):
            return None
        raw = OmegaConf.load(path)
        defaults = list(raw.pop("defaults", ["_self_"]))
        if not defaults or defaults[-1] != "_self_":
            return None
        parts = []
        for d in defaults[:-1]:
            part = self._default(group, d)
            if part is None:
                return None
            parts.append(part)
        try:
            return OmegaConf.merge(*parts, raw) if parts else raw
        except Exception:  # noqa: BLE001 - Hydra composes it and reports the error its own way
            return None

    def _default(self, group: str, d) -> Optional[DictConfig]:
        """One entry of a defaults list: a schema, ``/group/option@_here_``, or ``/group@key: option``."""
        if isinstance(d, str):
            if d in (name for g, name in self.schemas if g == group):
                return OmegaConf.structured(self.schemas[group, d])
            if d.startswith("/") and d.endswith("@_here_"):
                g, _, opt = d[1:-len("@_here_")].partition("/")
                if (g, opt) in self.schemas:
                    return OmegaConf.structured(self.schemas[g, opt])
                node = self.node(g, opt) if opt else None
                return None if node is None else copy.deepcopy(node)
            return None
        if isinstance(d, (dict, DictConfig)) and len(d) == 1:
            (k, opt), = d.items()
            if isinstance(k, str) and k.startswith("/") and "@" in k and not str(k).startswith("override"):
                g, _, at = k[1:].partition("@")
                node = self.node(g, str(opt))
                return None if node is None or "." in at else OmegaConf.create({at: copy.deepcopy(node)})
        return None

    # ---- whole configs --------------------------------------------------------------------------
    def _parse(self, overrides: list[str]) -> list:
        missing = [o for o in overrides if o not in self._parsed]
        if missing:
            self._parsed.update(zip(missing, self.parser.parse_overrides(missing)))
        return [self._parsed[o] for o in overrides]

    def _split(self, overrides: list[str]):
        """``(base, fast group overrides, value overrides)``; base None where Hydra must compose
        it all. The base is Hydra's compose of the other group overrides (cached)."""
        fast, slow, values = [], [], []
        seen = set()
        for o, text in zip(self._parse(overrides), overrides):
            if o.key_or_group not in self.groups:
                values.append(o)
                continue
            group, option = o.key_or_group, o.value()
            ok = (o.package is None and isinstance(option, str) and group not in seen
                  and o.is_add() == (group not in self.root_groups) and not o.is_delete() and not o.is_force_add()
                  and self.node(group, option) is not None)
            seen.add(group)
            (fast if ok else slow).append((group, option, text))
        if any(g in {s[0] for s in slow} for g, _, _ in fast):
            return None, fast, values
        base_key = tuple(t for _, _, t in slow)
        if base_key not in self._bases:
            self._bases[base_key] = self.hydra(list(base_key))
        return self._bases[base_key], fast, values

    @staticmethod
    def _put(cfg: DictConfig, items: dict) -> None:
        """``cfg[k] = v`` without copying ``v`` (the caller passes nodes nothing will change)."""
        with flag_override(cfg, ["struct", "no_deepcopy_set_nodes"], [False, True]):
            for k, v in items.items():
                if isinstance(v, DictConfig):
                    v._set_parent(None)   # detached from where it was put last, else OmegaConf copies it
                cfg[k] = v

    def __call__(self, overrides: list[str]) -> DictConfig:
        """The composed config (a new object)."""
        return self.apply(overrides, copy.deepcopy)

    def apply(self, overrides: list[str], read: Callable[[DictConfig], object]):
        """``read(config)`` of the composed config, without copying all of it: the group
        nodes and the value overrides are put in place in the (cached) base and taken out after
        ``read``; only the top-level nodes they replace are copied."""
        from hydra._internal.config_loader_impl import ConfigLoaderImpl

        cfg, fast, values = self._split(list(overrides))
        if cfg is None:
            return read(self.hydra(list(overrides)))
        # Nodes are put in place without copies and taken out after ``read``; a node the value
        # overrides will change is put as a copy, so that no cached node is ever changed.
        changed = {o.key_or_group.split(".")[0] for o in values}
        put = {g: self._nodes[g, option] for g, option, _ in fast}
        pristine = self._pristine.setdefault(id(cfg), {})
        for k in (set(put) | changed) - set(pristine):
            if k in cfg:
                pristine[k] = copy.deepcopy(cfg[k]) if isinstance(cfg[k], DictConfig) else cfg[k]
        for k in changed:
            node = put.get(k, pristine.get(k))
            if isinstance(node, DictConfig):
                put[k] = copy.deepcopy(node)
        try:
            self._put(cfg, put)
            ConfigLoaderImpl._apply_overrides_to_config(values, cfg)
            return read(cfg)
        finally:
            self._put(cfg, {k: pristine[k] for k in set(put) | changed if k in pristine})
            with flag_override(cfg, "struct", False):
                for k in (set(put) | changed) - set(pristine):
                    if k in cfg:
                        del cfg[k]
