"""Reader for the LIBSVM / svmlight sparse text format, and binary label mapping.

Format, one sample per line::

    label index:value index:value ...   # optional comment

with 1-based integer indices. The reader splits each line once in Python and
hands all ``index:value`` tokens to NumPy's C text parser in a single call, so
that no per-token Python work is done on well-formed files; a slow per-token
pass runs only to locate the culprit once parsing has already failed.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .errors import DataError, MalformedFileError

__all__ = ["load_libsvm", "map_binary_labels"]

_PAIR_DTYPE = np.dtype([("index", np.int64), ("value", np.float64)])
_INDEX_RE = re.compile(r"[+-]?[0-9]+")
_FORMAT_HINT = "expected LIBSVM format 'label index:value index:value ...' with 1-based indices"


def load_libsvm(
    path: str | os.PathLike[str], n_features: int | None = None
) -> tuple[sp.csr_matrix, np.ndarray]:
    """Load a LIBSVM/svmlight text file into a CSR matrix and a label vector.

    Parameters
    ----------
    path : path-like
        The text file (UTF-8/ASCII, uncompressed).
    n_features : int, optional
        Number of columns ``d`` of the result. If omitted, ``d`` is the largest
        feature index present in the file. Give it to line up a test file with
        its training file (e.g. ``a9a.t`` never uses feature 123 of ``a9a``).

    Returns
    -------
    X : scipy.sparse.csr_matrix of shape (N, d), dtype float64
        Features; file index ``j`` is column ``j - 1``. Each row has sorted
        column indices. Explicit zeros written in the file are dropped (a
        stored ``0`` and an absent entry mean the same thing here).
    y : numpy.ndarray of shape (N,), dtype float64
        Labels exactly as written in the file (see :func:`map_binary_labels`).

    Raises
    ------
    MalformedFileError
        If the file is not valid LIBSVM text: a non-numeric or non-finite
        label, a token without ``':'``, a non-integer or ``< 1`` index, an
        index above ``n_features``, a non-numeric or non-finite value, a
        feature index repeated within a row, or no sample at all. The message
        names the file, the 1-based line number and the offending token.
    ValueError
        If ``n_features`` is not a positive integer.

    Notes
    -----
    Whitespace is spaces or tabs; trailing whitespace, ``\\r\\n`` line ends, a
    missing final newline, blank lines and ``#`` comments (to the end of the
    line) are accepted. Blank and comment-only lines are skipped, so ``N``
    counts sample lines only. svmlight ``qid:`` tokens are not supported.
    """
    path = Path(path)
    if n_features is not None:
        if isinstance(n_features, bool) or not isinstance(n_features, (int, np.integer)):
            raise ValueError(f"n_features must be a positive int or None, got {n_features!r}")
        if n_features < 1:
            raise ValueError(f"n_features must be >= 1, got {n_features}")
        n_features = int(n_features)

    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise MalformedFileError(
            f"{path}, line {line}: not UTF-8/ASCII text (is the file compressed?); "
            f"{_FORMAT_HINT}"
        ) from exc

    labels: list[str] = []
    row_lines: list[int] = []  # 1-based file line of each sample, for messages
    nnz: list[int] = []
    tokens: list[str] = []
    # str.split() with no argument also strips '\r', so CRLF files need no special case.
    for lineno, line in enumerate(text.split("\n"), start=1):
        hash_pos = line.find("#")
        if hash_pos >= 0:
            line = line[:hash_pos]
        parts = line.split(None, 1)
        if not parts:
            continue
        labels.append(parts[0])
        row_lines.append(lineno)
        if len(parts) == 2:
            feats = parts[1].split()
            tokens.extend(feats)
            nnz.append(len(feats))
        else:
            nnz.append(0)

    if not labels:
        raise MalformedFileError(f"{path}: the file contains no samples; {_FORMAT_HINT}")

    n_samples = len(labels)
    y = _parse_labels(path, labels, row_lines)
    indptr = np.zeros(n_samples + 1, dtype=np.int64)
    np.cumsum(nnz, out=indptr[1:])

    def fail(pos: int, reason: str) -> MalformedFileError:
        row = int(np.searchsorted(indptr, pos, side="right")) - 1
        return MalformedFileError(
            f"{path}, line {row_lines[row]}: {reason}: {tokens[pos]!r}; {_FORMAT_HINT}"
        )

    if tokens:
        try:
            # One C-level call parses (and structurally checks) every token.
            pairs = np.loadtxt(tokens, delimiter=":", dtype=_PAIR_DTYPE, comments=None, ndmin=1)
        except ValueError as exc:
            found = _first_bad_token(tokens)
            if found is None:  # NumPy stricter than our re-check: still report the file
                raise MalformedFileError(f"{path}: could not parse features ({exc}); {_FORMAT_HINT}") from exc
            pos, reason = found
            raise fail(pos, reason) from exc
        index = pairs["index"]
        value = pairs["value"]
    else:
        index = np.zeros(0, dtype=np.int64)
        value = np.zeros(0, dtype=np.float64)

    bad = np.flatnonzero(index < 1)
    if bad.size:
        raise fail(int(bad[0]), "feature index must be an integer >= 1")
    if n_features is not None:
        bad = np.flatnonzero(index > n_features)
        if bad.size:
            raise fail(int(bad[0]), f"feature index exceeds n_features={n_features}")
    bad = np.flatnonzero(~np.isfinite(value))
    if bad.size:
        raise fail(int(bad[0]), "feature value is not finite")

    row = np.repeat(np.arange(n_samples, dtype=np.int64), nnz)
    # Most files already list indices in increasing order; sort only if not.
    in_order = (index[1:] > index[:-1]) | (row[1:] != row[:-1])
    if not in_order.all():
        order = np.lexsort((index, row))  # stable: ties keep file order
        same = (index[order][1:] == index[order][:-1]) & (row[order][1:] == row[order][:-1])
        dup = np.flatnonzero(same)
        if dup.size:
            # Report the first repeated occurrence in file order.
            second = np.maximum(order[dup], order[dup + 1])
            raise fail(int(second.min()), "feature index repeated within the row")
        index, value, row = index[order], value[order], row[order]

    keep = value != 0
    if not keep.all():
        index, value, row = index[keep], value[keep], row[keep]
        np.cumsum(np.bincount(row, minlength=n_samples), out=indptr[1:])

    n_cols = n_features if n_features is not None else (int(index.max()) if index.size else 0)
    idx_dtype = np.int32 if max(n_cols, index.size) < np.iinfo(np.int32).max else np.int64
    X = sp.csr_matrix(
        (value, (index - 1).astype(idx_dtype), indptr.astype(idx_dtype)),
        shape=(n_samples, n_cols),
    )
    X.has_sorted_indices = True  # guaranteed by the sort above
    return X, y


def _parse_labels(path: Path, labels: list[str], row_lines: list[int]) -> np.ndarray:
    try:
        y = np.array(labels, dtype=np.float64)
    except ValueError:
        y = None
    if y is not None and np.isfinite(y).all():
        return y
    for lab, lineno in zip(labels, row_lines):
        try:
            ok = math.isfinite(float(lab))
        except ValueError:
            ok = False
        if not ok:
            raise MalformedFileError(
                f"{path}, line {lineno}: label is not a finite number: {lab!r}; {_FORMAT_HINT}"
            )
    raise MalformedFileError(f"{path}: could not parse the labels; {_FORMAT_HINT}")


def _first_bad_token(tokens: list[str]) -> tuple[int, str] | None:
    """Locate the first malformed ``index:value`` token (slow path, errors only)."""
    for pos, tok in enumerate(tokens):
        idx_s, sep, val_s = tok.partition(":")
        if not sep:
            return pos, "token without ':'"
        if ":" in val_s:
            return pos, "token with more than one ':'"
        if not _INDEX_RE.fullmatch(idx_s):
            return pos, "feature index is not an integer"
        if int(idx_s) > np.iinfo(np.int64).max:
            return pos, "feature index is too large"
        try:
            float(val_s)
        except ValueError:
            return pos, "feature value is not a number"
    return None


def map_binary_labels(y: np.ndarray) -> np.ndarray:
    """Map binary labels to {-1.0, +1.0}.

    Parameters
    ----------
    y : array-like of shape (N,)
        Raw labels, e.g. as returned by :func:`load_libsvm`.

    Returns
    -------
    numpy.ndarray of shape (N,), dtype float64
        A new array. Labels already within {-1, +1} are returned unchanged
        (even if only one of them occurs); otherwise, with exactly two distinct
        labels, the smaller becomes -1.0 and the larger +1.0 (so {1, 2} and
        {0, 1} both map to {-1, +1}).

    Raises
    ------
    DataError
        If the labels are not finite, or not within {-1, +1} and do not take
        exactly two distinct values.
    ValueError
        If ``y`` is not one-dimensional.
    """
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1:
        raise ValueError(f"y must be one-dimensional, got shape {y.shape}")
    if not np.isfinite(y).all():
        raise DataError("labels contain NaN or infinite values")
    distinct = np.unique(y)
    if np.isin(distinct, (-1.0, 1.0)).all():
        return y.copy()
    if distinct.size != 2:
        shown = ", ".join(f"{v:g}" for v in distinct[:10]) + (", ..." if distinct.size > 10 else "")
        raise DataError(
            f"expected binary labels, found {distinct.size} distinct label(s): {shown}. "
            f"Use a binary dataset or map the labels yourself."
        )
    return np.where(y == distinct[0], -1.0, 1.0)
