"""Exceptions raised by :mod:`gradcomp.data`.

Every message says what went wrong *and* what the user can do about it: where
the official file lives, how to point the package at a local copy, or which
file to delete. The classes can also be built from a plain message string.
"""

from __future__ import annotations

import os

__all__ = [
    "DataError",
    "DatasetMissingError",
    "ChecksumMismatchError",
    "MalformedFileError",
]

# How a user points gradcomp at data; kept in one place so every message agrees.
MIRROR_ENV_VAR = "GRADCOMP_DATA_MIRROR"


def _how_to_provide(filename: str, url: str, situation: str) -> str:
    """What to do, for the place that was tried: ``mirror`` (a mirror is set, and then only
    the mirror is read), ``no_download`` (the cache, downloading disabled) or
    ``download_failed`` (downloading was allowed and failed)."""
    get = (f"download the official file {url}\n"
           f"    into a directory, keep its name {filename!r}, and point gradcomp at that\n"
           f"    directory with the override data.mirror=/path/to/dir or the\n"
           f"    environment variable {MIRROR_ENV_VAR}=/path/to/dir")
    if situation == "mirror":
        return (f"To fix this, either\n"
                f"  * put the official file {url}\n"
                f"    into the mirror directory under the name {filename!r}; or\n"
                f"  * use no mirror (unset {MIRROR_ENV_VAR}, or data.mirror=null): gradcomp then\n"
                f"    reads its download cache and downloads the file there (data.download=true).")
    if situation == "download_failed":
        return (f"To fix this, either\n"
                f"  * check that this machine can reach {url} and run again; or\n"
                f"  * on a machine that can, {get}.")
    return (f"To fix this, either\n"
            f"  * {get}; or\n"
            f"  * allow gradcomp to download it into the cache with data.download=true.")


class DataError(Exception):
    """Base class of every data-related error raised by :mod:`gradcomp.data`."""


class DatasetMissingError(DataError):
    """A dataset file could not be found (or fetched) in any allowed place."""

    @classmethod
    def for_dataset(
        cls,
        name: str,
        *,
        filename: str,
        url: str,
        looked_in: list[str],
        reason: str | None = None,
        situation: str = "no_download",
    ) -> DatasetMissingError:
        """Build the error with an actionable message.

        Parameters
        ----------
        name : str
            Dataset name as used in the configuration (e.g. ``"a9a"``).
        filename : str
            Expected file name inside a mirror or cache directory.
        url : str
            Official download URL of the file.
        looked_in : list of str
            Paths that were checked, in order, for the user's benefit.
        reason : str, optional
            Extra first-line detail (e.g. why a download failed).
        situation : str
            Which place failed, for the advice: ``mirror``, ``no_download`` or
            ``download_failed``.
        """
        head = reason or f"Dataset {name!r} (file {filename!r}) was not found."
        where = "".join(f"\n  - {p}" for p in looked_in) or "\n  (nowhere)"
        return cls(f"{head}\nLooked in:{where}\n{_how_to_provide(filename, url, situation)}")


class ChecksumMismatchError(DataError):
    """A dataset file exists but its SHA-256 differs from the expected one."""

    @classmethod
    def for_file(
        cls,
        path: str | os.PathLike[str],
        *,
        expected: str,
        actual: str,
        advice: str,
    ) -> ChecksumMismatchError:
        """Build the error with both hashes, the path and what to do.

        Parameters
        ----------
        path : path-like
            The offending file.
        expected, actual : str
            Hex SHA-256 digests (expected from the configuration, actual of the file).
        advice : str
            What the user should do next (delete the file, fix the mirror, ...).
        """
        return cls(
            f"SHA-256 mismatch for {os.fspath(path)}\n"
            f"  expected: {expected}\n"
            f"  actual:   {actual}\n"
            f"{advice}"
        )


class MalformedFileError(DataError):
    """A data file does not follow the expected (LIBSVM/svmlight) text format."""
