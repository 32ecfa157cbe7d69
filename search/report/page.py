"""`index.html` of a report: one self-contained page (images inlined as data: URIs, no scripts,
no external requests) that reads top to bottom: summary in words, results, figures, leaderboard."""
import base64
import html
import json
from pathlib import Path

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;font-size:.85em;margin:1em 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}img{max-width:100%;display:block;margin:.5em 0}
.summary{background:#f6f8fa;border-left:4px solid #0969da;padding:.6em 1em}.note{color:#666;font-size:.85em}
pre{background:#f6f8fa;padding:1em;overflow:auto;font-size:.8em}figure{margin:1em 0}.wide{overflow-x:auto;max-width:100%}p{overflow-wrap:anywhere}figcaption{font-size:.85em;color:#444}
"""


def esc(value) -> str:
    return html.escape("" if value is None else str(value))


def image(path: Path, caption: str) -> str:
    """A figure with the PNG inlined, so the page needs nothing beside it."""
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return (f'<figure><img alt="{esc(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{esc(caption)}</figcaption></figure>")


def table(header: list[str], rows: list[list], highlight: int | None = None) -> str:
    """An HTML table; the row at index `highlight` (the best model) in bold."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{'<b>' if i == highlight else ''}{esc(c)}{'</b>' if i == highlight else ''}</td>"
                         for c in row) + "</tr>"
        for i, row in enumerate(rows))
    return f'<div class="wide"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def page(title: str, sections: list[tuple[str, str]], summary: str = "", note: str = "") -> str:
    parts = [f"<h1>{esc(title)}</h1>"]
    if summary:
        parts.append(f'<p class="summary">{esc(summary)}</p>')
    if note:
        parts.append(f'<p class="note">{esc(note)}</p>')
    parts += [f"<h2>{esc(heading)}</h2>\n{body}" for heading, body in sections]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>\n" + "\n".join(parts) +
            "\n</body></html>\n")


def config_block(config: dict) -> str:
    return f"<pre>{esc(json.dumps(config, indent=2))}</pre>"


def write_index(folder: Path, title: str, summary: str, note: str, sections: list[tuple[str, str]]) -> None:
    (folder / "index.html").write_text(page(title, sections, summary=summary, note=note))


def figures_html(folder: Path, figs: list[tuple[str, str]]) -> str:
    return "\n".join(image(folder / f, caption) for f, caption in figs)


def left_out_list(items: list[dict]) -> str:
    """The figures a report could not draw, each with its reason."""
    rows = "".join(f"<li><code>{esc(i['figure'])}</code>: {esc(i['reason'])}</li>" for i in items)
    return f"<p>These figures could not be drawn; the rest of the report is complete.</p><ul>{rows}</ul>"
