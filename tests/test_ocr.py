"""OCR engines on generated pages: real models, real Tesseract."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from docproc.ocr import get_engine, ocr_page
from docproc.ocr.script import dominant_script, letter_script
from docproc.options import Limits, OcrOptions

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

RUSSIAN = [
    "Счёт на оплату № 1045 от 12 марта 2024 года",
    "Поставщик: ООО Ромашка, город Москва",
    "Итого к оплате: 15 300,00 рублей",
    "Покупатель обязан оплатить счёт в течение пяти дней",
]
LATIN = ["Invoice number INV-2024-001", "Total due 15300.00 RUB"]


def _page(lines: list[str], size: int = 28) -> Image.Image:
    font = ImageFont.truetype(FONT, size)
    img = Image.new("RGB", (1240, 120 + 70 * len(lines)), "white")
    d = ImageDraw.Draw(img)
    for i, text in enumerate(lines):
        d.text((60, 60 + 70 * i), text, font=font, fill="black")
    return img


def _check_words(words, img):
    for w in words:
        x0, y0, x1, y1 = w.bbox
        assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1
        assert 0 <= w.confidence <= 1
        assert w.segment is not None


def test_rapidocr_reads_latin_words_with_boxes():
    img = _page(LATIN)
    res = ocr_page(img, OcrOptions(), Limits())
    texts = [w.text for w in res.words]
    assert "INV-2024-001" in texts and "15300.00" in texts
    assert res.script == "latin" and res.rotation == 0
    assert {w.source for w in res.words} == {"rapidocr"}
    _check_words(res.words, img)
    # "Invoice" sits left of "number", on the first line (top of the page).
    inv = next(w for w in res.words if w.text == "Invoice")
    num = next(w for w in res.words if w.text == "number")
    assert inv.bbox[2] <= num.bbox[0] + 0.01 and inv.segment == num.segment
    assert inv.bbox[1] < 0.3


def test_russian_lines_go_to_tesseract_and_read_right():
    img = _page(RUSSIAN + LATIN)
    res = ocr_page(img, OcrOptions(), Limits())
    got = [w.text for w in res.words]
    expected = [t for line in RUSSIAN for t in line.split()]
    hits = sum(1 for t in expected if t in got)
    assert hits >= 0.8 * len(expected), (hits, len(expected))
    assert res.script == "cyrillic"
    assert any(letter_script(ch) == "cyrillic" for w in res.words if w.source == "tesseract" for ch in w.text)
    assert "INV-2024-001" in got  # Latin lines stay with PP-OCR
    _check_words(res.words, img)


def test_without_fallback_cyrillic_is_reported_not_read():
    res = ocr_page(_page(RUSSIAN[:2]), OcrOptions(cyrillic_fallback=False), Limits())
    assert not any(w.source == "tesseract" for w in res.words)
    assert any(w.startswith("unread_text_boxes") for w in res.warnings)


def test_upside_down_page_is_turned():
    img = _page(LATIN + ["Payment within 30 days of the invoice date"]).rotate(180)
    res = ocr_page(img, OcrOptions(), Limits())
    assert res.rotation == 180
    assert "INV-2024-001" in [w.text for w in res.words]


def test_tesseract_engine_reads_words():
    img = _page(LATIN)
    res = ocr_page(img, OcrOptions(kind="tesseract"), Limits())
    assert "INV-2024-001" in [w.text for w in res.words]
    assert {w.source for w in res.words} == {"tesseract"}
    _check_words(res.words, img)


def test_engine_is_cached_per_process():
    assert get_engine(OcrOptions()) is get_engine(OcrOptions())


def test_dominant_script():
    from docproc.document import Word

    words = [Word(text=t, bbox=(0, 0, 0.1, 0.1)) for t in ("Счёт", "оплата", "INV")]
    assert dominant_script(words) == "cyrillic"
    assert dominant_script([]) == "latin"


class _FakePaddle:
    """Stands in for PaddleOCR's pipeline: only the glue is tested here."""

    def predict(self, image):
        assert isinstance(image, np.ndarray) and image.ndim == 3
        return [{
            "rec_texts": ["Total: 12.50", ""],
            "rec_scores": [0.97, 0.1],
            "rec_polys": [np.array([[10, 10], [110, 10], [110, 30], [10, 30]]), np.zeros((4, 2))],
            "text_word": [["Total", ":", "12", ".", "50"], []],
            "text_word_boxes": [
                [[10, 10, 50, 30], [50, 10, 55, 30], [65, 10, 80, 30], [80, 10, 85, 30], [85, 10, 110, 30]],
                [],
            ],
        }]


