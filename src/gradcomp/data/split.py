"""Partition a dataset's samples among clients (workers).

The heterogeneous and i.i.d. splits hand out *contiguous* chunks of one
ordering of the samples: ``chunk = N // M`` samples per client, the last
client also taking the remainder ``N - M * chunk``. Only the ordering
differs: sorted by label (heterogeneous) or a random permutation (i.i.d.).
The contiguous split keeps the file order and sizes the segments as equally
as possible: the first ``N mod M`` clients get one sample more.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["hetero_split", "iid_split", "contiguous_split", "client_label_counts"]


def _check_sizes(n_samples: int, n_clients: int) -> None:
    if isinstance(n_clients, bool) or not isinstance(n_clients, numbers.Integral) or n_clients < 1:
        raise ValueError(f"n_clients must be a positive integer, got {n_clients!r}")
    if n_samples < n_clients:
        raise ValueError(
            f"cannot split {n_samples} samples among {n_clients} clients: "
            f"every client needs at least one sample"
        )


def _contiguous_chunks(order: np.ndarray, n_clients: int) -> list[np.ndarray]:
    chunk = order.size // n_clients
    parts = [order[m * chunk : (m + 1) * chunk].copy() for m in range(n_clients - 1)]
    parts.append(order[(n_clients - 1) * chunk :].copy())
    return parts


def hetero_split(y: np.ndarray, n_clients: int) -> list[np.ndarray]:
    """Split samples among clients by sorted label (heterogeneous data).

    Sample indices are sorted by label with a *stable* sort (equal labels keep
    their file order), then cut into contiguous chunks: client ``m < M - 1``
    gets sorted positions ``[m * chunk, (m + 1) * chunk)`` with
    ``chunk = N // M``, and the last client gets the rest. With binary labels
    most clients thus see a single class, as in the ``rr`` paper.

    Parameters
    ----------
    y : array-like of shape (N,)
        Labels (any sortable values; usually already mapped to {-1, +1}).
    n_clients : int
        Number of clients ``M``, ``1 <= M <= N``.

    Returns
    -------
    list of numpy.ndarray of dtype int64
        ``M`` arrays of sample indices; array ``m`` has length ``chunk``
        (``N - (M - 1) * chunk`` for the last) and lists indices in sorted-label
        order. Together they partition ``range(N)``.

    Raises
    ------
    ValueError
        If ``y`` is not 1-D, ``n_clients < 1`` or ``N < n_clients``.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be one-dimensional, got shape {y.shape}")
    _check_sizes(y.size, n_clients)
    order = np.argsort(y, kind="stable").astype(np.int64, copy=False)
    return _contiguous_chunks(order, int(n_clients))


def iid_split(n_samples: int, n_clients: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Split samples among clients uniformly at random (i.i.d. data).

    A random permutation of ``range(n_samples)`` is cut into the same
    contiguous chunks as :func:`hetero_split` (the last client gets the
    remainder).

    Parameters
    ----------
    n_samples : int
        Number of samples ``N``.
    n_clients : int
        Number of clients ``M``, ``1 <= M <= N``.
    rng : numpy.random.Generator
        Source of randomness; the split is a deterministic function of its state.

    Returns
    -------
    list of numpy.ndarray of dtype int64
        ``M`` arrays of sample indices partitioning ``range(N)``.

    Raises
    ------
    TypeError
        If ``rng`` is not a :class:`numpy.random.Generator`.
    ValueError
        If ``n_clients < 1`` or ``n_samples < n_clients``.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < 0:
        raise ValueError(f"n_samples must be a non-negative integer, got {n_samples!r}")
    _check_sizes(int(n_samples), n_clients)
    order = rng.permutation(int(n_samples)).astype(np.int64, copy=False)
    return _contiguous_chunks(order, int(n_clients))


def contiguous_split(n_samples: int, n_clients: int) -> list[np.ndarray]:
    """Split samples among clients into contiguous, near-equal segments in file order.

    Client ``m`` gets the ``m``-th of ``M`` consecutive segments of
    ``range(n_samples)``; the first ``N mod M`` segments hold ``N // M + 1``
    samples and the others ``N // M`` (the sizes of ``numpy.array_split`` and
    ``torch.tensor_split``). Paper cq "partitioned their entries into n uniform
    segments"; the authors' code uses ``torch.tensor_split``.

    Parameters
    ----------
    n_samples : int
        Number of samples ``N``.
    n_clients : int
        Number of clients ``M``, ``1 <= M <= N``.

    Returns
    -------
    list of numpy.ndarray of dtype int64
        ``M`` arrays of consecutive sample indices partitioning ``range(N)`` in order.

    Raises
    ------
    ValueError
        If ``n_clients < 1`` or ``n_samples < n_clients``.
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < 0:
        raise ValueError(f"n_samples must be a non-negative integer, got {n_samples!r}")
    _check_sizes(int(n_samples), n_clients)
    N, M = int(n_samples), int(n_clients)
    q, r = divmod(N, M)
    sizes = np.full(M, q, dtype=np.int64)
    sizes[:r] += 1
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    return [np.arange(bounds[m], bounds[m + 1], dtype=np.int64) for m in range(M)]


def client_label_counts(y: np.ndarray, parts: list[np.ndarray]) -> np.ndarray:
    """Count the samples of each class held by each client.

    Parameters
    ----------
    y : array-like of shape (N,)
        Labels in {-1, +1} (see :func:`gradcomp.data.map_binary_labels`).
    parts : list of array-like of int
        Per-client sample indices, e.g. from :func:`hetero_split`.

    Returns
    -------
    numpy.ndarray of shape (M, 2), dtype int64
        Row ``m`` holds the number of samples of client ``m`` with label -1
        (column 0) and with label +1 (column 1).

    Raises
    ------
    ValueError
        If ``y`` holds a label other than -1 or +1.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be one-dimensional, got shape {y.shape}")
    if not np.isin(y, (-1, 1)).all():
        raise ValueError("y must hold labels in {-1, +1}; map them with map_binary_labels first")
    counts = np.zeros((len(parts), 2), dtype=np.int64)
    for m, idx in enumerate(parts):
        labels = y[np.asarray(idx, dtype=np.int64)]
        n_pos = int(np.count_nonzero(labels == 1))
        counts[m] = (labels.size - n_pos, n_pos)
    return counts
