"""The HTML of planner's reports: the page (full width on screen, A4 when printed), tables
formatted by column kind (`planner.results.columns`), folded sections. Every piece of user
text is escaped; nothing is loaded from the network.
"""

from __future__ import annotations

import html

import pandas as pd

from planner.results.columns import ColumnFormat
from planner.results.folder import unneutralise
from planner.results.ownership import GENERATOR

STYLE = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.2em 2em;color:#222;line-height:1.35}
h1{font-size:1.55em;margin:.2em 0 .6em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.88em;margin:.5em 0;max-width:100%}
th,td{padding:.22em .55em;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
th{background:#f6f6f6;font-weight:600;overflow-wrap:anywhere}
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}th.num{text-align:right}
td.text{overflow-wrap:anywhere}
tr.binding td{background:#fdecea;font-weight:600}tr.near td{background:#fef5e7}
tr.no-plan td{color:#922}
.figures td:first-child{font-weight:600;padding-right:2em}
.note{color:#666;font-size:.88em}
figure{margin:.4em 0}svg{width:100%;height:auto;display:block}
details summary{cursor:pointer;color:#2e86c1;margin:.4em 0}
.columns{display:flex;flex-wrap:wrap;gap:0 3em}
@media (max-width:900px){body{margin:.8em}table{font-size:.74em}th,td{padding:.15em .3em}}
@page{size:A4;margin:12mm}
@media print{body{margin:0;font-size:9pt}table{font-size:.8em}th,td{padding:.12em .3em}
h2{break-after:avoid}figure,tr{break-inside:avoid}
details{display:block}details>summary{display:none}}
"""


def page(title: str, sections: list[str]) -> str:
    """A whole HTML page; `title` is plain text."""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="generator" content="{GENERATOR}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>\n"
            + "\n".join(sections) + "\n</body></html>\n")


def table(frame: pd.DataFrame, table_id: str, currency: str = "", unit: str = "",
          row_classes: list[str] | None = None) -> str:
    """`frame` as an HTML table, each column formatted by its kind."""
    formats = [ColumnFormat(c, frame[c].tolist(), currency, unit) for c in frame.columns]
    head = "".join(f'<th class="{"num" if f.numeric else "text"}">{html.escape(f.header)}</th>' for f in formats)
    rows = []
    for i, record in enumerate(frame.itertuples(index=False)):
        cells = "".join(f.cell(unneutralise(v.item() if hasattr(v, "item") else v)) for f, v in zip(formats, record))
        cls = f' class="{row_classes[i]}"' if row_classes and row_classes[i] else ""
        rows.append(f"<tr{cls}>{cells}</tr>")
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def figures_table(rows: list[tuple[str, str]], table_id: str) -> str:
    """A two-column table of named figures, already formatted (plain text)."""
    body = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f'<table class="figures" id="{table_id}">{body}</table>'


def section(section_id: str, title: str, *parts: str) -> str:
    return f'<section id="{section_id}"><h2>{html.escape(title)}</h2>{"".join(parts)}</section>'


def folded(summary: str, content: str, details_id: str) -> str:
    """Content shown on demand (and always when printed)."""
    return f'<details id="{details_id}"><summary>{html.escape(summary)}</summary>{content}</details>'


def note(text: str, element_id: str | None = None) -> str:
    ident = f' id="{element_id}"' if element_id else ""
    return f'<p class="note"{ident}>{html.escape(text)}</p>'