def test_paddle_adapter_glue():
    from docproc.ocr.paddle import PaddleEngine

    words = PaddleEngine(_FakePaddle()).detect(Image.new("RGB", (200, 100), "white"))
    assert [w.text for w in words] == ["Total:", "12.50"]
    assert words[0].bbox == pytest.approx((0.05, 0.1, 0.275, 0.3))
    assert words[1].bbox == pytest.approx((0.325, 0.1, 0.55, 0.3))
    assert {w.segment for w in words} == {0} and words[0].source == "paddleocr"


def test_paddle_without_models_is_a_classified_error(tmp_path):
    from docproc.errors import DocprocError
    from docproc.ocr.paddle import PaddleEngine

    with pytest.raises(DocprocError) as err:
        PaddleEngine.from_options(OcrOptions(kind="paddleocr", paddle_model_dir=str(tmp_path)))
    assert err.value.code == "paddle_models_missing"


def test_paddle_model_dir_from_bundled_weights(tmp_path):
    import yaml

    from docproc.ocr.paddle import write_bundled_models

    root = write_bundled_models(tmp_path)
    rec = yaml.safe_load((root / "rec" / "inference.yml").read_text(encoding="utf-8"))
    assert rec["Global"]["model_name"].endswith("_rec")
    assert "A" in rec["PostProcess"]["character_dict"] and len(rec["PostProcess"]["character_dict"]) > 90
    assert (root / "det" / "inference.onnx").stat().st_size > 1_000_000


def test_paddle_real_pipeline_when_installed(tmp_path):
    pytest.importorskip("paddleocr", reason="the optional `paddle` extra is not installed")
    from docproc.ocr.paddle import write_bundled_models

    write_bundled_models(tmp_path)
    opts = OcrOptions(kind="paddleocr", paddle_model_dir=str(tmp_path))
    res = ocr_page(_page(LATIN), opts, Limits())
    assert "INV-2024-001" in [w.text for w in res.words]


def test_the_angle_classifier_votes_on_the_page_and_never_turns_single_boxes(monkeypatch):
    """Its verdicts only decide whether the whole page is upside down: a box it wrongly sees as
    turned on an upright page is still read upright (and only a sample of boxes is asked)."""
    from rapidocr.ch_ppocr_cls.utils import TextClsOutput

    from docproc.ocr.rapid import CLS_SAMPLE

    engine = get_engine(OcrOptions())
    lines = LATIN + [f"Line {i} of the delivery note, item {i * 7}" for i in range(30)]
    img = _page(lines, size=20)
    honest = engine.read(img)
    assert honest.flipped_share < 0.5

    asked: list[int] = []

    def every_box_turned(crops):
        asked.append(len(crops))
        return TextClsOutput(img_list=[c[::-1, ::-1] for c in crops], cls_res=[("180", 0.99)] * len(crops))

    monkeypatch.setattr(engine._ocr, "_load_cls_model", lambda: every_box_turned)
    fooled = engine.read(img)
    assert fooled.flipped_share == 1.0 and asked and max(asked) <= CLS_SAMPLE < len(honest.segment_scores)
    assert [w.text for w in fooled.words] == [w.text for w in honest.words]


SCAN = Path(__file__).resolve().parents[1] / "samples" / "docs" / "invoice-01-scan.jpg"


def _words(image, **options):
    return ocr_page(image, OcrOptions(**options), Limits()).words


NO_OPENVINO = "openvino is not installed (a dependency: make setup installs it)"


def _on_openvino(session) -> bool:
    from openvino import InferRequest

    return isinstance(getattr(session, "session", None), InferRequest)


def test_default_runtime_puts_detection_on_openvino_only_on_avx512_cpus():
    pytest.importorskip("openvino", reason=NO_OPENVINO)
    from docproc.ocr.rapid import _ReleasingSession

    avx512 = " avx512f" in Path("/proc/cpuinfo").read_text(errors="replace")
    engine = get_engine(OcrOptions())
    assert engine.runtime == ("openvino-det" if avx512 else "onnxruntime")
    ocr = engine._ocr
    det = ocr.text_det.session
    assert isinstance(det, _ReleasingSession) == avx512
    assert _on_openvino(det.session if avx512 else det) == avx512
    assert _on_openvino(ocr.text_cls.session) == avx512
    assert not _on_openvino(ocr.text_rec.session)  # the recognizer stays on ONNX Runtime
    # `auto` and what it resolves to are one engine, loaded once.
    assert get_engine(OcrOptions(runtime=engine.runtime)) is engine


