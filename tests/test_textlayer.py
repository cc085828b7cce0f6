"""read_text_layer(): words and boxes from the PDF itself, and the per-page trust verdict."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
from fpdf import FPDF
from fpdf.enums import TextMode
from PIL import Image

from docproc.errors import DocprocError
from docproc.options import Limits, RenderOptions, TextLayerOptions
from docproc.render import render_pages
from docproc.sources import sniff
from docproc.textlayer import judge, read_text_layer, wordlike_share

SENTENCE = "The quarterly invoice total is due within thirty days of delivery"


def _doc(path: Path, lines: list[str], size_pt=(612, 792), mode: TextMode = TextMode.FILL, scan: bool = False) -> Path:
    doc = FPDF(unit="pt", format=size_pt)
    doc.add_page()
    if scan:  # a full-page picture, as a scanner would produce
        picture = path.with_suffix(".png")
        Image.new("RGB", (300, 400), (235, 235, 225)).save(picture)
        doc.image(str(picture), x=0, y=0, w=size_pt[0], h=size_pt[1])
    doc.set_font("helvetica", size=20)
    doc.text_mode = mode
    for i, line in enumerate(lines):
        doc.text(40, 60 + 30 * i, line)
    doc.output(str(path))
    return path


def _read(path: Path, pages=(1,), **options):
    source = sniff(str(path), Limits())
    return read_text_layer(source, TextLayerOptions(**options), list(pages))


@pytest.mark.parametrize("library", ["pypdfium2", "pdfplumber"])
def test_born_digital_page_is_trusted(tmp_path, library):
    path = _doc(tmp_path / "letter.pdf", [SENTENCE, "Second line here"])
    page = _read(path, library=library)[1]
    assert page.trusted and page.reason.startswith("pdf_text:")
    assert (page.width, page.height) == (612, 792)
    assert [w.text for w in page.words] == (SENTENCE + " Second line here").split()
    for word in page.words:
        x0, y0, x1, y1 = word.bbox
        assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1
        assert word.source == "pdf_text" and word.confidence == 1.0
    first = page.words[0].bbox
    assert first[0] == pytest.approx(40 / 612, abs=0.01) and first[3] == pytest.approx(60 / 792, abs=0.015)
    if library == "pypdfium2":  # pdfium says where lines end: one segment per line
        assert {w.segment for w in page.words[:11]} == {0} and page.words[-1].segment == 1


def test_few_characters_not_trusted(tmp_path):
    page = _read(_doc(tmp_path / "stamp.pdf", ["Paid"]))[1]
    assert not page.trusted and page.reason == "ocr: 4 chars in text layer"
    assert _read(tmp_path / "stamp.pdf", mode="always")[1].trusted


def test_rotated_page_boxes_match_the_rendered_image(tmp_path):
    plain = _doc(tmp_path / "plain.pdf", ["ROTATED HEADLINE TEXT"], size_pt=(600, 400))
    doc = pdfium.PdfDocument(str(plain))
    doc[0].set_rotation(90)
    doc.save(str(tmp_path / "rotated.pdf"))
    doc.close()
    path = tmp_path / "rotated.pdf"
    page = _read(path, min_chars=5)[1]
    assert (page.width, page.height) == (400, 600)
    source = sniff(str(path), Limits())
    [(_, image)] = render_pages(source, RenderOptions(dpi=72), Limits(), [1])
    ink = np.asarray(image.convert("L")) < 128
    h, w = ink.shape
    for word in page.words:
        x0, y0, x1, y1 = word.bbox
        assert x1 - x0 < y1 - y0  # text runs down the page once turned
        assert ink[int(y0 * h):int(y1 * h) + 1, int(x0 * w):int(x1 * w) + 1].any()  # ink in the box
    boxed = np.zeros_like(ink)
    for x0, y0, x1, y1 in (wd.bbox for wd in page.words):
        boxed[int(y0 * h):int(y1 * h) + 2, int(x0 * w):int(x1 * w) + 2] = True
    assert ink[~boxed].sum() < 0.05 * ink.sum()  # and no ink is left outside every box


def test_invisible_ocr_layer_trusted_only_when_it_reads_as_text(tmp_path):
    good = _doc(tmp_path / "good.pdf", [SENTENCE] * 3, mode=TextMode.INVISIBLE, scan=True)
    page = _read(good)[1]
    assert page.trusted and "invisible OCR layer" in page.reason
    junk = ["xq zzkj ~~ |||| ,,;; qwrtp", "lll Ii1 ;;: 0O0o qzxwv pprtk", "~~ %% jjjj xxxxx ''' bcdfg"]
    bad = _read(_doc(tmp_path / "junk.pdf", junk, mode=TextMode.INVISIBLE, scan=True))[1]
    assert not bad.trusted and bad.reason == "ocr: invisible text layer looks like garbage"


def test_judge_rejects_unmapped_and_off_page_text():
    options = TextLayerOptions()
    words = SENTENCE.split()
    assert judge(100, 30, 0, False, words, options) == (
        False, "ocr: text layer looks like garbage (30% unmapped characters)")
    assert judge(100, 0, 80, False, words, options)[1] == "ocr: text layer lies outside the page"
    assert judge(100, 0, 0, False, words, options) == (True, "pdf_text: 100 chars")


def test_wordlike_share_separates_words_from_junk():
    assert wordlike_share(SENTENCE.split() + ["12.50", "2024-03-01", "Straße"]) == 1.0
    assert wordlike_share("xqzt ~~ |||| bcdfg ,, qwrtp".split()) < 0.3


def test_only_pdfs_and_broken_files_coded(tmp_path):
    image = tmp_path / "scan.png"
    Image.new("RGB", (20, 20)).save(image)
    assert read_text_layer(sniff(str(image), Limits()), TextLayerOptions(), [1]) == {}
    path = _doc(tmp_path / "ok.pdf", [SENTENCE])
    source = sniff(str(path), Limits())
    path.write_bytes(b"%PDF-1.4\nnot really a pdf any more")
    with pytest.raises(DocprocError) as info:
        read_text_layer(source, TextLayerOptions(), [1])
    assert (info.value.stage, info.value.code) == ("textlayer", "text_layer_failed")
