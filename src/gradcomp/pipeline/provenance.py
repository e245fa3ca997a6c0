"""Where and how a result was computed (never hashed: wall times and hosts vary)."""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path


def _git(*args: str) -> str | None:
    root = Path(__file__).resolve().parents[3]
    try:
        out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _version(pkg: str) -> str | None:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return None


def provenance(backend: str, **extra) -> dict:
    try:
        from threadpoolctl import threadpool_info

        # OpenBLAS picks its kernels for the CPU ("architecture"): the same code gives
        # results that differ in the last bits between, say, Haswell and SkylakeX kernels
        blas = [{k: v for k, v in d.items() if k in ("internal_api", "version", "num_threads", "architecture")}
                for d in threadpool_info()]
    except ImportError:  # pragma: no cover
        blas = None
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(status) if status is not None else None,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "packages": {p: _version(p) for p in ("gradcomp", "numpy", "scipy", "hydra-core", "omegaconf")},
        "blas": blas,
        "backend": backend,
        **extra,
    }
