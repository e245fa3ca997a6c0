"""A figure's caption lives beside its image: ``<id>_caption.md`` and ``<id>_caption.tex``.

The image itself carries one provenance line naming the caption file, so that it can go
into a paper or slides as it is; ``report.embed_caption`` (conf/config.yaml) draws the
whole caption under the plot instead. Nothing drawn changes from one commit to the next
(no hash, date or timing): re-aggregating the same runs gives the same bytes.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from ..pipeline import io

_TEX = {"\\": r"\textbackslash{}", "_": r"\_", "%": r"\%", "&": r"\&", "^": r"\^{}", "{": r"\{", "}": r"\}",
        "#": r"\#", "$": r"\$", "~": r"\textasciitilde{}"}


def tex_escape(s: str) -> str:
    return "".join(_TEX.get(ch, ch) for ch in s)


def _tex_text(s: str) -> str:
    """Escaped text, ``**bold**`` as ``\\textbf``."""
    parts = s.split("**")
    return "".join(rf"\textbf{{{tex_escape(p)}}}" if i % 2 else tex_escape(p) for i, p in enumerate(parts))


def _table_rows(lines: list[str]) -> str:
    """A Markdown table as text: ``first cell (header value, ...)`` per row (a LaTeX caption
    holds no table)."""
    cells = [[c.strip() for c in ln.strip().strip("|").split("|")] for ln in lines]
    head, rows = cells[0], cells[2:]
    return "; ".join(f"{r[0]} (" + ", ".join(f"{h} {v}" for h, v in zip(head[1:], r[1:])) + ")" for r in rows) + "."


def latex_caption(md: str, label: str) -> str:
    """``\\caption{...}`` and ``\\label{fig:<label>}`` of a Markdown caption, as one paragraph
    (a blank line would end LaTeX's caption argument)."""
    paras = []
    for block in md.strip().split("\n\n"):
        lines = block.strip().splitlines()
        text = _table_rows(lines) if lines[0].lstrip().startswith("|") else " ".join(lines)
        paras.append(_tex_text(text))
    return f"\\caption{{{' '.join(paras)}}}\n\\label{{fig:{label.replace('/', '-')}}}\n"


def write_captions(doc: dict, md: str) -> None:
    """The caption as Markdown and as LaTeX."""
    outs = doc["outputs"]
    io.write_text(outs["caption"], md)
    io.write_text(outs["caption_tex"], latex_caption(md, doc["spec"]["id"]))


def draw_caption(fig, doc: dict, text: str, width: int) -> None:
    """Under everything drawn so far (call it after ``tight_layout``): the caption ``text``
    wrapped at ``width`` characters if ``report.embed_caption``, else one grey provenance line.
    A doc without ``report`` (one built outside the plan) gets the line."""
    if (doc.get("report") or {}).get("embed_caption"):
        body = "\n".join(textwrap.wrap(" ".join(text.replace("**", "").split()), width))
        look = {"fontsize": 7}
    else:
        body = (f"gradcomp \u00b7 {doc['spec']['id']} \u00b7 scale={doc['scale']['name']} \u00b7 "
                f"full caption: {Path(doc['outputs']['caption']).name}")
        look = {"fontsize": 6.5, "color": "0.45"}
    # the tight box of the figure (legends and labels outside the axes included), in inches
    box = fig.get_tightbbox(fig.canvas.get_renderer())
    w, h = fig.get_size_inches()
    fig.text(box.x0 / w, (box.y0 - 0.08) / h, body, ha="left", va="top", **look)
