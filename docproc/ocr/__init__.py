"""OCR stage: one engine per `OcrOptions.kind` behind `OcrEngine.detect`, loaded once per process.

`ocr_page` adds what a page needs beyond one engine pass: upside-down pages (PP-OCR's angle
classifier), lines in scripts PP-OCR cannot read (Cyrillic) sent to Tesseract, and skewed
scans' words straightened (docproc.deskew).
"""

from __future__ import annotations

import time
from threading import Lock

from PIL import Image

from docproc import deskew
from docproc.errors import DocprocError
from docproc.ocr.base import OcrEngine, OcrPageResult, onnx_threads, to_rgb
from docproc.ocr.rapid import trim_heap
from docproc.ocr.script import dominant_script, read_suspects
from docproc.options import Limits, OcrOptions

__all__ = ["OcrEngine", "OcrPageResult", "get_engine", "ocr_page"]

_ENGINES: dict[tuple, OcrEngine] = {}
_LOCK = Lock()


def _engine_key(options: OcrOptions) -> tuple:
    if options.kind == "tesseract":
        return ("tesseract", options.tesseract_languages)
    if options.kind == "paddleocr":
        return ("paddleocr", options.paddle_model_dir, options.threads)
    from docproc.ocr.rapid import resolve_runtime

    # Resolved: `auto` and the runtime it stands for share one engine.
    return ("rapidocr", options.threads, resolve_runtime(options.runtime), options.precision,
            options.det_max_mpixels)


def get_engine(options: OcrOptions, limits: Limits | None = None) -> OcrEngine:
    """The engine for `options`, built on first use and cached for the life of the process."""
    key = _engine_key(options)
    with _LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = _build(options)
            _ENGINES[key] = engine
    if options.kind == "tesseract" and limits is not None:
        engine.timeout_s = limits.ocr_timeout_s  # type: ignore[attr-defined]
    return engine


def _build(options: OcrOptions) -> OcrEngine:
    if options.kind == "tesseract":
        from docproc.ocr.tesseract import TesseractEngine

        return TesseractEngine(options.tesseract_languages)
    if options.kind == "paddleocr":
        from docproc.ocr.paddle import PaddleEngine

        return PaddleEngine.from_options(options)
    from docproc.ocr.rapid import RapidOcrEngine

    return RapidOcrEngine(threads=onnx_threads(options.threads), runtime=options.runtime,
                          precision=options.precision, det_max_mpixels=options.det_max_mpixels)


# An upside-down page: most text boxes turned by the angle classifier.
FLIPPED_SHARE = 0.6


def ocr_page(image: Image.Image, options: OcrOptions, limits: Limits) -> OcrPageResult:
    """Read one page image into words with page-relative boxes (see OcrPageResult)."""
    image = to_rgb(image)
    engine = get_engine(options, limits)
    result = OcrPageResult()
    t0 = time.perf_counter()
    if options.kind != "rapidocr":
        result.words = engine.detect(image)
        result.timings["engine"] = round(time.perf_counter() - t0, 4)
        if options.selection_marks:
            _add_selection_marks(image, result)
        _straighten(result, deskew.words_skew(result.words, image.width, image.height), image)
        if options.rulings:
            _add_rulings(image, result)
        result.script = dominant_script(result.words)
        return result

    read = engine.read(image)  # type: ignore[attr-defined]
    if read.flipped_share >= FLIPPED_SHARE:
        image = image.rotate(180)
        read = engine.read(image)  # type: ignore[attr-defined]
        result.rotation = 180
    trim_heap()
    result.timings.update(read.timings)
    result.words = read.words
    elapsed = time.perf_counter() - t0
    if elapsed > limits.ocr_timeout_s:
        raise DocprocError("ocr", "ocr_timeout", f"ocr took {elapsed:.0f}s > {limits.ocr_timeout_s:.0f}s")

    if read.suspects:
        if options.cyrillic_fallback:
            t1 = time.perf_counter()
            first = max((w.segment or 0 for w in read.words), default=-1) + 1
            extra = read_suspects(
                image, read.suspects, options.tesseract_languages,
                limits.ocr_timeout_s - elapsed, first,
            )
            result.words.extend(extra)
            result.timings["script"] = round(time.perf_counter() - t1, 4)
        else:
            result.warnings.append(f"unread_text_boxes: {len(read.suspects)}")
    if options.selection_marks:
        _add_selection_marks(image, result)
    _straighten(result, read.skew, image)
    if options.rulings:
        _add_rulings(image, result)
    result.script = dominant_script(result.words)
    return result


def _straighten(result: OcrPageResult, skew: float | None, image: Image.Image) -> None:
    """Level a skewed scan's rows (docproc.deskew); the page keeps the angle to map boxes back."""
    if deskew.worth_straightening(skew):
        result.skew = round(skew, 2)
        result.words = deskew.straighten_words(result.words, result.skew, image.width / image.height)


def _add_selection_marks(image: Image.Image, result: OcrPageResult) -> None:
    """Ticked check boxes as words "☑" (docproc.ocr.marks): OCR reads the options, not the boxes."""
    from docproc.ocr.marks import find_selection_marks

    t0 = time.perf_counter()
    first = max((w.segment or 0 for w in result.words), default=-1) + 1
    result.words.extend(find_selection_marks(image, result.words, first))
    result.timings["marks"] = round(time.perf_counter() - t0, 4)


def _add_rulings(image: Image.Image, result: OcrPageResult) -> None:
    """Ruled lines (docproc.ocr.rulings), in the frame of the straightened words."""
    from docproc.ocr.rulings import find_rulings

    t0 = time.perf_counter()
    result.rulings = find_rulings(image, result.words, result.skew)
    result.timings["rulings"] = round(time.perf_counter() - t0, 4)
