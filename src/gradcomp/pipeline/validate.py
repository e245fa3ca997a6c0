"""Every check of a run config that needs more than one field, in one place, at plan time.

:func:`check_run` runs when a run config is made (:func:`gradcomp.pipeline.identity.run_config`,
for the plan and for ``gradcomp run`` alike), so a bad combination fails before any job
starts, with a message that names what is wrong and the valid choices. Everything it checks
comes from the plug-ins' declarations: the registries' names, each method's schema, axes,
``check`` and ``needs``, each stepsize rule's axes and required keys, each sampler's
``check``, and the compressor's own constructor (built here for the run's d and M).
"""

from __future__ import annotations

import math
from dataclasses import fields

from ..config import choice
from ..registry import ConfigError


def _same_schema(node: dict, schema, what: str, name: str, schema_name: str) -> None:
    want = {f.name for f in fields(schema)}
    have = set(node)
    if want != have:
        extra, missing = sorted(have - want), sorted(want - have)
        raise ConfigError(f"{what} {name!r} must use the schema {schema_name} (name it in the yaml's defaults "
                          f"list): unexpected keys {extra}, missing {missing}")


def _non_finite(node, path: str = ""):
    """The first ``(key, value)`` of a config holding NaN or an infinity, or None."""
    if isinstance(node, dict):
        items = ((f"{path}.{k}" if path else str(k), v) for k, v in node.items())
    elif isinstance(node, (list, tuple)):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(node))
    else:
        return (path, node) if isinstance(node, float) and not math.isfinite(node) else None
    for key, v in items:
        bad = _non_finite(v, key)
        if bad is not None:
            return bad
    return None


def check_run(cfg: dict) -> None:
    """Raise :class:`ConfigError` unless run config ``cfg`` can run (module docstring)."""
    bad = _non_finite(cfg)
    if bad is not None:
        raise ConfigError(f"{bad[0]}={bad[1]}: must be a finite number (null where the key allows none)")
    from .. import compressors
    from ..data import DATA_SOURCES
    from ..methods import METHODS, RULES, SAMPLERS, STEP_AXES, refusal
    from ..methods.metrics import METRICS, recorded
    from ..problems import PROBLEMS

    DATA_SOURCES[cfg["dataset"]["source"]]
    pcls = PROBLEMS[cfg["problem"]["name"]]
    _same_schema(cfg["problem"], pcls.schema, "problem", cfg["problem"]["name"], pcls.schema_name)
    mcfg = cfg["method"]
    name = mcfg.get("name")
    cls = METHODS[mcfg["algorithm"]]
    _same_schema(mcfg, cls.schema, "method", name, cls.schema_name)
    rule = RULES[mcfg["stepsize_rule"]]
    if tuple(rule.axes) != tuple(cls.axes):
        raise ConfigError(f"method {name!r}: stepsize_rule={rule.name} gives the stepsizes {', '.join(rule.axes)}, "
                          f"but algorithm {mcfg['algorithm']} has the stepsize axes {', '.join(cls.axes)}")
    for key in rule.requires:
        if mcfg.get(key) is None:
            raise ConfigError(f"method {name!r}: stepsize_rule={rule.name} needs method.{key}")
    SAMPLERS[mcfg["sampling"]].check(mcfg)
    cls.check(mcfg)
    for metric in recorded(cfg["run"]):
        if METRICS[metric].needs_solution and not pcls.has_solution:
            raise ConfigError(f"problem {cfg['problem']['name']!r} has no known solution x*: run.metrics cannot "
                              f"record {metric} (record grad_norm_sq)")
    if not pcls.has_solution:
        for key in ("stop_dist_sq", "stop_rel_dist_sq"):
            if cfg["run"].get(key) is not None:
                raise ConfigError(f"problem {cfg['problem']['name']!r} has no known solution x*: set run.{key}=null")
    step = cfg["stepsize"]
    for single, grid in STEP_AXES.values():
        if step.get(grid) is not None and len(step[grid]) == 0:
            raise ConfigError(f"stepsize.{grid}=[] is empty: list at least one multiplier, or set it to null "
                              f"to run stepsize.{single} alone")
    for axis, (single, grid) in STEP_AXES.items():
        if axis not in cls.axes and (step.get(grid) is not None or float(step.get(single, 1.0)) != 1.0):
            raise ConfigError(f"method {name!r} has no stepsize {axis} ({', '.join(cls.axes)} only): "
                              f"stepsize.{single} and stepsize.{grid} must stay 1.0 / null")
    d, M = int(cfg["dataset"]["n_features"]), int(cfg["problem"]["n_clients"])
    if not 1 <= M <= int(cfg["dataset"]["n_samples"]):
        raise ConfigError(f"problem.n_clients={M}: need 1 <= n_clients <= the {cfg['dataset']['n_samples']} samples "
                          f"of {cfg['dataset']['name']}")
    try:
        # the problem's weights are not known before it is built: positive stand-ins check the rest
        comp = compressors.build(cfg["compressor"], d, M, weights=[1.0] * M)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"compressor {cfg['compressor']['name']!r} for d = {d}, M = {M}: {exc}") from None
    why = refusal(mcfg, comp)
    if why is not None:
        raise ConfigError(why)
    if comp.variable_length and any(len(step.get(grid) or []) > 1 for _, grid in STEP_AXES.values()):
        # the trace keeps one bit count for all replicas; replicas of a variable-length code
        # send different numbers of bits
        raise ConfigError(f"compressor {comp.name} has a variable-length code: its replicas would send "
                          "different numbers of bits; run one stepsize per run (stepsize.grid=null)")
    backend = choice(cfg["backend"])
    if backend != "numpy":
        # backend=cupy runs the compressor on the GPU (Method.send moves each message batch
        # there and the decoded batch back; the method's arithmetic stays NumPy/SciPy). Every
        # compressor runs there, the variable-length codes included (their encode takes
        # device arrays). Without CuPy: the backend's own message, before any job starts.
        from ..backend import BackendError, get_namespace

        try:
            get_namespace(backend)
        except BackendError as exc:
            raise ConfigError(str(exc)) from None


def drop_undeclared_axes(cfg: dict) -> None:
    """Remove the stepsize keys of the axes the method does not have (checked neutral by
    :func:`check_run`), so that a method's run config and id do not depend on them."""
    from ..methods import METHODS, STEP_AXES

    axes = METHODS[cfg["method"]["algorithm"]].axes
    for axis, keys in STEP_AXES.items():
        if axis not in axes:
            for k in keys:
                cfg["stepsize"].pop(k, None)
