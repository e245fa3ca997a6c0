"""Atomic writes: a killed job never leaves a half-written output behind."""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path

import numpy as np


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: the mode an ordinary ``open(path, "w")`` would give (mkstemp's own is 0600)
_FILE_MODE = 0o666 & ~_umask()


def write_bytes(path: str | Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_text(path: str | Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def canonical_json(obj) -> str:
    """Sorted keys, no whitespace variation, repr-exact floats: the hashed form."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def write_json(path: str | Path, obj, indent: int | None = 2) -> None:
    write_text(path, json.dumps(obj, sort_keys=True, indent=indent) + "\n")


def read_json(path: str | Path):
    return json.loads(Path(path).read_text())


def savez(path: str | Path, **arrays: np.ndarray) -> None:
    """``np.savez_compressed`` to a temporary file, then rename (bytes are deterministic)."""
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    write_bytes(path, buf.getvalue())


def loadz(path: str | Path) -> dict:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}