def test_detector_input_over_the_pixel_budget_is_scaled_down_and_reads_the_same_words():
    """The scan's detector input (1,280 x 1,664 px) held to 0.5 megapixels: the detector sees
    at most that, in the page's proportions, and the boxes still land on the page's words."""
    image = Image.open(SCAN).convert("RGB")
    seen, words = {}, {}
    for budget in (0.5, 100.0):
        options = OcrOptions(det_max_mpixels=budget)
        det = get_engine(options)._ocr.text_det
        session = det.session

        def spy(batch, budget=budget, session=session):
            seen[budget] = batch.shape[-2:]
            return session(batch)

        det.session = spy
        try:
            words[budget] = ocr_page(image, options, Limits()).words
        finally:
            det.session = session
    (h_small, w_small), (h_full, w_full) = seen[0.5], seen[100.0]
    assert (h_full, w_full) == (1664, 1280) and h_small * w_small <= 0.5e6
    assert h_small % 32 == 0 and w_small % 32 == 0
    assert abs(h_small / w_small - h_full / w_full) < 0.05
    small, full = words[0.5], words[100.0]
    assert len(full) > 50

    def found(word) -> bool:  # the same text within a hundredth of the page of the same place
        return any(w.text == word.text and np.allclose(w.bbox, word.bbox, atol=0.01) for w in small)

    assert sum(map(found, full)) >= 0.9 * len(full)


def test_openvino_detector_gives_its_working_memory_back():
    """OpenVINO keeps the detector's buffers at the size of the largest input it has seen:
    the session releases them after every call, and hands back a copy of the output (the
    output itself is a view of OpenVINO's buffer)."""
    pytest.importorskip("openvino", reason=NO_OPENVINO)
    from docproc.ocr.rapid import _ReleasingSession, trim_heap

    det = get_engine(OcrOptions(runtime="openvino-det"))._ocr.text_det.session
    assert isinstance(det, _ReleasingSession)
    rng = np.random.default_rng(0)
    first = det(rng.random((1, 3, 736, 1024), dtype=np.float32))
    kept = first.copy()
    det(rng.random((1, 3, 736, 1024), dtype=np.float32))
    assert np.array_equal(first, kept)  # not overwritten by the second call

    def rss_mb() -> float:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    det.session(rng.random((1, 3, 2016, 1536), dtype=np.float32))  # 3.1 megapixels, not released
    held = rss_mb()
    det.compiled.release_memory()
    trim_heap()
    assert rss_mb() < held - 200


def test_default_runtime_without_openvino_is_onnxruntime(monkeypatch):
    import importlib.util

    from docproc.ocr import rapid

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "openvino" else real(name, *a))
    rapid._openvino_fast.cache_clear()
    try:
        assert rapid.resolve_runtime("auto") == "onnxruntime"
        assert rapid.resolve_runtime("openvino") == "openvino"  # asked for: require_runtime tells it is missing
    finally:
        rapid._openvino_fast.cache_clear()


def test_missing_openvino_is_a_classified_error(monkeypatch):
    import importlib.util

    from docproc.errors import DocprocError
    from docproc.ocr import rapid

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "openvino" else real(name, *a))
    with pytest.raises(DocprocError) as err:
        rapid.require_runtime("openvino")
    assert err.value.code == "runtime_missing"
    rapid.require_runtime("onnxruntime")


def test_openvino_f32_reads_what_onnxruntime_reads():
    """f32 on OpenVINO is the same arithmetic as ONNX Runtime: same words, same boxes."""
    pytest.importorskip("openvino", reason=NO_OPENVINO)
    image = Image.open(SCAN).convert("RGB")
    ort = _words(image, runtime="onnxruntime")
    ov = _words(image, runtime="openvino", precision="f32")
    assert len(ort) > 50
    assert [w.text for w in ov] == [w.text for w in ort]
    assert np.allclose([w.bbox for w in ov], [w.bbox for w in ort], atol=2e-3)
    compiled = get_engine(OcrOptions(runtime="openvino", precision="f32"))._ocr.text_rec.session.session
    assert str(compiled.get_compiled_model().get_property("INFERENCE_PRECISION_HINT")) == "<Type: 'float32'>"


