"""Helpers for messages that live on k coordinates per client (sparsifiers)."""

from __future__ import annotations

import numpy as np


def client_mean_scatter(vals: np.ndarray, S: np.ndarray, d: int) -> np.ndarray:
    """``1/M sum_m`` of the vectors with entries ``vals[:, m, j]`` at coordinates ``S[m, j]``.

    Parameters
    ----------
    vals : ndarray, shape (R, M, k)
    S : ndarray of int, shape (M, k)

    Returns
    -------
    ndarray, shape (R, d)
    """
    R, M, k = vals.shape
    idx = (np.arange(R)[:, None] * d + S.reshape(1, M * k)).ravel()
    out = np.bincount(idx, weights=vals.reshape(-1), minlength=R * d)
    out /= M
    return out.reshape(R, d)
