"""The PDF's own text layer: words with page-relative boxes, and a per-page verdict on whether
to trust it instead of OCR.

Extraction (pypdfium2 by default, pdfplumber on request) runs in a forked child with a deadline
and a memory cap (docproc.sandbox), one child per document: a hostile PDF cannot hang or
crash the caller, and the isolation costs a few milliseconds per document.

Boxes are in the page as displayed (after /Rotate), matching what the renderer draws.
"""

from __future__ import annotations

import re
import unicodedata

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from pydantic import BaseModel, Field

from docproc import sandbox
from docproc.document import SourceInfo, Word
from docproc.errors import DocprocError
from docproc.options import TextLayerOptions

# Deadline for one document: pdfium reads ~100 pages/s, pdfplumber ~5.
TIMEOUT_BASE_S = 15.0
TIMEOUT_PER_PAGE_S = 0.5
MEMORY_MB = 4096
MAX_BAD_FRACTION = 0.10  # unmapped / replacement / private-use / control characters
MAX_OUTSIDE_FRACTION = 0.5  # characters whose centre lies off the page box
MIN_WORDLIKE_INVISIBLE = 0.6  # share of word-like tokens an invisible OCR layer needs
MIN_WORDLIKE_VISIBLE = 0.3  # below this even visible text is junk (wrong font encodings)


class TextLayerPage(BaseModel):
    words: list[Word] = Field(default_factory=list)
    width: float  # points, after /Rotate
    height: float
    trusted: bool
    reason: str


# Per page, the child sends plain tuples (cheap to pickle):
# (width, height, [(text, x0, y0, x1, y1, segment)], chars, bad, outside, invisible)
_Dump = tuple[float, float, list[tuple], int, int, int, bool]


def read_text_layer(
    source: SourceInfo, options: TextLayerOptions, pages: list[int]
) -> dict[int, TextLayerPage]:
    """Words and a trust verdict for each of `pages` (1-based) of a PDF."""
    if source.kind != "pdf" or not pages:
        return {}
    extract = _extract_pdfplumber if options.library == "pdfplumber" else _extract_pdfium
    timeout = TIMEOUT_BASE_S + TIMEOUT_PER_PAGE_S * len(pages)
    try:
        dumps = sandbox.call_in_child(extract, source.path, pages, timeout_s=timeout, memory_mb=MEMORY_MB)
    except sandbox.SandboxTimeout:
        raise DocprocError("textlayer", "text_layer_timeout", f"{source.path}: over {timeout:.0f} s") from None
    except sandbox.SandboxError as exc:
        raise DocprocError("textlayer", "text_layer_failed", f"{source.path}: {exc}") from None
    except Exception as exc:  # the library refused the file
        raise DocprocError("textlayer", "text_layer_failed", f"{source.path}: {type(exc).__name__}") from None
    return {n: _page(dump, options) for n, dump in dumps.items()}


def _page(dump: _Dump, options: TextLayerOptions) -> TextLayerPage:
    width, height, raw_words, chars, bad, outside, invisible = dump
    words = [
        # (pydantic-core's validation is about twice as fast as model_construct, which is Python)
        Word(text=t, bbox=(x0, y0, x1, y1), confidence=1.0, segment=seg, source="pdf_text")
        for t, x0, y0, x1, y1, seg in raw_words
    ]
    trusted, reason = judge(chars, bad, outside, invisible, [w.text for w in words], options)
    return TextLayerPage(words=words, width=width, height=height, trusted=trusted, reason=reason)


def judge(
    chars: int, bad: int, outside: int, invisible: bool, tokens: list[str], options: TextLayerOptions
) -> tuple[bool, str]:
    """Whether a page's text layer can stand in for OCR, and why (a short reason)."""
    if options.mode == "always":
        return chars > 0, f"pdf_text: {chars} chars" if chars else "ocr: no text layer"
    if chars < options.min_chars:
        return False, f"ocr: {chars} chars in text layer"
    if bad > MAX_BAD_FRACTION * chars:
        return False, f"ocr: text layer looks like garbage ({100 * bad // chars}% unmapped characters)"
    if outside > MAX_OUTSIDE_FRACTION * chars:
        return False, "ocr: text layer lies outside the page"
    share = wordlike_share(tokens)
    if invisible:
        if share < MIN_WORDLIKE_INVISIBLE:
            return False, "ocr: invisible text layer looks like garbage"
        return True, f"pdf_text: invisible OCR layer, {chars} chars"
    if share < MIN_WORDLIKE_VISIBLE:
        return False, "ocr: text layer looks like garbage (few real words)"
    return True, f"pdf_text: {chars} chars"


