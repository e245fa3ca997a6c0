"""A stand-in "device" array namespace for testing the namespace-generic compressor path
without a GPU (array-api-strict is not installed, and we add no dependency for it).

``StrictArray`` wraps a NumPy array the way a CuPy array behaves towards NumPy: it refuses
implicit conversion (``np.foo(device_array)`` raises), refuses arithmetic with host
NumPy arrays, and only the functions listed in ``ALLOWED`` (ones NumPy and CuPy both
have) exist on the namespace. It checks the NumPy/CuPy common surface the compressors
promise, not full array-API-standard compliance (``argpartition``, ``frexp`` and
in-place fancy assignment are outside the standard but inside CuPy).
"""

from __future__ import annotations

import numpy as np

ALLOWED = {
    "abs", "sign", "floor", "sqrt", "sum", "max", "min", "maximum", "minimum", "where",
    "zeros", "zeros_like", "ones_like", "asarray", "array", "reshape", "arange", "stack",
    "concatenate", "isfinite", "all", "any", "argpartition", "frexp", "ldexp", "squeeze",
    "swapaxes", "matmul", "take_along_axis", "broadcast_to",
}
DTYPES = {"float64", "float32", "int64", "bool_"}


class HostArrayError(TypeError):
    pass


def _unwrap(x, allow_host=False):
    if isinstance(x, StrictArray):
        return x._a
    if isinstance(x, np.ndarray) and x.ndim > 0 and not allow_host:
        raise HostArrayError("a host NumPy array met a device array: move it with to_device first")
    if isinstance(x, tuple):
        return tuple(_unwrap(e, allow_host) for e in x)
    if isinstance(x, list):
        return [_unwrap(e, allow_host) for e in x]
    return x


def _wrap(x):
    if isinstance(x, np.ndarray):
        return StrictArray(x)
    if isinstance(x, tuple):
        return tuple(_wrap(e) for e in x)
    return x


class StrictArray:
    __array_ufunc__ = None  # NumPy must not treat us as an array: it defers, we refuse

    def __init__(self, a: np.ndarray):
        self._a = a

    def __array_namespace__(self, api_version=None):
        return NAMESPACE

    def __array__(self, *args, **kwargs):
        raise HostArrayError("implicit conversion of a device array to NumPy (a NumPy-only call on data?)")

    shape = property(lambda self: self._a.shape)
    ndim = property(lambda self: self._a.ndim)
    dtype = property(lambda self: self._a.dtype)
    size = property(lambda self: self._a.size)

    def astype(self, dtype):
        return StrictArray(self._a.astype(dtype))

    def copy(self):
        return StrictArray(self._a.copy())

    def __getitem__(self, key):
        return _wrap(self._a[_unwrap(key)])

    def __setitem__(self, key, value):
        self._a[_unwrap(key)] = _unwrap(value)

    def __len__(self):
        return len(self._a)

    def __bool__(self):
        return bool(self._a)

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def to_numpy(self) -> np.ndarray:
        """The explicit device-to-host copy (CuPy's ``.get()``)."""
        return self._a.copy()

    get = to_numpy


def _binary(name):
    def op(self, other):
        return _wrap(getattr(self._a, name)(_unwrap(other)))

    return op


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or",
              "lt", "le", "gt", "ge", "eq", "ne"):
    for _n in (f"__{_name}__", f"__r{_name}__"):
        if hasattr(np.ndarray, _n):
            setattr(StrictArray, _n, _binary(_n))
for _n in ("__neg__", "__abs__", "__invert__", "__pos__"):
    setattr(StrictArray, _n, (lambda n: lambda self: StrictArray(getattr(self._a, n)()))(_n))


class StrictNamespace:
    __name__ = "strict_xp"

    def __getattr__(self, name):
        if name in DTYPES:
            return getattr(np, name)
        if name not in ALLOWED:
            raise AttributeError(f"strict_xp has no {name!r}: not in the NumPy/CuPy common set the compressors may use")
        fn = getattr(np, name)
        explicit_transfer = name in ("asarray", "array")

        def call(*args, **kwargs):
            return _wrap(fn(*_unwrap(args, explicit_transfer), **{k: _unwrap(v) for k, v in kwargs.items()}))

        return call


NAMESPACE = StrictNamespace()


def to_strict(a: np.ndarray) -> StrictArray:
    return StrictArray(np.array(a, copy=True))