def test_openvino_auto_precision_keeps_detection_in_f32():
    """auto: only the recognizer runs in the CPU's native precision (what `native` gives every
    model: bf16 where the CPU has it, else f32); detection and the angle classifier in f32."""
    pytest.importorskip("openvino", reason=NO_OPENVINO)

    def hint(session) -> str:
        return str(session.session.get_compiled_model().get_property("INFERENCE_PRECISION_HINT"))

    auto = get_engine(OcrOptions(runtime="openvino"))._ocr
    native = get_engine(OcrOptions(runtime="openvino", precision="native"))._ocr
    assert hint(auto.text_det.session.session) == hint(auto.text_cls.session) == "<Type: 'float32'>"
    assert hint(auto.text_rec.session) == hint(native.text_rec.session) == hint(native.text_det.session.session)


def test_openvino_default_precision_reads_the_scan_like_f32():
    """OpenVINO's own precision (bf16 where the CPU has it) may change a borderline glyph, not
    the page."""
    pytest.importorskip("openvino", reason=NO_OPENVINO)
    image = Image.open(SCAN).convert("RGB")
    exact = [w.text for w in _words(image, runtime="onnxruntime")]
    fast = [w.text for w in _words(image, runtime="openvino")]
    from rapidfuzz.distance import Levenshtein

    assert Levenshtein.normalized_similarity(" ".join(fast), " ".join(exact)) > 0.97
    assert abs(len(fast) - len(exact)) <= 0.03 * len(exact)


def test_openvino_runtime_through_the_cli_in_capped_workers(tmp_path):
    """`--ocr-runtime openvino` reaches the OCR engine of pool workers, which run under their
    address-space cap, and every scan reads. (Too few pages to show the memory growth that
    once hit the cap on receipts; README "Performance" has that measurement.)"""
    pytest.importorskip("openvino", reason=NO_OPENVINO)
    import json
    import shutil
    import subprocess

    docs = tmp_path / "docs"
    docs.mkdir()
    for scan in sorted(SCAN.parent.glob("*-scan.jpg")):
        for copy in range(2):
            shutil.copy(scan, docs / f"{scan.stem}-{copy}.jpg")
    manifest = {json.loads(line)["id"]: json.loads(line) for line in (SCAN.parents[1] / "manifest.jsonl").read_text().splitlines() if line.strip()}
    proc = subprocess.run(
        [str(Path(__file__).resolve().parents[1] / ".venv" / "bin" / "docproc"), "extract", str(docs),
         "--schema", "invoice", "-o", str(tmp_path / "out"), "-q", "--workers", "2",
         "--ocr-runtime", "openvino"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = sorted((tmp_path / "out").glob("*.json"))
    assert len(results) == 6
    for path in results:
        result = json.loads(path.read_text())
        assert result["status"] == "ok", result["errors"]
        expected = manifest[path.stem.rsplit("-", 1)[0]]["expected"]
        assert result["fields"]["invoice_number"]["normalized"] == expected["invoice_number"]


def test_float32_detector_input_equals_rapidocrs_and_reads_the_same_words():
    """The detector's input is normalized in float32 instead of rapidocr's float64: the same
    array (so the same boxes and text), only faster."""
    from rapidocr.ch_ppocr_det.utils import DetPreProcess

    from docproc.ocr.rapid import Float32DetPreProcess

    engine = get_engine(OcrOptions())
    det = engine._ocr.text_det
    assert isinstance(det.get_preprocess(), Float32DetPreProcess)
    scan = np.ascontiguousarray(np.asarray(Image.open(SCAN).convert("RGB"))[:, :, ::-1])
    ours = det.get_preprocess()(scan)
    theirs = DetPreProcess(det.limit_side_len, det.limit_type, det.mean, det.std)(scan)
    assert ours.dtype == theirs.dtype == np.float32 and ours.shape == theirs.shape
    assert np.array_equal(ours, theirs)

    fast = engine.read(Image.open(SCAN))
    det.get_preprocess = lambda: DetPreProcess(det.limit_side_len, det.limit_type, det.mean, det.std)
    try:
        slow = engine.read(Image.open(SCAN))
    finally:
        engine._use_fast_preprocess(OcrOptions().det_max_mpixels)
    assert [(w.text, w.bbox) for w in fast.words] == [(w.text, w.bbox) for w in slow.words]
    assert len(fast.words) > 20