_VOWELS = set("aeiouyAEIOUY")
_STRIP = "\"'.,;:!?()[]{}<>«»“”‘’-–—/\\|*#•·"


def wordlike_share(tokens: list[str]) -> float:
    """Share of tokens that look like words or numbers: mostly letters (Latin runs of 4+ need
    a vowel) or mostly digits. Bad OCR layers and wrong font encodings score low."""
    if not tokens:
        return 0.0
    good = 0
    for token in tokens:
        core = token.strip(_STRIP)
        if not core:
            continue
        if core.isalpha():  # most tokens: skip counting character by character
            letters, digits = len(core), 0
        elif core.isdigit():
            letters, digits = 0, len(core)
        else:
            letters = sum(c.isalpha() for c in core)
            digits = sum(c.isdigit() for c in core)
        if digits >= 0.5 * len(core):
            good += 1
        elif letters >= 0.7 * len(core):
            ascii_run = core.isascii() and letters >= 4
            good += not ascii_run or any(c in _VOWELS for c in core)
    return good / len(tokens)


def _is_bad_char(code: int) -> bool:
    if code in (0, 0xFFFD):
        return True
    if 0xE000 <= code <= 0xF8FF or code >= 0xF0000:  # private use: glyphs with no meaning
        return True
    ch = chr(code)
    return unicodedata.category(ch) == "Cc" and not ch.isspace()


# --- pdfium (child side) ---------------------------------------------------------------------

def _to_display(box: tuple[float, float, float, float], page_box: tuple, rotation: int) -> tuple:
    """A PDF user-space box (x0, y0, x1, y1; y up) as a 0..1 box of the displayed page."""
    bx0, by0, bx1, by1 = page_box
    w, h = (bx1 - bx0) or 1.0, (by1 - by0) or 1.0
    u0, u1 = (box[0] - bx0) / w, (box[2] - bx0) / w
    v0, v1 = (by1 - box[3]) / h, (by1 - box[1]) / h  # top-left origin, unrotated
    if rotation == 90:
        x0, y0, x1, y1 = 1 - v1, u0, 1 - v0, u1
    elif rotation == 180:
        x0, y0, x1, y1 = 1 - u1, 1 - v1, 1 - u0, 1 - v0
    elif rotation == 270:
        x0, y0, x1, y1 = v0, 1 - u1, v1, 1 - u0
    else:
        x0, y0, x1, y1 = u0, v0, u1, v1
    return x0, y0, x1, y1


