"""Ticked check boxes on a scanned page become words "☑" that the form rules pair with their
option (docproc.ocr.marks), read by the real PP-OCR engine from a drawn page."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from docproc.document import Page
from docproc.layout.lines import group_lines
from docproc.ocr import ocr_page
from docproc.ocr.marks import SELECTED, find_selection_marks
from docproc.options import Limits, OcrOptions
from docproc.readers.rules.forms import read_form_pairs
from tests.rules_helpers import document

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
SIDE = 13  # px: a check box about as tall as the text at 100 dpi


def _box(draw: ImageDraw.ImageDraw, x: int, y: int, ticked: bool) -> None:
    draw.rectangle([x, y, x + SIDE, y + SIDE], outline="black", width=1)
    if ticked:
        draw.line([x + 3, y + 3, x + SIDE - 3, y + SIDE - 3], fill="black", width=2)
        draw.line([x + 3, y + SIDE - 3, x + SIDE - 3, y + 3], fill="black", width=2)


def _form() -> Image.Image:
    """Options with boxes left of them, one ticked per row; a shaded band and a solid bullet."""
    img = Image.new("RGB", (900, 420), "white")
    d = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, 16)
    d.text((40, 30), "TYPE OF CHANGE:", font=font, fill="black")
    for x, label, ticked in ((60, "ORIGINAL", True), (260, "CORRECTED", False), (480, "SUPPLEMENTAL", False)):
        _box(d, x, 82, ticked)
        d.text((x + SIDE + 8, 79), label, font=font, fill="black")
    d.text((40, 150), "Budgeted:", font=font, fill="black")
    for x, label, ticked in ((200, "Yes", False), (300, "No", True)):
        _box(d, x, 153, ticked)
        d.text((x + SIDE + 8, 150), label, font=font, fill="black")
    # A dithered grey band (every other pixel) and a solid square bullet: no check boxes.
    band = np.asarray(img).copy()
    band[250:300, 40:860][::2, ::2] = 0
    img = Image.fromarray(band)
    d = ImageDraw.Draw(img)
    d.rectangle([60, 340, 60 + SIDE, 340 + SIDE], fill="black")
    d.text((90, 337), "Keep refrigerated", font=font, fill="black")
    return img


def test_ticked_boxes_become_marks_and_answer_their_option():
    img = _form()
    res = ocr_page(img, OcrOptions(), Limits())
    marks = [w for w in res.words if w.text == SELECTED]
    assert len(marks) == 2, [w.bbox for w in marks]
    assert all(w.source == "marks" and 0 < w.confidence <= 1 for w in marks)
    # Where the ticked boxes are drawn: ORIGINAL's (x 60, y 82) and No's (x 300, y 153).
    centres = sorted(((w.bbox[0] + w.bbox[2]) / 2 * 900, (w.bbox[1] + w.bbox[3]) / 2 * 420) for w in marks)
    assert abs(centres[0][0] - 66) < 4 and abs(centres[0][1] - 88) < 4
    assert abs(centres[1][0] - 306) < 4 and abs(centres[1][1] - 159) < 4
    # Each mark is a segment of its own, after the OCR's.
    assert len({w.segment for w in res.words}) == len({w.segment for w in res.words if w.source != "marks"}) + 2

    page = Page(number=1, width=900, height=420, text_source="ocr", words=res.words,
                lines=group_lines(res.words))
    pairs = [(kv.key, kv.value) for kv in read_form_pairs(document(page), links=False)]
    assert ("ORIGINAL", SELECTED) in pairs and ("No", SELECTED) in pairs
    assert not any(k in ("CORRECTED", "SUPPLEMENTAL", "Yes") and v == SELECTED for k, v in pairs)


def test_marks_can_be_turned_off_and_need_words_for_their_scale():
    img = _form()
    res = ocr_page(img, OcrOptions(selection_marks=False), Limits())
    assert not any(w.text == SELECTED for w in res.words)
    assert find_selection_marks(img, [], 0) == []  # no text: no line height to size boxes by
