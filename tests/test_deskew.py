"""Skewed scans: OCR measures the skew, the words are straightened for reading, and the
result's boxes are mapped back onto the image the user sent."""

from __future__ import annotations

import math

import pytest
from PIL import Image, ImageDraw, ImageFont

from docproc import deskew, pipeline
from docproc.document import Extraction, FieldValue, KeyValue, LineItem, Word
from docproc.ocr import ocr_page
from docproc.options import LayoutOptions, Limits, OcrOptions, PipelineOptions

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
SIZE = (1400, 1000)
ROWS = [("Invoice number", "INV-20417"), ("Invoice date", "14.03.2024"), ("Customer", "Harbour Tools Ltd"),
        ("Subtotal", "1,250.00"), ("Tax", "237.50"), ("Total", "1,487.50")]
LEFT, RIGHT, TOP, STEP = 60, 1060, 120, 64
ANGLE = 2.5  # PIL turns counter-clockwise: rows climb to the right, a skew of -ANGLE


def _skewed_page(angle: float = ANGLE) -> tuple[Image.Image, dict[str, tuple]]:
    """Rows of label ... value across the page, turned by `angle`; also where each value's box
    lands in the turned image (pixels)."""
    img = Image.new("L", SIZE, 255)
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, 28)
    drawn = {}
    for i, (label, value) in enumerate(ROWS):
        y = TOP + i * STEP
        draw.text((LEFT, y), label, fill=0, font=font)
        draw.text((RIGHT, y), value, fill=0, font=font)
        drawn[value] = draw.textbbox((RIGHT, y), value, font=font)
    turned = img.rotate(angle, resample=Image.BICUBIC, fillcolor=255)
    cx, cy = SIZE[0] / 2, SIZE[1] / 2
    a = math.radians(angle)

    def turn(x, y):  # where PIL's counter-clockwise turn about the centre puts (x, y)
        dx, dy = x - cx, y - cy
        return cx + dx * math.cos(a) + dy * math.sin(a), cy - dx * math.sin(a) + dy * math.cos(a)

    boxes = {}
    for value, (x0, y0, x1, y1) in drawn.items():
        pts = [turn(x, y) for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))]
        boxes[value] = (min(p[0] for p in pts), min(p[1] for p in pts), max(p[0] for p in pts), max(p[1] for p in pts))
    return turned.convert("RGB"), boxes


def _row_of(words: list[Word], text: str) -> float:
    w = next(w for w in words if w.text == text)
    return (w.bbox[1] + w.bbox[3]) / 2


def test_ocr_measures_the_skew_and_straightens_the_rows():
    image, _ = _skewed_page()
    read = ocr_page(image, OcrOptions(), Limits())
    assert read.skew == pytest.approx(-ANGLE, abs=0.4)
    line = STEP / SIZE[1]
    # Label at the left edge, value at the right edge of the same printed row: level again.
    assert abs(_row_of(read.words, "Tax") - _row_of(read.words, "237.50")) < 0.2 * line
    # As scanned, the row climbs by most of a line over that width.
    drift = math.tan(math.radians(ANGLE)) * (RIGHT - LEFT) / SIZE[1]
    assert drift > 0.6 * line


def test_tesseract_pages_are_straightened_from_their_lines():
    """Tesseract gives axis-aligned word boxes grouped in lines: the skew comes from the slope
    of each long line's words."""
    img = Image.new("L", SIZE, 255)
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, 26)
    for i in range(8):
        draw.text((LEFT, TOP + i * STEP), f"Line {i + 1} delivers parcels to the north depot at 8:30 sharp", fill=0, font=font)
    read = ocr_page(img.rotate(2.0, resample=Image.BICUBIC, fillcolor=255).convert("RGB"),
                    OcrOptions(kind="tesseract"), Limits())
    assert read.skew == pytest.approx(-2.0, abs=0.5)
    line = STEP / SIZE[1]
    assert abs(_row_of(read.words, "Line") - _row_of(read.words, "sharp")) < 0.25 * line
    assert math.tan(math.radians(2.0)) * 900 / SIZE[1] > 0.45 * line  # what it was before


def test_a_straight_page_is_left_alone():
    image, _ = _skewed_page(angle=0.0)
    read = ocr_page(image, OcrOptions(), Limits())
    assert read.skew == 0.0


