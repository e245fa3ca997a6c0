"""``figures/<paper>/MANIFEST``: the sha256 of every committed artifact."""

from __future__ import annotations

from pathlib import Path

from ..data.fetch import sha256_file
from ..pipeline import io


def write_manifest(root: str, files: list[str], out: str) -> None:
    rootp = Path(root)
    lines = [f"{sha256_file(f)}  {Path(f).relative_to(rootp).as_posix()}" for f in sorted(set(files))]
    io.write_text(out, "\n".join(lines) + "\n")


def check_manifest(manifest: str) -> list[str]:
    """Artifacts whose bytes differ from the manifest (or are missing)."""
    base = Path(manifest).parent.parent
    changed = []
    for line in Path(manifest).read_text().splitlines():
        digest, name = line.split("  ", 1)
        p = base / name
        if not p.exists() or sha256_file(p) != digest:
            changed.append(name)
    return changed
