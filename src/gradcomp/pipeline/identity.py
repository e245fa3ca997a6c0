"""Run and problem identities: the first 12 hex digits of the sha256 of a canonical config.

Only fields that change numbers are hashed: output roots, data locations, scale names,
legend labels and provenance strings are left out, so relabelling a method never
reruns it. A schema field added after runs existed (:func:`gradcomp.config.extension`) is
hashed only when it differs from its default, so adding it reruns nothing.
``SCHEMA_VERSION`` is part of every hash, so a change of hashing rules is explicit.
"""

from __future__ import annotations

import copy
import hashlib

from ..config import SCHEMA_VERSION, RunConf, choice, extension_defaults
from .io import canonical_json
from .validate import check_run, drop_undeclared_axes

RUN_KEYS = ("seed", "backend", "dataset", "problem", "compressor", "method", "stepsize", "run")
NOT_HASHED = {"method": ("label", "source", "our_choices", "compressor"), "dataset": ("url",)}


def digest(obj) -> str:
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()[:12]


def run_config(plain: dict) -> dict:
    """The part of a composed config (plain dict) that a run needs, with its schema version.

    Checked first (:func:`gradcomp.pipeline.validate.check_run`: every choice exists, the
    method accepts the compressor, ...), so a bad combination fails here, before any job;
    the stepsize keys of axes the method does not have are left out.
    """
    out = {k: copy.deepcopy(plain[k]) for k in RUN_KEYS}
    check_run(out)
    drop_undeclared_axes(out)
    out["schema_version"] = SCHEMA_VERSION
    return out


def _schemas(cfg: dict) -> dict:
    """The schema of each node of a run or problem config, from the registries."""
    from ..compressors import COMPRESSORS
    from ..data import DATA_SOURCES
    from ..methods import METHODS
    from ..problems import PROBLEMS

    out = {"dataset": DATA_SOURCES[cfg["dataset"]["source"]].schema,
           "problem": PROBLEMS[cfg["problem"]["name"]].schema}
    if "method" in cfg:
        out["method"] = METHODS[cfg["method"]["algorithm"]].schema
        out["compressor"] = COMPRESSORS[cfg["compressor"]["name"]].schema
        out["run"] = RunConf
    return out


def _drop_extension_defaults(node: dict, schema) -> None:
    for key, default in extension_defaults(schema).items():
        if key in node and node[key] == (default if default is None or isinstance(default, (int, float, str))
                                          else choice(default)):
            del node[key]


def _hashed(cfg: dict) -> dict:
    h = copy.deepcopy(cfg)
    for node, keys in NOT_HASHED.items():
        for k in keys:
            h.get(node, {}).pop(k, None)
    for node, schema in _schemas(cfg).items():
        _drop_extension_defaults(h[node], schema)
    return h


def run_id(cfg: dict) -> str:
    return digest(_hashed(cfg))


def problem_config(cfg: dict) -> dict:
    return {"schema_version": SCHEMA_VERSION, "dataset": copy.deepcopy(cfg["dataset"]),
            "problem": copy.deepcopy(cfg["problem"]), "seed": cfg["seed"]}


def problem_id(cfg: dict) -> str:
    return digest(_hashed(problem_config(cfg)))