def _clamped(box: tuple) -> tuple | None:
    """The box clipped to the page, or None when its centre lies off the page."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    if not (0 <= cx <= 1 and 0 <= cy <= 1):
        return None
    return tuple(round(min(1.0, max(0.0, v)), 5) for v in box)


_WORD = re.compile(r"\S+")
# NUL (unmapped glyph), C0/C1 controls, replacement char, private use (BMP and planes 15-16)
_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd\ue000-\uf8ff\U000f0000-\U0010ffff]")
_SPACE = re.compile(r"\s")
_RENDER_MODE_SAMPLE = 64


def _mostly_invisible(textpage: pdfium.PdfTextPage, count: int) -> bool:
    """Most sampled characters are drawn in render mode 3 (invisible): an OCR layer over a scan."""
    step = max(1, count // _RENDER_MODE_SAMPLE)
    hidden = seen = 0
    for i in range(0, count, step):
        obj = pdfium_c.FPDFText_GetTextObject(textpage, i)
        if obj:
            seen += 1
            hidden += pdfium_c.FPDFTextObj_GetTextRenderMode(obj) == pdfium_c.FPDF_TEXTRENDERMODE_INVISIBLE
    return hidden * 2 > seen


def _page_text(textpage: pdfium.PdfTextPage, count: int) -> str:
    """The page's characters, one per char index (pdfium's line ends are generated \\r\\n)."""
    text = textpage.get_text_range(0, count) if count else ""
    if len(text) != count:  # chars outside UCS-2 or excluded ones: fall back to one call per char
        codes = (pdfium_c.FPDFText_GetUnicode(textpage, i) for i in range(count))
        text = "".join(chr(c) if 0 <= c < 0x110000 else "\ufffd" for c in codes)
    return text


def _pdfium_page(page: pdfium.PdfPage) -> _Dump:
    width, height = page.get_size()
    rotation = page.get_rotation() % 360
    page_box = page.get_bbox()
    textpage = page.get_textpage()
    count = textpage.count_chars()
    text = _page_text(textpage, count)
    chars = count - len(_SPACE.findall(text))
    bad = len(_BAD.findall(text))
    first, last = pdfium_c.FS_RECTF(), pdfium_c.FS_RECTF()
    words: list[tuple] = []
    outside = segment = 0
    line_start = 0
    for match in _WORD.finditer(text):
        start, end = match.span()
        segment += text.count("\n", line_start, start)  # pdfium ends every line with \r\n
        line_start = start
        # A word's box from its first and last characters' loose boxes (font ascent to descent):
        # two calls per word instead of one per character.
        pdfium_c.FPDFText_GetLooseCharBox(textpage, start, first)
        pdfium_c.FPDFText_GetLooseCharBox(textpage, end - 1, last)
        box = (min(first.left, last.left), min(first.bottom, last.bottom),
               max(first.right, last.right), max(first.top, last.top))
        clamped = _clamped(_to_display(box, page_box, rotation))
        if clamped is None:
            outside += end - start
        else:
            words.append((match.group(), *clamped, segment))
    invisible = _mostly_invisible(textpage, count) if chars else False
    textpage.close()
    return width, height, words, chars, bad, outside, invisible


def _extract_pdfium(path: str, pages: list[int]) -> dict[int, _Dump]:
    doc = pdfium.PdfDocument(path)
    out: dict[int, _Dump] = {}
    for n in pages:
        if 1 <= n <= len(doc):
            page = doc[n - 1]
            out[n] = _pdfium_page(page)
            page.close()
    doc.close()
    return out


# --- pdfplumber (child side) -----------------------------------------------------------------

_CID = re.compile(r"\(cid:\d+\)")


def _extract_pdfplumber(path: str, pages: list[int]) -> dict[int, _Dump]:
    import pdfplumber  # only the child pays for the import

    out: dict[int, _Dump] = {}
    with pdfplumber.open(path) as pdf:
        for n in pages:
            if not 1 <= n <= len(pdf.pages):
                continue
            page = pdf.pages[n - 1]
            x_off, y_off = page.bbox[0], page.bbox[1]
            w, h = float(page.width) or 1.0, float(page.height) or 1.0
            words: list[tuple] = []
            for word in page.extract_words():
                box = ((word["x0"] - x_off) / w, (word["top"] - y_off) / h,
                       (word["x1"] - x_off) / w, (word["bottom"] - y_off) / h)
                clamped = _clamped(box)
                if clamped is not None:
                    words.append((word["text"], *clamped, None))
            chars = bad = outside = 0
            for c in page.chars:
                text = c["text"]
                if text.isspace():
                    continue
                chars += 1
                bad += bool(_CID.search(text)) or any(_is_bad_char(ord(x)) for x in text)
                cx, cy = (c["x0"] + c["x1"]) / 2 - x_off, (c["top"] + c["bottom"]) / 2 - y_off
                outside += not (0 <= cx <= w and 0 <= cy <= h)
            # pdfminer does not report the text render mode: no invisible-layer check here.
            out[n] = (w, h, words, chars, bad, outside, False)
            page.close()
    return out
