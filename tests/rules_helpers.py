"""Hand-built Documents for reader tests: text placed at positions, split into words with boxes."""

from __future__ import annotations

from docproc.document import Document, Line, Page, Region, SourceInfo, Table, TableCell, Word, union_bbox

CHAR_W = 0.008  # page-relative width of one character
LINE_H = 0.015


def source(pages: int = 1) -> SourceInfo:
    return SourceInfo(path="mem.pdf", kind="pdf", mime="application/pdf", sha256="0" * 64, size=1, page_count=pages)


def page(number: int, placed: list[tuple[float, float, str]], tables: list[Table] | None = None,
         height: float = LINE_H) -> Page:
    """`placed`: (x, y, text) per line; every line becomes words, one Line and one text Region."""
    p = Page(number=number, width=1000, height=1400, text_source="pdf_text")
    for x, y, text in placed:
        idxs = []
        cx = x
        for w in text.split(" "):
            if w:
                p.words.append(Word(text=w, bbox=(cx, y, cx + CHAR_W * len(w), y + height), source="pdf_text"))
                idxs.append(len(p.words) - 1)
            cx += CHAR_W * (len(w) + 1)
        boxes = [p.words[i].bbox for i in idxs]
        p.lines.append(Line(text=" ".join(p.words[i].text for i in idxs), bbox=union_bbox(boxes), words=idxs))
    p.regions.append(Region(kind="text", bbox=(0, 0, 1, 1), lines=list(range(len(p.lines)))))
    for k, t in enumerate(tables or []):
        box = union_bbox([c.bbox for c in t.cells])
        p.regions.append(Region(kind="table", bbox=box, table=t, order=k + 1))
    return p


def table(rows: list[list[str]], y0: float = 0.5, has_header: bool = True) -> Table:
    cells = []
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            x = 0.05 + 0.22 * c
            y = y0 + 0.02 * r
            cells.append(TableCell(row=r, col=c, text=text, bbox=(x, y, x + 0.2, y + LINE_H)))
    return Table(n_rows=len(rows), n_cols=len(rows[0]), cells=cells, has_header=has_header)


def document(*pages: Page) -> Document:
    return Document(source=source(len(pages)), pages=list(pages))
