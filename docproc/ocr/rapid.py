"""PP-OCR (det + cls + rec ONNX models shipped in the rapidocr wheel) as an OcrEngine.

rapidocr's one-call API drops boxes whose text came out empty; those are exactly the lines
written in a script the recognizer does not know (Cyrillic), so we run its steps ourselves
and keep them as `suspects` for the script fallback (docproc.ocr.script).
"""

from __future__ import annotations

import importlib.util
import logging
import time
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from PIL import Image

from docproc.deskew import boxes_skew
from docproc.document import Word
from docproc.errors import DocprocError
from docproc.ocr.base import relative_bbox, to_rgb

log = logging.getLogger(__name__)

# Tuned on SROIE receipts and FUNSD forms (bench/bench_ocr.py --variants, then `docproc eval`
# on all of both sets). Before: 736 / 16 / 320. Kept: 736 / 6 / 320 (receipts micro F1 exact/soft
# 0.683/0.846 -> 0.690/0.849, forms 0.125/0.258 -> 0.128/0.259). Tried and dropped: short
# side 544 (receipts 0.680/0.844: changed boxes flip under the angle classifier) and min
# width 160 (forms soft F1 0.256), though each saved ~0.1-0.3 s of CPU per page.
DET_LIMIT_TYPE = "min"
DET_LIMIT_SIDE_LEN = 736  # short side of the detector input
# Crops per recognizer call, sorted by width: each batch is padded to its widest crop, so
# small batches waste less on padding (receipts, 12 pages: rec CPU 16 -> 6 about -30 %).
REC_BATCH = 6
# PaddleOCR pads every crop to at least this width (a 6.7:1 line); narrower loses accuracy.
REC_MIN_WIDTH = 320
MIN_TEXT_SCORE = 0.5
# OpenVINO precision -> the models run in the CPU's native precision (bf16 where it has
# AVX512-BF16 or AMX), the others in f32. bf16 detection moves box edges, which changes what
# the recognizer reads of many boxes; bf16 recognition flips about 1 crop in 100 (the crops of
# 12 receipts: 6 of 653; "1231.00" -> "12:31.00") and is the bigger saving (recognizer 0.83 ->
# 0.59 s/page). Receipts' soft/exact F1 (document caches, README "Performance"): every model
# native 0.933/0.840 -> 0.923/0.833 (an earlier session); the recognizer only 0.936/0.843 ->
# 0.933/0.840, with FUNSD and CMS-1500 as in f32.
NATIVE_PRECISION = {"auto": {"rec"}, "native": {"det", "cls", "rec"}, "f32": set()}
# Text boxes the angle classifier looks at to tell an upside-down page (see _flipped_share).
CLS_SAMPLE = 24


@dataclass
class RapidRead:
    """What one PP-OCR pass found: words, the text boxes read badly, and step timings."""

    words: list[Word] = field(default_factory=list)
    # Pixel quads of text boxes whose text came out empty or far too short for their width.
    suspects: list[np.ndarray] = field(default_factory=list)
    segment_scores: dict[int, float] = field(default_factory=dict)
    # Share of the sampled text boxes the angle classifier sees turned by 180 degrees.
    flipped_share: float = 0.0
    # Degrees the page's text lines fall (+) or climb (-) from left to right (docproc.deskew);
    # None: too few long lines to tell.
    skew: float | None = None
    timings: dict[str, float] = field(default_factory=dict)


def require_runtime(runtime: str) -> None:
    """A clear error when the OpenVINO runtime is asked for but not installed."""
    if OPENVINO_STEPS.get(runtime) and importlib.util.find_spec("openvino") is None:
        raise DocprocError("ocr", "runtime_missing", "ocr runtime openvino is not installed (pip install openvino)")


# Which PP-OCR models run on OpenVINO per (resolved) runtime; the others on ONNX Runtime.
OPENVINO_STEPS = {"onnxruntime": set(), "openvino-det": {"det", "cls"}, "openvino": {"det", "cls", "rec"}}


