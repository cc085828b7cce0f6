"""Line items from page tables: header cells are matched to description/quantity/unit price/
amount; rows of tables on later pages are stitched on (repeated header rows dropped)."""

from __future__ import annotations

from rapidfuzz import fuzz, process

from docproc.document import LineItem, Page, Table, union_bbox
from docproc.normalize import find_amounts

HEADER_WORDS = {
    "description": ["description", "item", "items", "product", "service", "details", "article", "particulars",
                    "beschreibung", "bezeichnung", "artikel", "leistung", "designation", "procedures", "name"],
    "quantity": ["qty", "quantity", "menge", "anzahl", "units", "hours", "qté", "days or units", "pcs"],
    "unit_price": ["unit price", "price", "rate", "unit cost", "einzelpreis", "preis", "prix unitaire", "u/price"],
    "amount": ["amount", "total", "line total", "betrag", "gesamt", "summe", "charges", "ext price", "montant",
               "net amount", "gesamtpreis"],
}
_CHOICES = [(col, w) for col, words in HEADER_WORDS.items() for w in words]


def header_map(cells: list[str]) -> dict[int, str]:
    """Column index -> item attribute, from a header row's texts."""
    scored = []
    for i, text in enumerate(cells):
        t = text.strip().lower()
        if not t:
            continue
        hit = process.extractOne(t, [w for _, w in _CHOICES], scorer=fuzz.WRatio, score_cutoff=86)
        if hit:
            scored.append((hit[1], i, _CHOICES[hit[2]][0]))
    out: dict[int, str] = {}
    for _, i, col in sorted(scored, reverse=True):
        if col not in out.values() and i not in out:
            out[i] = col
    return out


def _rows(table: Table) -> list[list[str]]:
    grid = [["" for _ in range(table.n_cols)] for _ in range(table.n_rows)]
    for c in table.cells:
        if 0 <= c.row < table.n_rows and 0 <= c.col < table.n_cols:
            grid[c.row][c.col] = (grid[c.row][c.col] + " " + c.text).strip()
    return grid


def read_line_items(pages: list[Page]) -> list[LineItem]:
    items: list[LineItem] = []
    mapping: dict[int, str] | None = None
    header_texts: list[str] | None = None
    for page in pages:
        for region in sorted(page.regions, key=lambda r: r.order):
            table = region.table
            if table is None or table.n_rows == 0:
                continue
            rows = _rows(table)
            first = 0
            found = header_map(rows[0])
            if len(found) >= 2 and ("amount" in found.values() or "description" in found.values()):
                mapping, header_texts, first = found, rows[0], 1
            elif mapping is None or max(mapping) >= table.n_cols:
                continue  # no header seen yet: not a line-item table
            for r in range(first, table.n_rows):
                row = rows[r]
                if header_texts is not None and [x.lower() for x in row] == [x.lower() for x in header_texts]:
                    continue  # header repeated on a continuation page
                item = {col: row[i] or None for i, col in mapping.items() if i < len(row)}
                if not item.get("amount") and not item.get("unit_price"):
                    continue
                if item.get("amount") and not find_amounts(item["amount"]):
                    continue
                boxes = [c.bbox for c in table.cells if c.row == r]
                extra = {
                    (header_texts[i] if header_texts and i < len(header_texts) and header_texts[i] else f"col{i}"): v
                    for i, v in enumerate(row) if i not in mapping and v
                }
                items.append(LineItem(**item, page=page.number, bbox=union_bbox(boxes) if boxes else None, extra=extra))
    return items