def test_fields_of_a_skewed_scan_are_read_and_boxed_on_the_image(tmp_path):
    image, boxes = _skewed_page()
    path = tmp_path / "skewed.png"
    image.save(path)
    result = pipeline.run(path, PipelineOptions(schema="invoice"))
    fields = result.fields
    assert fields["total"].normalized == "1487.50"
    assert fields["tax"].normalized == "237.50"
    assert fields["subtotal"].normalized == "1250.00"
    for name, value in (("total", "1,487.50"), ("tax", "237.50")):
        x0, y0, x1, y1 = boxes[value]
        got = fields[name].bbox
        # The reported box holds the value where the turned image shows it (2 px slack).
        assert got[0] * SIZE[0] <= x0 + 2 and got[2] * SIZE[0] >= x1 - 2
        assert got[1] * SIZE[1] <= y0 + 2 and got[3] * SIZE[1] >= y1 - 2
        # ... and not much more: the row above and below stay out.
        assert (got[3] - got[1]) * SIZE[1] < (y1 - y0) + STEP / 2


def test_layout_model_regions_are_straightened_with_the_words(tmp_path):
    """The layout model sees the image as scanned; its regions move with the words, so every
    line still falls in a region and the fields come out as with geometry layout."""
    image, _ = _skewed_page()
    path = tmp_path / "skewed.png"
    image.save(path)
    options = PipelineOptions(schema="invoice", layout=LayoutOptions(kind="picodet"))
    source = pipeline.open_source(path, options)
    (page,) = pipeline.process_pages(source, options)
    assert page.skew == pytest.approx(-ANGLE, abs=0.4)
    from docproc.layout.detector import detect_regions

    seen = sorted(tuple(b.coordinates) for b in detect_regions(image, options.layout.min_score))
    kept = sorted(r.bbox for r in page.regions if r.source == "picodet")
    assert seen and len(kept) == len(seen)
    aspect = image.width / image.height
    for got, box in zip(kept, seen):  # each moved by the drift at its centre, as the words were
        assert got == pytest.approx(deskew.straighten_bbox(box, page.skew, aspect), abs=1e-4)
        assert got != pytest.approx(box, abs=1e-4)
    for region in page.regions:  # and its lines lie inside it
        for i in region.lines:
            line = page.lines[i].bbox
            assert region.bbox[1] - 0.02 <= (line[1] + line[3]) / 2 <= region.bbox[3] + 0.02
    result = pipeline.run(path, options)
    assert {k: result.fields[k].normalized for k in ("total", "tax", "subtotal")} == {
        "total": "1487.50", "tax": "237.50", "subtotal": "1250.00"}


def test_restoring_a_box_holds_every_word_it_was_built_from():
    skew, aspect = 3.0, 0.75
    words = [Word(text=t, bbox=b) for t, b in (("a", (0.1, 0.40, 0.2, 0.42)), ("b", (0.7, 0.38, 0.9, 0.40)))]
    flat = deskew.straighten_words(words, skew, aspect)
    assert flat[0].bbox[1] != words[0].bbox[1]
    # One word: back around where it was, taller only by the row's drift across its width.
    x0, y0, x1, y1 = deskew.restore_bbox(flat[1].bbox, skew, aspect)
    drift = math.tan(math.radians(skew)) * aspect * (0.9 - 0.7)
    assert y0 <= words[1].bbox[1] <= y0 + drift / 2 + 1e-9 and y1 - drift / 2 - 1e-9 <= words[1].bbox[3] <= y1
    # A box around both straightened words holds both original boxes.
    union = (0.1, min(f.bbox[1] for f in flat), 0.9, max(f.bbox[3] for f in flat))
    x0, y0, x1, y1 = deskew.restore_bbox(union, skew, aspect)
    for w in words:
        assert x0 <= w.bbox[0] and y0 <= w.bbox[1] + 1e-9 and x1 >= w.bbox[2] and y1 >= w.bbox[3] - 1e-9


def test_restore_boxes_reaches_nested_results_on_skewed_pages_only():
    box = (0.6, 0.5, 0.8, 0.52)
    field = FieldValue(value="x", page=1, bbox=box)
    other_page = FieldValue(value="y", page=2, bbox=box)
    kv = KeyValue(key="k", value="v", page=1, key_bbox=box, value_bbox=box)
    item = LineItem(description="d", page=1, bbox=box)
    holder = Extraction(fields={"a": field, "b": [other_page]}, key_values=[kv], line_items=[item])
    deskew.restore_boxes(holder, {1: (2.0, 0.75)})
    moved = deskew.restore_bbox(box, 2.0, 0.75)
    assert field.bbox == moved and kv.key_bbox == moved and kv.value_bbox == moved and item.bbox == moved
    assert other_page.bbox == box
