"""The method protocol, the method and stepsize-rule registries, and compatibility.

A method is declared once, on its class, with ``@METHODS.register(algorithm)``: the name a
``method.algorithm`` config value selects. The class states

* ``schema``/``schema_name``: its config schema (a :class:`~gradcomp.config.MethodConf`);
* ``axes``: its **named stepsize axes**, ``("gamma",)`` for most methods and
  ``("gamma", "eta")`` for a method with a second stepsize (a local method's server
  stepsize, GDCI's relaxation). A run's replicas are the Cartesian product of the axes'
  multiplier grids (:func:`replica_steps`); nothing else in the pipeline asks what kind of
  method it runs;
* ``needs``: what its theory assumes of the compressor (:data:`NEEDS`), checked at plan
  time by :func:`refusal` with a message that names the pair and why;

and implements ``round(X, steps)`` (one communication round of every replica) and
``keep(mask)`` (drop frozen replicas). Its theoretical stepsizes are rules, declared with
``@stepsize_rule(name, axes)`` next to the method, and named by ``method.stepsize_rule``.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Callable, Optional

import numpy as np

from ..backend import to_device, to_host
from ..config import MethodConf
from ..registry import Registry

#: Every method, by ``method.algorithm``.
METHODS = Registry("method algorithm", "gradcomp.methods")
#: Every theoretical stepsize rule, by ``method.stepsize_rule``.
RULES = Registry("stepsize rule", "gradcomp.methods")

#: The config keys of each stepsize axis: (single multiplier, grid of multipliers).
STEP_AXES = {"gamma": ("multiplier", "grid"), "eta": ("server_multiplier", "server_grid")}


# ---- what a method assumes of its compressor ---------------------------------------------------

def _client_unbiased(q) -> bool:
    return q.client_omega is not None


#: name -> (test on a compressor, what the method needs, in words)
NEEDS: dict[str, tuple[Callable, str]] = {
    "client_unbiased": (_client_unbiased, "an unbiased compressor, Q in U(omega), for every client's own "
                                          "message (E Q(x) = x with a variance omega)"),
    "contractive": (lambda q: q.kind == "contractive" or _client_unbiased(q),
                    "a contractive compressor C in B(delta), or an unbiased one used as Q/(omega + 1)"),
    # the AB-inequality presupposes E 1/n sum C_i(a_i) = abar, which the unbiased and the
    # correlated classes state and the contractive ones do not
    "mean_unbiased": (lambda q: q.kind in ("unbiased", "correlated"),
                      "a compressor whose mean over the clients is unbiased, with AB constants (an unbiased "
                      "or a correlated one)"),
}


def refusal(method_cfg: dict, compressor) -> Optional[str]:
    """Why the method of ``method_cfg`` cannot use ``compressor``, or None when it can."""
    cls = METHODS[str(method_cfg["algorithm"])]
    name = method_cfg.get("name", cls.__name__)
    only = method_cfg.get("compressor")
    if only is not None and compressor.registry_name != only:
        return (f"method {name!r} is defined with compressor={only} only, got compressor="
                f"{compressor.registry_name} ({compressor.describe()}){cls.only_hint}")
    ok, words = NEEDS[cls.needs]
    if not ok(compressor):
        return (f"method {name!r} ({method_cfg.get('label', name)}) cannot use compressor "
                f"{compressor.registry_name!r}: it needs {words}; {compressor.describe()}")
    return None


# ---- stepsize rules --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    """A theoretical stepsize: ``fn(constants, compressor, method)`` -> one value per axis;
    ``requires``: method config keys it reads, which must be set (checked at plan time)."""

    name: str
    fn: Callable
    axes: tuple[str, ...]
    requires: tuple[str, ...] = ()

    def __call__(self, constants, compressor, method) -> dict[str, float]:
        out = self.fn(constants, compressor, method)
        values = out if isinstance(out, tuple) else (out,)
        return {a: float(v) for a, v in zip(self.axes, values)}


def stepsize_rule(name: str, axes: tuple[str, ...] = ("gamma",), requires: tuple[str, ...] = ()):
    """Declare ``fn(constants, compressor, method)`` as the rule ``name`` (returns a float,
    or a tuple with one value per axis)."""

    def deco(fn):
        RULES.register(name, Rule(name, fn, tuple(axes), tuple(requires)))
        return fn

    return deco


def replica_steps(cls_or_axes, stepsize: dict) -> dict[str, np.ndarray]:
    """The multipliers of every replica, per axis: the Cartesian product of the axes' grids.

    Replica ``r`` of a two-axis method is ``(grid[r // E], server_grid[r % E])`` with
    ``E = len(server_grid)`` (first axis major). An axis without a grid takes its single
    multiplier.
    """
    axes = getattr(cls_or_axes, "axes", cls_or_axes)
    grids = []
    for a in axes:
        single, grid = STEP_AXES[a]
        grids.append(np.asarray(stepsize[grid] if stepsize.get(grid) else [stepsize[single]], dtype=np.float64))
    mesh = np.meshgrid(*grids, indexing="ij")
    return {a: m.ravel() for a, m in zip(axes, mesh)}


# ---- the protocol --------------------------------------------------------------------------------

@dataclass
class Setup:
    """What a method is built from (one run)."""

    cfg: dict               # the method's config node (plain)
    problem: object         # a problem (gradcomp.problems)
    constants: object       # its Constants
    compressor: object      # a compressor (gradcomp.compressors)
    sampler: object         # which rows each client uses (gradcomp.methods.samplers)
    rng: np.random.Generator  # the compressor's stream: its draws and the method's own coins
    R: int                  # replicas
    x0: np.ndarray          # (d,) the starting point
    x_star: Optional[np.ndarray] = None
    seed: int = 0           # the run's root seed (for a method's own named streams)
    bits_per_float: int = 32  # the width of an uncompressed float (compressor.bits_per_float)
    #: the array namespace the compressor runs in (``backend``): None or NumPy on the host,
    #: CuPy on the GPU; the method's own arithmetic stays NumPy/SciPy either way
    xp: Optional[ModuleType] = None


class Method:
    """One method over R replicas; subclass it and register it (module docstring)."""

    schema, schema_name = MethodConf, "base_method"
    axes: tuple[str, ...] = ("gamma",)
    needs = "client_unbiased"
    #: appended to the refusal of another compressor than the one ``method.compressor`` names
    only_hint = ""

    def __init__(self, setup: Setup):
        self.setup = setup
        self.problem, self.compressor, self.sampler = setup.problem, setup.compressor, setup.sampler
        self.rng = setup.rng
        self.M, self.d = setup.problem.M, setup.problem.d
        #: where :meth:`send` compresses: NumPy (the host), or a device namespace (CuPy)
        self.xp = np if setup.xp is None else setup.xp
        #: rounds compute only the coordinates a sparsifier keeps (its sparse sample path);
        #: never on a device, where the compressor sees every client's whole vector
        self.uses_coordinates = bool(self.compressor.sparse_path) and self.xp is np
        self._bits = float(self.compressor.bits_per_client())

    @classmethod
    def check(cls, cfg: dict) -> None:
        """Cross-field checks of the method's own config node (plan time); raise ConfigError."""

    @classmethod
    def free_axes_for(cls, cfg: dict) -> tuple[str, ...]:
        """Axes whose stepsize does not change the iterates of the method ``cfg`` configures
        (replicas that differ only there share one trajectory)."""
        return ()

    @property
    def free_axes(self) -> tuple[str, ...]:
        return self.free_axes_for(self.setup.cfg)

    def round(self, X: np.ndarray, steps: dict[str, np.ndarray]) -> tuple[int, float]:
        """One communication round of every replica, ``X`` (R, d) updated in place.

        ``steps`` maps each axis to the stepsizes (R,) of the live replicas. Returns the data
        rows the round used and the uplink bits each client sent (mean over clients).
        """
        raise NotImplementedError

    def keep(self, mask: np.ndarray) -> None:
        """Drop the state of the replicas where ``mask`` is False."""

    def bound(self, steps: dict[str, np.ndarray], dist0: float):
        """A theorem's bound on E||x^k - x*||^2 / ||x^0 - x*||^2 as ``(rate (R,), floor (R,))``
        (``rate^k + floor``), or None where the method states none."""
        return None

    def info(self) -> dict:
        """The method's derived parameters (alpha, p, ...) for ``info.json``."""
        return {}

    def send(self, V: np.ndarray) -> np.ndarray:
        """What the server decodes of every client's message ``C(V)`` (``V`` of shape
        ``(R, M, d)``), drawn from the method's stream. Where the compressor's code length
        depends on the input (``variable_length``), :meth:`bits` becomes this message's
        actual length, the mean over the clients (one replica: see ``validate``).

        The one place a method meets the backend: ``V`` goes to the namespace ``xp``, is
        compressed there (its random draws come from the host stream, as on NumPy) and the
        decoded batch comes back to the host. Both moves are no-ops on NumPy."""
        V = to_device(self.xp, V)
        if not self.compressor.variable_length:
            return to_host(self.compressor.compress(V, self.rng))
        out, bits = self.compressor.encode(V, self.rng)
        self._bits = float(np.mean(to_host(bits)))
        return to_host(out)

    def bits(self) -> float:
        """Uplink bits of one client's compressed message (the last one sent, for a
        variable-length code)."""
        return self._bits
