"""Datasets: LIBSVM loading, verified download/lookup, and client splits.

Public API
----------
resolve_dataset, sha256_file
    Find a dataset file in a mirror or cache (or download it) and check its SHA-256.
load_libsvm, map_binary_labels
    Parse a LIBSVM text file into ``(X: csr_matrix (N, d), y: ndarray (N,))``
    and map binary labels to {-1, +1}.
hetero_split, iid_split, client_label_counts
    Partition samples among clients by sorted label or at random.
DataError, DatasetMissingError, ChecksumMismatchError, MalformedFileError
    Errors, each with a message that says what to do.
DATA_SOURCES, load_data
    Where a problem's rows come from (``dataset.source``: LIBSVM files, generators).
"""

from .errors import ChecksumMismatchError, DataError, DatasetMissingError, MalformedFileError
from .fetch import resolve_dataset, sha256_file
from .libsvm import load_libsvm, map_binary_labels
from .sources import DATA_SOURCES, load_data
from .split import client_label_counts, hetero_split, iid_split

__all__ = [
    "DataError",
    "DatasetMissingError",
    "ChecksumMismatchError",
    "MalformedFileError",
    "sha256_file",
    "resolve_dataset",
    "load_libsvm",
    "map_binary_labels",
    "hetero_split",
    "iid_split",
    "client_label_counts",
    "DATA_SOURCES",
    "load_data",
]
