"""Run and problem identities: the first 12 hex digits of the sha256 of a canonical config.

Only fields that change numbers are hashed: output roots, data locations, scale names,
legend labels and provenance strings are left out, so relabelling a method never
reruns it. ``SCHEMA_VERSION`` is part of every hash, so a change of hashing rules is
explicit.
"""

from __future__ import annotations

import copy
import hashlib

from ..config import SCHEMA_VERSION
from .io import canonical_json

RUN_KEYS = ("seed", "backend", "dataset", "problem", "compressor", "method", "stepsize", "run")
NOT_HASHED = {"method": ("label", "source", "our_choices"), "dataset": ("url",)}


def digest(obj) -> str:
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()[:12]


def run_config(plain: dict) -> dict:
    """The part of a composed config (plain dict) that a run needs, with its schema version."""
    out = {k: copy.deepcopy(plain[k]) for k in RUN_KEYS}
    out["schema_version"] = SCHEMA_VERSION
    return out


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
