"""Locate a dataset file on disk, or download it, and verify its SHA-256.

The lookup order is fixed and explicit (see :func:`resolve_dataset`) so that a
run never silently mixes a mirror copy with a cached or downloaded one.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from .errors import ChecksumMismatchError, DatasetMissingError

__all__ = ["sha256_file", "resolve_dataset"]

_CHUNK = 1 << 20  # 1 MiB: bounded memory whatever the file size
_DOWNLOAD_TIMEOUT_S = 60
_SHA256_RE = re.compile(r"[0-9a-f]{64}")

# (resolved path, size, mtime_ns) -> hex digest. Keyed on size and mtime so that
# a file replaced or edited in place is re-hashed, while repeated lookups of an
# unchanged file within one process cost a single stat().
_DIGEST_MEMO: dict[tuple[str, int, int], str] = {}


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Return the hex SHA-256 digest of a file, read in 1 MiB chunks.

    Parameters
    ----------
    path : path-like
        File to hash.

    Returns
    -------
    str
        Lower-case hexadecimal digest (64 characters).
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _memo_sha256(path: Path) -> str:
    """:func:`sha256_file`, memoized per (resolved path, size, mtime) in this process."""
    resolved = path.resolve()
    st = resolved.stat()
    key = (str(resolved), st.st_size, st.st_mtime_ns)
    digest = _DIGEST_MEMO.get(key)
    if digest is None:
        digest = sha256_file(resolved)
        _DIGEST_MEMO[key] = digest
    return digest


def _validate_filename(filename: str) -> None:
    # The file name is joined onto user directories; a path separator or ".."
    # would let a config escape the mirror/cache directory.
    if (
        not filename
        or filename in (".", "..")
        or "/" in filename
        or (os.sep != "/" and os.sep in filename)
        or (os.altsep is not None and os.altsep in filename)
    ):
        raise ValueError(f"filename must be a plain file name, got {filename!r}")


def resolve_dataset(
    name: str,
    *,
    filename: str,
    url: str,
    sha256: str,
    mirror: str | os.PathLike[str] | None,
    cache_dir: str | os.PathLike[str],
    download: bool,
) -> Path:
    """Return the path of a verified local copy of a dataset file.

    The places are tried in this order:

    1. ``mirror`` (a directory), if given: ``mirror/filename`` must exist and
       match ``sha256``; nothing else is tried, so a wrong mirror is an error
       rather than a silent fall-back.
    2. ``cache_dir/filename``, if it exists; it must match ``sha256``.
    3. If ``download`` is true, ``url`` is downloaded into ``cache_dir`` (one
       line is printed to stderr). The file is written under a temporary name,
       verified, then renamed into place atomically, so an interrupted download
       never leaves a partial file under the final name.
    4. Otherwise :class:`DatasetMissingError` is raised.

    Checksums are memoized per (resolved path, size, mtime) within the process,
    so repeated calls for an unchanged file are cheap.

    Parameters
    ----------
    name : str
        Dataset name, used in messages only.
    filename : str
        File name inside ``mirror`` and ``cache_dir`` (no directory part).
    url : str
        Official URL of the file; ``file://`` URLs work too.
    sha256 : str
        Expected hex SHA-256 digest of the file (case-insensitive).
    mirror : path-like or None
        Directory holding a local copy of the files. ``None`` or ``""`` means
        no mirror (an unset environment variable often arrives as ``""``).
    cache_dir : path-like
        Download cache directory; created on download if needed.
    download : bool
        Whether a download from ``url`` is allowed.

    Returns
    -------
    pathlib.Path
        Path of the verified file.

    Raises
    ------
    DatasetMissingError
        If the file is not in the mirror, or nowhere and downloading is not
        allowed, or the download fails.
    ChecksumMismatchError
        If a file is found (or downloaded) but its SHA-256 differs.
    ValueError
        If ``filename`` or ``sha256`` is malformed.
    """
    _validate_filename(filename)
    expected = str(sha256).strip().lower()
    if not _SHA256_RE.fullmatch(expected):
        raise ValueError(f"sha256 for dataset {name!r} must be 64 hex digits, got {sha256!r}")

    if mirror is not None and os.fspath(mirror) != "":
        return _from_mirror(name, filename, url, expected, Path(mirror).expanduser())

    cache = Path(cache_dir).expanduser()
    cached = cache / filename
    if cached.is_file():
        actual = _memo_sha256(cached)
        if actual != expected:
            raise ChecksumMismatchError.for_file(
                cached,
                expected=expected,
                actual=actual,
                advice=(
                    f"The cached copy of dataset {name!r} is corrupt or outdated. "
                    f"Delete {cached} and run again to re-download it from {url}."
                ),
            )
        return cached

    if download:
        return _download(name, filename, url, expected, cache)

    raise DatasetMissingError.for_dataset(
        name,
        filename=filename,
        url=url,
        looked_in=[f"{cached} (download cache; downloading is disabled: data.download=false)"],
    )


def _from_mirror(name: str, filename: str, url: str, expected: str, mirror: Path) -> Path:
    path = mirror / filename
    if not path.is_file():
        reason = (
            f"Dataset {name!r}: the mirror directory {mirror} does not exist."
            if not mirror.is_dir()
            else f"Dataset {name!r}: file {filename!r} is not in the mirror directory {mirror}."
        )
        raise DatasetMissingError.for_dataset(
            name, filename=filename, url=url, looked_in=[str(path)], reason=reason, situation="mirror"
        )
    actual = _memo_sha256(path)
    if actual != expected:
        raise ChecksumMismatchError.for_file(
            path,
            expected=expected,
            actual=actual,
            advice=(
                f"The mirror copy of dataset {name!r} is not the expected file. Replace it "
                f"with the official file from {url} (uncompressed), or unset the mirror."
            ),
        )
    return path


def _download(name: str, filename: str, url: str, expected: str, cache: Path) -> Path:
    target = cache / filename
    cache.mkdir(parents=True, exist_ok=True)
    print(f"gradcomp: downloading dataset {name!r} from {url} to {target}", file=sys.stderr)

    # A dot-prefixed temp name in the same directory: os.replace is then an
    # atomic rename, and a killed download never sits under the final name.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{filename}.", suffix=".part", dir=cache)
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(
                url, timeout=_DOWNLOAD_TIMEOUT_S
            ) as resp:
                while chunk := resp.read(_CHUNK):
                    h.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise DatasetMissingError.for_dataset(
                name,
                filename=filename,
                url=url,
                looked_in=[str(target)],
                reason=f"Dataset {name!r}: downloading {url} failed: {exc}",
                situation="download_failed",
            ) from exc
        actual = h.hexdigest()
        if actual != expected:
            raise ChecksumMismatchError.for_file(
                url,
                expected=expected,
                actual=actual,
                advice=(
                    f"The file downloaded for dataset {name!r} is not the expected one and "
                    f"was discarded. Check the URL and sha256 in the dataset config, or "
                    f"provide a verified copy through data.mirror."
                ),
            )
        os.replace(tmp, target)
    except BaseException:
        # Includes KeyboardInterrupt: leave nothing half-written behind.
        tmp.unlink(missing_ok=True)
        raise
    resolved = target.resolve()
    st = resolved.stat()
    _DIGEST_MEMO[(str(resolved), st.st_size, st.st_mtime_ns)] = actual
    return target
