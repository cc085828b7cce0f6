"""Ruled lines of a scanned page (docproc.ocr.rulings) and what they tell the form-link model
(docproc.readers.rules.form_rulings), on drawn pages; the pipeline's OCR stage with the real
PP-OCR engine keeps them on the page."""

from __future__ import annotations

import math

from PIL import Image, ImageDraw, ImageFont

from docproc import deskew
from docproc.document import Ruling, Word
from docproc.ocr import ocr_page
from docproc.ocr.rulings import find_rulings
from docproc.options import Limits, OcrOptions
from docproc.readers.rules import form_links, form_rulings, forms
from tests.rules_helpers import document, page

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
W, H = 800, 1000
LINE = 20  # px: the text line height the words give


def _words(*rows: tuple[int, int]) -> list[Word]:
    """Word boxes LINE px tall (the rules are measured in text lines)."""
    return [Word(text="word", bbox=(x / W, y / H, (x + 60) / W, (y + LINE) / H)) for x, y in rows]


def _px(r: Ruling) -> tuple[float, ...]:
    return (r.bbox[0] * W, r.bbox[1] * H, r.bbox[2] * W, r.bbox[3] * H)


def test_thin_long_lines_are_rules_and_blocks_dashes_and_letters_are_not():
    img = Image.new("L", (W, H), 255)
    d = ImageDraw.Draw(img)
    d.line([100, 200, 500, 200], fill=0, width=1)  # an answer line, one pixel thin
    d.line([600, 100, 600, 160], fill=0, width=2)  # a box border three lines tall
    d.rectangle([100, 400, 500, 430], fill=0)  # a solid bar: thicker than half a line
    d.line([100, 500, 140, 500], fill=0, width=1)  # a dash two lines long
    d.text((100, 600), "Illustrated lllllllllll", font=ImageFont.truetype(FONT, 18), fill=0)
    for x in range(100, 500, 80):  # a rule the scan broke into pieces a line apart
        d.line([x, 700, x + 60, 700], fill=0, width=1)
    rulings = find_rulings(img, _words((100, 170), (300, 170)))
    got = sorted((r.orientation, tuple(round(v) for v in _px(r))) for r in rulings)
    assert [o for o, _ in got] == ["horizontal", "horizontal", "vertical"]
    (_, line), (_, broken), (_, border) = got
    assert line[0] <= 101 and line[2] >= 499 and 198 <= line[1] <= line[3] <= 202
    assert broken[0] <= 101 and broken[2] >= 479 and 698 <= broken[1] <= broken[3] <= 702
    assert 598 <= border[0] <= border[2] <= 603 and border[1] <= 101 and border[3] >= 159


def test_a_page_without_words_has_no_rules():
    img = Image.new("L", (W, H), 255)
    ImageDraw.Draw(img).line([100, 200, 500, 200], fill=0, width=1)
    assert find_rulings(img, []) == []


def test_a_skewed_pages_rules_come_out_level_in_the_frame_of_its_straightened_words():
    skew = 1.5  # degrees, rows falling to the right
    img = Image.new("L", (W, H), 255)
    d = ImageDraw.Draw(img)
    t = math.tan(math.radians(skew))
    d.line([100, 300 + t * (100 - W / 2), 700, 300 + t * (700 - W / 2)], fill=0, width=1)
    words = deskew.straighten_words(_words((100, 270 + round(t * (130 - W / 2)))), skew, W / H)
    rulings = find_rulings(img, words, skew)
    assert len(rulings) == 1 and rulings[0].orientation == "horizontal"
    x0, y0, x1, y1 = _px(rulings[0])
    # One rule end to end, a pixel or two thick, where the straightened frame puts it.
    assert x0 <= 102 and x1 >= 698 and y1 - y0 <= 4 and abs((y0 + y1) / 2 - 300) <= 2
    # The word above it stands a line over it in that frame, as on the page.
    assert abs(words[0].bbox[3] * H - 290) <= 2


def _page_cells(rows, rulings):
    doc = document(page(1, rows))
    doc.pages[0].rulings = rulings
    cells, _ = forms.rule_pairs(forms.cells_by_page(doc)[0])
    return cells


def _feature(cells, key: str, value: str, name: str) -> float:
    idx = {c.text: i for i, c in enumerate(cells)}
    cands = form_links.candidates(cells)
    x = form_links.features(cells, cands)
    hit = [j for j in range(len(cands)) if cands.key[j] == idx[key] and cands.value[j] == idx[value]]
    assert hit, f"{key} -> {value} is no candidate"
    return float(x[hit[0], form_links.FEATURES.index(name)])


def test_an_answer_line_and_a_border_reach_the_link_models_features():
    rows = [(0.1, 0.10, "Name"), (0.4, 0.10, "J. Smith"), (0.1, 0.20, "Brand"), (0.4, 0.20, "PHOENIX")]
    line_under_smith = Ruling(orientation="horizontal", bbox=(0.38, 0.118, 0.7, 0.119))
    border = Ruling(orientation="vertical", bbox=(0.3, 0.15, 0.302, 0.25))
    cells = _page_cells(rows, [line_under_smith, border])
    assert _feature(cells, "Name", "J. Smith", "v_underlined") == 1
    assert _feature(cells, "Brand", "PHOENIX", "v_underlined") == 0
    assert _feature(cells, "Brand", "PHOENIX", "rule_across_row") == 1
    assert _feature(cells, "Name", "J. Smith", "rule_across_row") == 0
    # Without rulings (a text-layer page) every ruling feature is zero.
    bare = _page_cells(rows, [])
    for name in form_rulings.FEATURES:
        assert _feature(bare, "Name", "J. Smith", name) == 0


def test_a_rule_between_a_heading_and_the_cell_under_it_is_counted():
    rows = [(0.1, 0.10, "Weight"), (0.1, 0.14, "12.5"), (0.4, 0.10, "Length"), (0.4, 0.14, "99 mm")]
    rule = Ruling(orientation="horizontal", bbox=(0.35, 0.124, 0.6, 0.126))  # under "Length" only
    cells = _page_cells(rows, [rule])
    assert _feature(cells, "Length", "99 mm", "rule_across_column") == 1
    assert _feature(cells, "Weight", "12.5", "rule_across_column") == 0


def test_the_ocr_stage_keeps_a_drawn_forms_rules_on_the_page():
    img = Image.new("RGB", (900, 400), "white")
    d = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, 18)
    d.text((40, 60), "Name:", font=font, fill="black")
    d.text((160, 60), "John Smith", font=font, fill="black")
    d.line([150, 84, 600, 84], fill="black", width=1)
    d.rectangle([30, 200, 860, 300], outline="black", width=2)
    d.text((50, 230), "Remarks: none", font=font, fill="black")
    read = ocr_page(img, OcrOptions(), Limits())
    assert any("Smith" in w.text for w in read.words)
    found = [(r.orientation, r.bbox[1] * 400, r.bbox[3] * 400) for r in read.rulings]
    assert any(o == "horizontal" and 82 <= y0 <= y1 <= 86 for o, y0, y1 in found)  # the answer line
    assert sorted(o for o, _, _ in found) == ["horizontal"] * 3 + ["vertical"] * 2  # and the box
    assert not ocr_page(img, OcrOptions(rulings=False), Limits()).rulings
    assert "rulings" in read.timings