def resolve_runtime(runtime: str) -> str:
    """What `auto` stands for: the detector and angle classifier on OpenVINO (in f32: the same
    boxes and text as ONNX Runtime, tested) on CPUs with AVX-512, where its detector is 2.5-3x
    faster (receipts 0.77 -> 0.27-0.29 s/page, forms 0.44 -> 0.14: README "Performance"), the
    recognizer on ONNX Runtime (OpenVINO's f32 recognizer is no faster); ONNX Runtime alone
    elsewhere (on an AVX2-only CPU OpenVINO was no faster) or without OpenVINO."""
    if runtime != "auto":
        return runtime
    return "openvino-det" if _openvino_fast() else "onnxruntime"


@lru_cache(maxsize=1)
def _openvino_fast() -> bool:
    if importlib.util.find_spec("openvino") is None:
        return False
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            return " avx512f" in f.read()
    except OSError:  # not Linux: not measured there
        return False


def build_params(threads: int, runtime: str = "onnxruntime") -> dict:
    params = {
        "Global.log_level": "warning",
        "Global.return_word_box": True,
        "Det.limit_type": DET_LIMIT_TYPE,
        "Det.limit_side_len": DET_LIMIT_SIDE_LEN,
        "Rec.rec_batch_num": REC_BATCH,
        "Rec.rec_img_shape": [3, 48, REC_MIN_WIDTH],
    }
    steps = OPENVINO_STEPS[runtime]
    if steps:
        from rapidocr import EngineType

        for step in steps:
            params[f"{step.capitalize()}.engine_type"] = EngineType.OPENVINO
        if threads > 0:
            params["EngineConfig.openvino.inference_num_threads"] = threads
    if threads > 0:
        params["EngineConfig.onnxruntime.intra_op_num_threads"] = threads
        params["EngineConfig.onnxruntime.inter_op_num_threads"] = 1
    return params


class _ReleasingSession:
    """An OpenVINO session that gives its working memory back after every call.

    OpenVINO sizes the detector's intermediate buffers to each input and keeps them at the
    largest it has seen (0.6 GB after one 2.8-megapixel A4 scan), on top of what the next
    page's call allocates; `release_memory` hands them back in 0-45 ms. The next page faults
    the memory in again: in the pipeline (heap trimmed after every page) the detector took
    0.26 s per receipt against 0.18 keeping its buffers, for a peak RSS 270 MB lower (bench,
    20 receipts, back to back; README "Performance"). The output is a view of
    OpenVINO's own buffer, so it is copied first."""

    def __init__(self, session, compiled):
        self.session, self.compiled = session, compiled

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        try:
            return np.array(self.session(batch), copy=True)
        finally:
            self.compiled.release_memory()


def _sparse(text: str, quad: np.ndarray) -> bool:
    """True when a box holds far fewer characters than its shape says (unknown script)."""
    if any("\u0370" <= ch <= "\u03ff" for ch in text):
        return True  # stray Greek letters are how the recognizer renders Cyrillic glyphs
    w = float(np.linalg.norm(quad[0] - quad[1]))
    h = float(np.linalg.norm(quad[1] - quad[2]))
    if h <= 0 or w < 2 * h:
        return not text.strip()
    expected = w / (0.6 * h)  # a glyph is roughly 0.5-0.7 line heights wide
    return len(text.replace(" ", "")) < 0.45 * expected


