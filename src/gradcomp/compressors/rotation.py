"""Random rotations and DRIVE (Vargaftik et al. 2021, "DRIVE: One-bit distributed mean
estimation"), the one-bit baseline of paper cq.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np
from omegaconf import MISSING

from ..config import CompressorConf, choice
from .base import COMPRESSORS, BitCost, Unbiased
from .batch import device, prepare, use_fused

ROTATIONS = ("hadamard", "uniform")


class Rotation(enum.Enum):
    hadamard = "hadamard"
    uniform = "uniform"


@dataclass
class DriveConf(CompressorConf):
    rotation: Rotation = MISSING


def fwht(xp, z):
    """Orthonormal Walsh-Hadamard transform ``H z / sqrt(D)`` along the last axis (D = 2^t).

    Sylvester order; ``H / sqrt(D)`` is symmetric and its own inverse. The caller's array
    is not changed. A NumPy float64 array goes through the compiled in-place transform
    (:func:`.kernels.fwht_rows`, O(D log D), cache-blocked), other arrays through
    :func:`fwht_generic`; both do the same additions and subtractions, so the same bits.
    """
    D = z.shape[-1]
    if D & (D - 1):
        raise ValueError(f"fwht needs a power-of-two length, got {D}")
    if isinstance(z, np.ndarray) and z.dtype == np.float64 and D > 0:
        from . import kernels  # numba: imported on first use

        out = np.array(z, order="C")  # a copy
        kernels.fwht_rows(out.reshape(-1, D), math.sqrt(D), kernels.FWHT_BLOCK)
        return out
    return fwht_generic(xp, z)


def fwht_generic(xp, z):
    """:func:`fwht` in the array namespace ``xp``: log2(D) butterfly passes, each one
    reshape and one stack (no in-place update of the caller's array)."""
    D = z.shape[-1]
    lead = tuple(z.shape[:-1])
    h = 1
    while h < D:
        pairs = xp.reshape(z, lead + (D // (2 * h), 2, h))
        a, b = pairs[..., 0, :], pairs[..., 1, :]
        z = xp.reshape(xp.stack([a + b, a - b], axis=-2), lead + (D,))
        h *= 2
    return z / math.sqrt(D)


def uniform_rotations(rng: np.random.Generator, n: int, D: int) -> np.ndarray:
    """n independent Haar-uniform orthogonal D x D matrices (QR of a Gaussian, signs fixed)."""
    G = rng.standard_normal((n, D, D))
    Q, R = np.linalg.qr(G)
    return Q * np.sign(np.diagonal(R, axis1=-2, axis2=-1))[:, None, :]


@COMPRESSORS.register("drive")
class Drive(Unbiased):
    """DRIVE with the unbiased scale (Vargaftik et al. 2021; official ``drive_torch/drive.py``).

    Client i rotates z = R_i x (its own random rotation, known to the server through a
    shared seed), sends sign(z) (one bit per coordinate, 0 sent as +) and
    S = ||z||_2^2 / ||z||_1, and the server decodes R_i^T (S sign(z)).

    ``rotation``: ``hadamard`` is the randomized Hadamard transform R = H diag(s) / sqrt(D)
    with Rademacher s, as the DRIVE code and paper cq use; d is zero-padded to the next
    power of two D (bits count the padded D). ``uniform`` is a Haar-random rotation
    (D = d, O(d^3) on the host: small d only), the rotation under which DRIVE's
    unbiasedness is proved.

    Since <x_hat, x> = ||x||^2 and ||x_hat||^2 = S^2 D, the error is exactly
    ||x_hat - x||^2 = (D ||x||^2 / ||z||_1^2 - 1) ||x||^2. So omega = D - 1 is a worst-case
    bound (||z||_1 >= ||z||_2); the typical value, for uniform rotation and large d, is
    pi/2 - 1 (``vnmse``), which paper cq and MiniFL use: ab = ((pi/2 - 1)/n, 0).
    Under the Hadamard rotation the estimate is unbiased only approximately.

    bits = D + bits_per_float.
    """

    schema, schema_name = DriveConf, "base_drive"

    @classmethod
    def from_config(cls, cfg, d, n, cost):
        return cls(d, choice(cfg["rotation"]), cost)

    def __init__(self, d: int, rotation: str, cost: BitCost):
        if rotation not in ROTATIONS:
            raise ValueError(f"rotation must be one of {ROTATIONS}, got {rotation!r}")
        if rotation == "uniform" and d > 2048:
            raise ValueError(f"rotation=uniform stores d x d matrices; use it for d <= 2048, got d={d}")
        self.d, self.rotation, self.cost = d, rotation, cost
        self.D = 1 << (d - 1).bit_length() if rotation == "hadamard" else d
        self.omega = float(self.D - 1)
        self.exactly_unbiased = rotation == "uniform"
        self.vnmse = math.pi / 2 - 1
        self.name = "DRIVE" if rotation == "hadamard" else "DRIVE(uniform)"

    def ab(self, n: int) -> tuple[float, float]:
        """The constants paper cq uses (MiniFL ``ab()``): (vNMSE / n, 0)."""
        return self.vnmse / n, 0.0

    def bits_per_client(self) -> int:
        return self.D + self.cost.bits_per_float

    def compress(self, v, rng: np.random.Generator):
        xp = prepare(v, self.d, self.name)
        M, d, D = v.shape[-2], self.d, self.D
        if self.rotation == "hadamard":
            signs = 2.0 * rng.integers(0, 2, size=(M, D)) - 1.0
            if use_fused(v):
                return _drive_hadamard_compiled(v, signs)
            s = device(xp, signs, v.dtype)
            x = v if D == d else xp.concatenate([v, xp.zeros(v.shape[:-1] + (D - d,), dtype=v.dtype)], axis=-1)

            def rotate(a):
                return fwht(xp, a * s)

            def unrotate(a):
                return s * fwht(xp, a)
        else:
            Rm = device(xp, uniform_rotations(rng, M, D), v.dtype)  # (M, D, D)
            x = v

            def rotate(a):
                return xp.squeeze(Rm @ a[..., None], axis=-1)

            def unrotate(a):
                return xp.squeeze(xp.swapaxes(Rm, -1, -2) @ a[..., None], axis=-1)

        z = rotate(x)
        l1 = xp.sum(xp.abs(z), axis=-1, keepdims=True)
        l2sq = xp.sum(z * z, axis=-1, keepdims=True)
        S = xp.where(l1 > 0, l2sq / xp.where(l1 > 0, l1, 1), 0)
        xhat = unrotate(xp.where(z < 0, -S, S))
        return xhat[..., :d]


def _drive_hadamard_compiled(v: np.ndarray, signs: np.ndarray) -> np.ndarray:
    """:meth:`Drive.compress` with the Hadamard rotation for a NumPy float64 batch, through
    :func:`.kernels.drive_hadamard`: the same bits, one buffer of length D instead of six
    temporaries of the batch's padded size."""
    from . import kernels  # numba: imported on first use

    lead, (M, d) = v.shape[:-2], v.shape[-2:]
    v3 = np.ascontiguousarray(v).reshape((int(np.prod(lead, dtype=np.int64)), M, d))
    out = np.empty(v3.shape)
    kernels.drive_hadamard(v3, signs, out, kernels.FWHT_BLOCK)
    return out.reshape(v.shape)
