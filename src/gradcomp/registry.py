"""Named plug-ins, declared once where they are implemented.

A method, compressor, problem, dataset source, sampler, stepsize rule, metric, or a figure,
table, study or claim kind is one entry of a :class:`Registry`, registered by a decorator in
the module that implements it. Everything else is derived from that declaration: the config
schemas Hydra validates against (:func:`gradcomp.config.register_schemas`), the choices a
config error lists, the plan-time compatibility checks, and the conformance tests that run
every compatible (method, compressor) pair.

A registry finds its entries by importing every module of its package once, on the first
lookup, so adding a plug-in is adding one file (and its yaml), never editing a list.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any, Callable, Dict, Iterator, Optional


class ConfigError(Exception):
    """A configuration that cannot be composed or is inconsistent (raised before any job runs)."""


class Registry:
    """The entries of one kind of plug-in, by name.

    Parameters
    ----------
    kind : str
        What an entry is, for error messages ("method", "compressor", ...).
    packages : tuple of str
        Packages whose modules declare entries; all of them are imported on first use.
    exclude : tuple of str
        Modules of those packages that declare nothing and are costly to import (compiled
        kernels): never imported by the discovery.
    """

    def __init__(self, kind: str, *packages: str, exclude: tuple[str, ...] = ()):
        self.kind = kind
        self.packages = packages
        self.exclude = frozenset(exclude)
        self._entries: Dict[str, Any] = {}
        self._loaded = not packages

    def register(self, name: str, obj: Any = None) -> Callable[[Any], Any] | Any:
        """Declare ``obj`` under ``name``; usable as a decorator (``@REG.register("x")``).

        A class learns the name it is registered under as ``registry_name``.
        """

        def add(o: Any) -> Any:
            if name in self._entries and self._entries[name] is not o:
                raise ValueError(f"{self.kind} {name!r} is declared twice ({self._entries[name]!r} and {o!r})")
            self._entries[name] = o
            if isinstance(o, type):
                o.registry_name = name
            return o

        return add if obj is None else add(obj)

    def load(self) -> "Registry":
        """Import every module of the registry's packages (once), so that all entries exist."""
        if not self._loaded:
            self._loaded = True
            for pkg_name in self.packages:
                pkg = importlib.import_module(pkg_name)
                for info in pkgutil.iter_modules(pkg.__path__):
                    if info.name not in self.exclude:
                        importlib.import_module(f"{pkg_name}.{info.name}")
        return self

    def names(self) -> list[str]:
        return sorted(self.load()._entries)

    def __contains__(self, name: object) -> bool:
        return name in self.load()._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def items(self):
        return [(n, self._entries[n]) for n in self.names()]

    def get(self, name: str, default: Optional[Any] = None) -> Any:
        return self.load()._entries.get(name, default)

    def __getitem__(self, name: str) -> Any:
        try:
            return self.load()._entries[name]
        except KeyError:
            raise ConfigError(f"unknown {self.kind} {name!r}; valid: {', '.join(self.names())}") from None