class RapidOcrEngine:
    name = "rapidocr"

    def __init__(self, threads: int = 0, params: dict | None = None, warm: bool = True,
                 runtime: str = "auto", precision: str = "auto", det_max_mpixels: float = 4.0):
        from rapidocr import RapidOCR  # heavy import, once per process

        runtime = resolve_runtime(runtime)
        require_runtime(runtime)
        self.runtime = runtime
        self._ocr = RapidOCR(params=params or build_params(threads, runtime))
        self._load_models()
        self._use_fast_preprocess(det_max_mpixels)
        if OPENVINO_STEPS[runtime]:
            self._recompile(threads, precision, OPENVINO_STEPS[runtime])
        if warm:
            self.read(_warm_image())

    def _load_models(self) -> None:
        """Create the inference sessions now: rapidocr creates them lazily on the first page,
        which made a worker's first document seconds slower than the rest."""
        for load in ("_load_det_model", "_load_cls_model", "_load_rec_model"):
            getattr(self._ocr, load, lambda: None)()

    def _use_fast_preprocess(self, max_mpixels: float) -> None:
        """rapidocr normalizes the detector's input in float64 (its mean and std are float64
        arrays) and casts the result to float32; float32 arithmetic gives the same array
        (tested). Resize and normalization of 20 receipts: 36-44 -> 28-33 ms per page. The
        input is also held to a pixel budget (see Float32DetPreProcess)."""
        det = self._ocr.text_det
        det.get_preprocess = lambda: Float32DetPreProcess(det.limit_side_len, det.limit_type,
                                                         det.mean, det.std, max_mpixels * 1e6)

    def _recompile(self, threads: int, precision: str, steps: set[str]) -> None:
        """Compile rapidocr's OpenVINO models again with settings it does not pass through
        (about 0.1 s per model, once per process).

        The CPU plugin keeps compiled kernels for every input shape it has seen (up to 5,000);
        every page and crop width is a new shape, so a worker grew past 2 GB RSS within 30
        receipts and hit its address-space cap. OpenVINO also pins its threads to cores, so two
        one-thread pool workers shared one core (20 receipts, 2 workers: 39.3 s, 25.2 s
        unpinned). Precision: OpenVINO's default is the CPU's fastest (bf16 where it has it);
        see NATIVE_PRECISION for which models get it."""
        from openvino import Core

        core = Core()
        _tune_malloc(small_blocks_mapped="rec" in steps)
        for step, model in (("det", self._ocr.text_det), ("cls", self._ocr.text_cls), ("rec", self._ocr.text_rec)):
            if step not in steps:
                continue
            config = {"CPU_RUNTIME_CACHE_CAPACITY": "0", "ENABLE_CPU_PINNING": False}
            if step not in NATIVE_PRECISION[precision]:
                config["INFERENCE_PRECISION_HINT"] = "f32"
            if threads > 0:
                config["INFERENCE_NUM_THREADS"] = threads
            session = model.session
            compiled = core.compile_model(session.model, "CPU", config)
            session.session = compiled.create_infer_request()
            if step == "det":  # the one model whose inputs reach megapixels
                model.session = _ReleasingSession(session, compiled)

    def detect(self, image: Image.Image) -> list[Word]:
        return self.read(image).words

    def read(self, image: Image.Image) -> RapidRead:
        from rapidocr.utils.process_img import map_boxes_to_original, map_img_to_original
        from rapidocr.main import RapidOCRError

        eng = self._ocr
        rgb = np.asarray(to_rgb(image))
        # rapidocr's loader expects BGR arrays, as cv2 gives them.
        ori = np.ascontiguousarray(rgb[:, :, ::-1])
        height, width = ori.shape[:2]
        out = RapidRead()
        img, op_record = eng.preprocess_img(ori)
        # The page's full-size copies are not needed past here (crops come from `img`, at most
        # 2,000 px long): an A4 scan at 300 dpi frees 52 MB before the detector's peak.
        del rgb, ori
        try:
            crops, det = eng.detect_and_crop(img, op_record)
        except RapidOCRError:  # no text found
            return out
        if not crops:
            return out
        out.timings["det"] = round(det.elapse or 0.0, 4)
        t0 = time.perf_counter()
        out.flipped_share = self._flipped_share(crops)
        out.timings["cls"] = round(time.perf_counter() - t0, 4)
        rec = eng.recognize_txt(crops)
        out.timings["rec"] = round(rec.elapse or 0.0, 4)
        if det.boxes is None or rec.txts is None or len(det.boxes) == 0:
            return out
        boxes = map_boxes_to_original(det.boxes, op_record, height, width)
        out.skew = boxes_skew(boxes)
        pre = op_record["preprocess"]
        crops = map_img_to_original(crops, pre["ratio_h"], pre["ratio_w"])

        keep: list[int] = []
        for i, (text, score) in enumerate(zip(rec.txts, rec.scores)):
            if _sparse(text, boxes[i]):
                out.suspects.append(boxes[i])
            elif score >= MIN_TEXT_SCORE:
                keep.append(i)
        if not keep:
            return out

        t0 = time.perf_counter()
        word_lists = self._word_boxes(rec, [crops[i] for i in keep], boxes[keep], keep)
        out.timings["word_boxes"] = round(time.perf_counter() - t0, 4)
        for seg, i in enumerate(keep):
            out.segment_scores[seg] = float(rec.scores[i])
            for text, conf, quad in word_lists[seg]:
                if not text.strip():
                    continue
                out.words.append(Word(
                    text=text.strip(),
                    bbox=relative_bbox(quad, width, height),
                    confidence=round(float(conf), 4),
                    segment=seg,
                    source=self.name,
                ))
        return out

    def _flipped_share(self, crops: list[np.ndarray]) -> float:
        """The angle classifier's vote on the page's orientation, from up to CLS_SAMPLE boxes
        spread over the page. Its verdicts are not applied box by box: on upright pages it
        turned ~1 box in 60 by mistake, and a turned box reads as nonsense ("(99)" -> "(66)");
        an upside-down page is turned as a whole (docproc.ocr.ocr_page)."""
        if not crops:
            return 0.0
        step = max(1, len(crops) // CLS_SAMPLE)
        sample = crops[::step][:CLS_SAMPLE]
        res = self._ocr._load_cls_model()(sample)
        flipped = sum(1 for label, score in res.cls_res if label == "180" and score >= 0.9)
        return flipped / len(sample)

    def _word_boxes(self, rec, crops, boxes, keep) -> list[list[tuple]]:
        """Word boxes from the recognizer's character columns; even split as a fallback."""
        from rapidocr.ch_ppocr_rec.typings import TextRecOutput

        sub = TextRecOutput(
            txts=tuple(rec.txts[i] for i in keep),
            scores=[rec.scores[i] for i in keep],
            word_results=tuple(rec.word_results[i] for i in keep),
        )
        try:
            result = self._ocr.cal_rec_boxes(crops, boxes, sub, False).word_results
        except Exception:  # noqa: BLE001 - a geometry corner case must not lose the text
            log.debug("word boxes failed; splitting boxes evenly", exc_info=True)
            result = ()
        if len(result) == len(keep) and all(result):
            return [[(t, s, b) for t, s, b in line if b is not None] for line in result]
        return [_even_split(rec.txts[i], rec.scores[i], boxes[j]) for j, i in enumerate(keep)]


class Float32DetPreProcess:
    """rapidocr's DetPreProcess with the normalization done in float32 (see
    RapidOcrEngine._use_fast_preprocess) and the input held to a pixel budget.

    rapidocr scales a page so its long side is at most 2,000 px, then the detector's input so
    its short side is at least 736: a letter scan comes to 3.1 megapixels, any page up to
    2.7:1 to at most 4, but a long narrow strip grows without bound, and the detector's
    working memory with it (about 0.2 GB per megapixel). Inputs over the budget are scaled
    down to it, in their proportions; the boxes are mapped back to the page by the
    detector's output size, and the recognizer still reads crops of the page itself."""

    def __init__(self, limit_side_len, limit_type, mean, std, max_pixels: float = float("inf")):
        from rapidocr.ch_ppocr_det.utils import DetPreProcess

        self._base = DetPreProcess(limit_side_len, limit_type, mean, std)
        self._scale = (self._base.scale / self._base.std).astype(np.float32)
        self._shift = (self._base.mean / self._base.std).astype(np.float32)
        self.max_pixels = max_pixels

    def __call__(self, img: np.ndarray) -> np.ndarray | None:
        resized = self._base.resize(img)
        if resized is None:
            return None
        height, width = resized.shape[:2]
        if height * width > self.max_pixels:
            import cv2  # rapidocr's own dependency

            shrink = (self.max_pixels / (height * width)) ** 0.5
            size = (max(32, int(width * shrink) // 32 * 32), max(32, int(height * shrink) // 32 * 32))
            resized = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
        normalized = resized.astype(np.float32) * self._scale - self._shift
        return np.ascontiguousarray(normalized.transpose((2, 0, 1))[np.newaxis])


# glibc: allocations above this size get their own mapping, unmapped again when freed.
MMAP_THRESHOLD = 64 * 1024
# glibc: heaps (arenas) for all threads; one per thread by default, each a 64 MB reservation.
MALLOC_ARENAS = 2


def _tune_malloc(small_blocks_mapped: bool) -> None:
    """glibc settings for a process that runs OpenVINO (process-wide; a no-op where the C
    library is not glibc). OpenVINO's threads each got an arena of their own, address space that
    counts against a pool worker's cap (a 6-page ad-buy scan: 4.5 GB peak, over the 4 GB cap,
    where the recognizer's output then came back cut short): at most MALLOC_ARENAS. With the
    recognizer on OpenVINO, whose buffers change size with every crop width, glibc kept the
    freed ones in its heap (a worker at 1.45 GB RSS after 30 receipts, 1.08 GB with blocks over
    MMAP_THRESHOLD mapped on their own, flat to 80); that setting slows ONNX Runtime's
    recognizer by about 45 % (8 receipts: 0.73 -> 1.06 s/page), so it is only made when
    OpenVINO runs the recognizer."""
    libc = _glibc()
    if libc is None:
        return
    libc.mallopt(-8, MALLOC_ARENAS)  # -8: M_ARENA_MAX
    if small_blocks_mapped:
        libc.mallopt(-3, MMAP_THRESHOLD)  # -3: M_MMAP_THRESHOLD


def trim_heap() -> None:
    """Give the heap's free pages back to the system (glibc's malloc_trim: 8-58 ms per
    receipt, measured beside another busy process). What the detector frees, hundreds of MB
    on a large page, stays in glibc's heap in pieces the next page cannot always reuse: 100
    receipts in one process with the detector on OpenVINO, RSS between pages 0.99 GB and peak
    1.72 GB untrimmed, 0.48 and 1.37 trimmed after every page."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


@lru_cache(maxsize=1)
def _glibc():
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt, libc.malloc_trim  # noqa: B018 - glibc only
    except (OSError, AttributeError):
        log.debug("not glibc; leaving malloc alone")
        return None
    return libc


def _warm_image() -> Image.Image:
    """A few printed words: enough for detection to find boxes, so cls and rec run too."""
    from PIL import ImageDraw, ImageFont

    image = Image.new("RGB", (320, 160), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=28)
    draw.text((12, 10), "TOTAL 12.50", fill="black", font=font)
    draw.text((12, 52), "Date 01/02/2024", fill="black", font=font)
    return image


def _even_split(text: str, score: float, quad: np.ndarray) -> list[tuple]:
    """Split a text box into words by character count (when no column positions exist)."""
    x0, y0 = quad[:, 0].min(), quad[:, 1].min()
    x1, y1 = quad[:, 0].max(), quad[:, 1].max()
    n = max(1, len(text))
    out, pos = [], 0
    for token in text.split(" "):
        if token:
            a = x0 + (x1 - x0) * pos / n
            b = x0 + (x1 - x0) * (pos + len(token)) / n
            out.append((token, score, [[a, y0], [b, y0], [b, y1], [a, y1]]))
        pos += len(token) + 1
    return out
