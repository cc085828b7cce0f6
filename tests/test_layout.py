"""Layout on synthetic pages (words placed programmatically) and one real-model run."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw, ImageFont

from docproc.document import Page, Word
from docproc.layout import analyze_page, group_lines, xy_cut_order
from docproc.options import LayoutOptions

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def _words(spec: list[tuple[str, float, float]], h: float = 0.012, cw: float = 0.008, segment=None) -> list[Word]:
    """Words from (text, x0, y0); width from the character count."""
    return [Word(text=t, bbox=(x, y, x + cw * len(t), y + h), segment=segment) for t, x, y in spec]


def _page(words: list[Word]) -> Page:
    return Page(number=1, width=1000, height=1400, text_source="pdf_text", words=words)


def test_lines_split_label_and_value_far_apart():
    words = _words([("Invoice", 0.1, 0.1), ("No:", 0.17, 0.1), ("INV-42", 0.7, 0.1), ("Total", 0.1, 0.2)])
    lines = group_lines(words)
    assert [ln.text for ln in lines] == ["Invoice No:", "INV-42", "Total"]


def test_lines_keep_ocr_segments_and_split_them_at_gaps():
    seg0 = _words([("Date:", 0.1, 0.1), ("12/03/2024", 0.6, 0.1)], segment=0)
    seg1 = _words([("Cashier", 0.1, 0.102), ("Ann", 0.17, 0.102)], segment=1)  # same row, other box
    lines = group_lines(seg0 + seg1)
    texts = sorted(ln.text for ln in lines)
    assert texts == ["12/03/2024", "Cashier Ann", "Date:"]


def test_two_columns_read_column_by_column():
    spec = [("Title", 0.4, 0.05)]
    for r in range(6):
        y = 0.15 + r * 0.02
        spec += [(f"left{r}", 0.1, y), ("aaaa", 0.145, y), (f"right{r}", 0.55, y), ("bbbb", 0.6, y)]
    page = analyze_page(_page(_words(spec)), None, LayoutOptions(kind="geometry"))
    text = page.text.split("\n")
    assert text[0] == "Title"
    lefts = [i for i, t in enumerate(text) if t.startswith("left")]
    rights = [i for i, t in enumerate(text) if t.startswith("right")]
    assert len(lefts) == len(rights) == 6
    assert max(lefts) < min(rights)  # the whole left column before the right one


def test_xy_cut_rows_before_columns_for_forms():
    boxes = [(0.1, 0.1, 0.2, 0.12), (0.6, 0.1, 0.7, 0.12), (0.1, 0.2, 0.2, 0.22), (0.6, 0.2, 0.7, 0.22)]
    assert xy_cut_order(boxes) == [0, 1, 2, 3]


def test_table_grid_from_aligned_line_items():
    spec = [("Description", 0.1, 0.30), ("Qty", 0.5, 0.30), ("Price", 0.62, 0.30), ("Amount", 0.78, 0.30)]
    items = [("Widget", "2", "5.00", "10.00"), ("Gadget", "1", "12.50", "12.50"), ("Cable", "3", "1.20", "3.60")]
    for r, (d, q, p, a) in enumerate(items):
        y = 0.33 + 0.03 * r
        spec += [(d, 0.1, y), (q, 0.51, y), (p, 0.63, y), (a, 0.79, y)]
    spec += [("Thank", 0.1, 0.6), ("you", 0.16, 0.6)]
    page = analyze_page(_page(_words(spec)), None, LayoutOptions(kind="geometry"))
    tables = [r for r in page.regions if r.table is not None]
    assert len(tables) == 1
    t = tables[0].table
    assert (t.n_rows, t.n_cols) == (4, 4)
    assert t.has_header
    grid = {(c.row, c.col): c.text for c in t.cells}
    assert grid[(0, 0)] == "Description" and grid[(2, 1)] == "1" and grid[(3, 3)] == "3.60"
    assert len(t.col_edges) == 5 and t.col_edges == sorted(t.col_edges)
    # Every line sits in exactly one region.
    held = sorted(i for r in page.regions for i in r.lines)
    assert held == list(range(len(page.lines)))


def test_many_words_stay_fast():
    import time

    spec = [(f"w{i % 7}", 0.05 + 0.1 * (i % 9), 0.01 + 0.0011 * (i // 9)) for i in range(8000)]
    t0 = time.perf_counter()
    page = analyze_page(_page(_words(spec, h=0.001, cw=0.004)), None, LayoutOptions(kind="geometry"))
    assert page.lines and time.perf_counter() - t0 < 10


def _invoice_image() -> Image.Image:
    font = ImageFont.truetype(FONT, 26)
    big = ImageFont.truetype(FONT, 48)
    img = Image.new("RGB", (1240, 1754), "white")
    d = ImageDraw.Draw(img)
    d.text((100, 80), "INVOICE", font=big, fill="black")
    d.text((100, 180), "Invoice number: INV-2024-0042", font=font, fill="black")
    d.text((100, 225), "Date: 12 March 2024", font=font, fill="black")
    cols = [100, 640, 800, 1000]
    rows = [("Description", "Qty", "Price", "Amount"), ("Consulting services", "10", "95.00", "950.00"),
            ("Travel expenses", "1", "120.00", "120.00"), ("Software licence", "2", "49.50", "99.00")]
    for r, row in enumerate(rows):
        for x, cell in zip(cols, row):
            d.text((x, 400 + 60 * r), cell, font=font, fill="black")
    d.text((800, 700), "Total: 1169.00", font=font, fill="black")
    return img


@pytest.mark.timeout(300)
def test_real_model_on_generated_invoice():
    from docproc.ocr import ocr_page
    from docproc.options import Limits, OcrOptions

    img = _invoice_image()
    read = ocr_page(img, OcrOptions(), Limits())
    page = Page(number=1, width=img.width, height=img.height, text_source="ocr", words=read.words)
    page = analyze_page(page, img, LayoutOptions())
    assert any(r.source == "picodet" for r in page.regions)
    held = sorted(i for r in page.regions for i in r.lines)
    assert held == list(range(len(page.lines)))
    tables = [r.table for r in page.regions if r.table is not None]
    assert tables, "the line items should come out as a table"
    t = max(tables, key=lambda t: t.n_rows)
    assert t.n_cols >= 4 and t.n_rows >= 4
    cells = {c.text for c in t.cells}
    assert {"950.00", "120.00", "99.00"} <= cells
    text = page.text
    assert text.index("INVOICE") < text.index("Consulting") < text.index("Total")
