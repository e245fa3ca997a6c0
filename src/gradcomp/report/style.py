"""One plotting style and byte-deterministic saving (no dates, fixed hash salt)."""

from __future__ import annotations

import io as _io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

from ..pipeline import io  # noqa: E402

RC = {
    "svg.hashsalt": "gradcomp",
    "svg.fonttype": "path",
    "pdf.fonttype": 42,
    "font.family": "DejaVu Sans",
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
}
_METADATA = {"png": {"Software": None}, "pdf": {"CreationDate": None, "ModDate": None, "Producer": None,
                                              "Creator": None},
             "svg": {"Date": None, "Creator": None}}


def apply() -> None:
    sns.set_theme(context="paper", style="whitegrid", palette="colorblind")
    plt.rcParams.update(RC)


def save(fig, path: str | Path) -> None:
    path = Path(path)
    fmt = path.suffix.lstrip(".")
    buf = _io.BytesIO()
    fig.savefig(buf, format=fmt, metadata=_METADATA.get(fmt), bbox_inches="tight")
    io.write_bytes(path, buf.getvalue())
