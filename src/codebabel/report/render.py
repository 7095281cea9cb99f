"""The report's page: sections of text, tables and figures, written as static HTML (one file, its style inline,
no script, nothing fetched from elsewhere) and as Markdown with the same content."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    caption: str = ""


@dataclass
class Image:
    """A saved figure: ``files`` are paths relative to the page (``figures/<name>.png``, ``.svg``)."""

    name: str
    title: str
    caption: str
    files: list[str]

    @property
    def src(self) -> str:
        """The file the page shows: the PNG where there is one."""
        return next((f for f in self.files if f.endswith(".png")), self.files[0])


@dataclass
class Text:
    text: str


@dataclass
class Section:
    title: str
    blocks: list[Table | Image | Text] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return "".join(c if c.isalnum() else "-" for c in self.title.lower()).strip("-")


CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1200px;
       padding: 0 1rem; color: #1d1d1f; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
.meta { color: #666; font-size: .85rem; } nav a { margin-right: 1rem; }
table { border-collapse: collapse; margin: .8rem 0 1.4rem; font-size: .85rem; display: block; overflow-x: auto; }
th, td { border: 1px solid #ddd; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f4f4f6; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; color: #555; padding-bottom: .3rem; }
figure { margin: 1rem 0 1.6rem; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: .85rem; } code { font-size: .85em; }
"""


#: a cell that is a number: 1,234 / 0.500 / 56.7% / +3.1 pp / 56.7% (93/164) / 93 (57%) / ... partial
_NUMBER = re.compile(r"^[+\-−]?\d[\d,]*(\.\d+)?(%| pp)?( \(\d+/\d+\)| \([\d.]+%\))?( partial)?$")


def _is_number(cell: str) -> bool:
    return bool(_NUMBER.match(cell.strip()))


def to_html(title: str, meta: list[str], sections: list[Section]) -> str:
    e = html.escape
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">', f"<title>{e(title)}</title>",
           f"<style>{CSS}</style>", "</head>", "<body>", f"<h1>{e(title)}</h1>"]
    out += [f'<p class="meta">{e(m)}</p>' for m in meta]
    out.append("<nav>" + "".join(f'<a href="#{s.anchor}">{e(s.title)}</a>' for s in sections) + "</nav>")
    for s in sections:
        out.append(f'<section id="{s.anchor}">')
        out.append(f"<h2>{e(s.title)}</h2>")
        for b in s.blocks:
            if isinstance(b, Text):
                out.append(f"<p>{e(b.text)}</p>")
            elif isinstance(b, Table):
                out.append("<table>")
                if b.caption:
                    out.append(f"<caption>{e(b.caption)}</caption>")
                out.append("<thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in b.headers) + "</tr></thead>")
                out.append("<tbody>")
                for row in b.rows:
                    out.append("<tr>" + "".join(
                        f'<td class="num">{e(c)}</td>' if i and _is_number(c) else f"<td>{e(c)}</td>"
                        for i, c in enumerate(row)) + "</tr>")
                out.append("</tbody></table>")
            elif isinstance(b, Image):
                links = " ".join(f'<a href="{e(f)}">{e(f.rsplit(".", 1)[1].upper())}</a>' for f in b.files)
                out.append(f'<figure id="fig-{e(b.name)}"><img src="{e(b.src)}" alt="{e(b.title)}">'
                           f"<figcaption><b>{e(b.title)}.</b> {e(b.caption)} {links}</figcaption></figure>")
        out.append("</section>")
    out += ["</body>", "</html>", ""]
    return "\n".join(out)


def _md_cell(cell: str) -> str:
    return cell.replace("|", "\\|").replace("\n", " ")


def to_markdown(title: str, meta: list[str], sections: list[Section]) -> str:
    out = [f"# {title}", ""]
    out += [f"{m}  " for m in meta]
    out.append("")
    for s in sections:
        out += [f"## {s.title}", ""]
        for b in s.blocks:
            if isinstance(b, Text):
                out += [b.text, ""]
            elif isinstance(b, Table):
                if b.caption:
                    out += [b.caption, ""]
                out.append("| " + " | ".join(_md_cell(h) for h in b.headers) + " |")
                out.append("|" + "|".join("---:" if i and b.rows and all(_is_number(r[i]) or r[i] == "-"
                                                                          for r in b.rows) else "---"
                                          for i in range(len(b.headers))) + "|")
                out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in b.rows]
                out.append("")
            elif isinstance(b, Image):
                others = ", ".join(f"[{f.rsplit('.', 1)[1].upper()}]({f})" for f in b.files if f != b.src)
                out += [f"![{b.title}]({b.src})", "", f"*{b.title}.* {b.caption}" + (f" ({others})" if others else ""),
                        ""]
    return "\n".join(out).rstrip() + "\n"
