"""Run and problem identities: the first 12 hex digits of the sha256 of a canonical config.

Only fields that change numbers are hashed: output roots, data locations, scale names,
legend labels and provenance strings are left out, so relabelling a method never
reruns it. ``SCHEMA_VERSION`` is part of every hash, so a change of hashing rules is
explicit.
"""

from __future__ import annotations

import copy
import hashlib

from ..config import SCHEMA_VERSION, ConfigError, is_local
from .io import canonical_json

RUN_KEYS = ("seed", "backend", "dataset", "problem", "compressor", "method", "stepsize", "run")
NOT_HASHED = {"method": ("label", "source", "our_choices", "compressor"), "dataset": ("url",)}


def digest(obj) -> str:
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()[:12]


def run_config(plain: dict) -> dict:
    """The part of a composed config (plain dict) that a run needs, with its schema version.

    Fields that do not apply to the method are checked and left out (see
    :func:`_drop_inapplicable`).
    """
    out = {k: copy.deepcopy(plain[k]) for k in RUN_KEYS}
    _check_compressor(out)
    _drop_inapplicable(out)
    out["schema_version"] = SCHEMA_VERSION
    return out


def _check_compressor(cfg: dict) -> None:
    """A method defined with one compressor only (``method.compressor``) refuses any other.

    NASTYA is Q-NASTYA with omega = 0: with Rand-k it would run Q-NASTYA under NASTYA's name.
    """
    need = cfg["method"].get("compressor")
    have = cfg["compressor"].get("name")
    if need is not None and have != need:
        name = cfg["method"].get("name")
        hint = " (with compression it is Q-NASTYA: use method=q_nastya)" if name == "nastya" else ""
        raise ConfigError(f"method {name!r} is defined with compressor={need} only, got compressor={have}{hint}")


def _drop_inapplicable(cfg: dict) -> None:
    """Keep the local-method fields only in the run configs of local methods.

    ``method.local_gradient_at`` and ``stepsize.server_multiplier/server_grid`` were added
    with the local methods. A method with one stepsize has no use for them, so they must be
    at their neutral values (null, 1.0, null) and are removed: the run configs, and so the
    run ids, of such methods are what they were before these fields existed.
    """
    method, step = cfg["method"], cfg["stepsize"]
    name = method.get("name")
    if is_local(method):
        if method.get("local_gradient_at") is None:
            raise ConfigError(f"method {name!r} has local steps: set method.local_gradient_at "
                              "to server (the authors' code) or local_iterate (the paper)")
        return
    if method.get("local_gradient_at") is not None:
        raise ConfigError(f"method {name!r} has no local steps: method.local_gradient_at must be null")
    if step.get("server_grid") is not None or float(step.get("server_multiplier", 1.0)) != 1.0:
        raise ConfigError(f"method {name!r} has a single stepsize: stepsize.server_multiplier and "
                          "stepsize.server_grid apply to local methods only (leave them at 1.0 / null)")
    method.pop("local_gradient_at", None)
    step.pop("server_multiplier", None)
    step.pop("server_grid", None)


def _hashed(cfg: dict) -> dict:
    h = copy.deepcopy(cfg)
    for node, keys in NOT_HASHED.items():
        for k in keys:
            h.get(node, {}).pop(k, None)
    return h


def run_id(cfg: dict) -> str:
    return digest(_hashed(cfg))


def problem_config(cfg: dict) -> dict:
    return {"schema_version": SCHEMA_VERSION, "dataset": copy.deepcopy(cfg["dataset"]),
            "problem": copy.deepcopy(cfg["problem"]), "seed": cfg["seed"]}


def problem_id(cfg: dict) -> str:
    return digest(_hashed(problem_config(cfg)))
