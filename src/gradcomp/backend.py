"""Array namespace: NumPy, or CuPy when ``backend=cupy``.

Randomness is always drawn on the host with NumPy (named streams, see
:mod:`gradcomp.seeding`) and moved to the device, so both backends compute on identical
random draws and can be compared with a tolerance. A run with ``backend=cupy`` compresses
its messages there (:meth:`gradcomp.methods.Method.send` moves each batch to the device and
the decoded batch back); the method's own arithmetic stays NumPy/SciPy on the host.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np


class BackendError(RuntimeError):
    pass


def get_namespace(name: str) -> ModuleType:
    """The array module for ``backend`` (``numpy`` or ``cupy``)."""
    if name == "numpy":
        return np
    if name == "cupy":
        try:
            import cupy  # noqa: F401
        except ImportError as exc:  # pragma: no cover - depends on the machine
            raise BackendError(
                "backend=cupy needs CuPy and a CUDA GPU: pip install 'gradcomp[cuda]', "
                "or run with backend=numpy"
            ) from exc
        return cupy
    raise BackendError(f"unknown backend {name!r}; valid: numpy, cupy")


def namespace_of(x) -> ModuleType:
    """The module that owns array ``x``."""
    mod = type(x).__module__.split(".")[0]
    if mod == "cupy":  # pragma: no cover - needs a GPU
        import cupy

        return cupy
    if mod != "numpy":
        # Any other array type that names its namespace (the array-API protocol), e.g. the
        # strict stand-in device namespace the compressor tests run without a GPU.
        ns = getattr(x, "__array_namespace__", None)
        if ns is not None:
            return ns()
    return np


def to_device(xp: ModuleType, a):
    """Move a host array to ``xp``'s device (a no-op for NumPy)."""
    return a if xp is np else xp.asarray(a)


def to_host(a) -> np.ndarray:
    if isinstance(a, np.ndarray):
        return a
    get = getattr(a, "get", None)
    return get() if get is not None else np.asarray(a)
