"""PaddleOCR 3.x (PaddleX pipeline) as an OcrEngine, on ONNX Runtime and local models only.

Optional: needs the `paddle` extra (`pip install docproc[paddle]`); imported lazily so that
docproc works without it. `OcrOptions.paddle_model_dir` names a folder holding one
sub-folder per model, each with `inference.onnx` + `inference.yml` (PaddleX's layout):

    <paddle_model_dir>/det/   text detection   (e.g. PP-OCRv6_small_det)
    <paddle_model_dir>/rec/   text recognition (e.g. PP-OCRv6_small_rec)

`write_bundled_models(dir)` fills such a folder from the PP-OCR ONNX weights that the
rapidocr wheel ships (it writes the inference.yml PaddleX expects), so this engine runs
offline with no download.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from docproc.document import Word
from docproc.errors import DocprocError
from docproc.ocr.base import relative_bbox, to_rgb

DET_NAME = "PP-OCRv6_small_det"
REC_NAME = "PP-OCRv6_small_rec"


def _rapidocr_models() -> Path:
    import rapidocr

    return Path(rapidocr.__file__).resolve().parent / "models"


def write_bundled_models(target: str | Path) -> Path:
    """Lay out rapidocr's bundled det/rec ONNX models as PaddleX model folders in `target`."""
    import onnxruntime as ort
    import yaml

    target = Path(target)
    src = _rapidocr_models()
    det_dir, rec_dir = target / "det", target / "rec"
    det_dir.mkdir(parents=True, exist_ok=True)
    rec_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src / "PP-OCRv6_det_small.onnx", det_dir / "inference.onnx")
    shutil.copyfile(src / "PP-OCRv6_rec_small.onnx", rec_dir / "inference.onnx")
    det_cfg = {
        "Global": {"model_name": DET_NAME},
        "PreProcess": {"transform_ops": [
            {"DecodeImage": {"channel_first": False, "img_mode": "BGR"}},
            {"DetLabelEncode": None},
            {"DetResizeForTest": {"resize_long": 736, "limit_type": "min"}},
            # The v6 det model was trained with 0.5/0.5 normalisation (rapidocr's config.yaml).
            {"NormalizeImage": {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5],
                                "scale": 1.0 / 255.0, "order": "hwc"}},
            {"ToCHWImage": None},
            {"KeepKeys": {"keep_keys": ["image", "shape", "polys", "ignore_tags"]}},
        ]},
        "PostProcess": {"name": "DBPostProcess", "thresh": 0.3, "box_thresh": 0.5,
                        "max_candidates": 1000, "unclip_ratio": 1.6},
    }
    # The recognizer's character list travels in the ONNX file's metadata.
    session = ort.InferenceSession(str(rec_dir / "inference.onnx"), providers=["CPUExecutionProvider"])
    chars = session.get_modelmeta().custom_metadata_map["character"].split("\n")
    rec_cfg = {
        "Global": {"model_name": REC_NAME},
        "PreProcess": {"transform_ops": [
            {"DecodeImage": {"channel_first": False, "img_mode": "BGR"}},
            {"MultiLabelEncode": {"gtc_encode": "NRTRLabelEncode"}},
            {"RecResizeImg": {"image_shape": [3, 48, 320]}},
            {"KeepKeys": {"keep_keys": ["image", "label_ctc", "label_gtc", "length", "valid_ratio"]}},
        ]},
        "PostProcess": {"name": "CTCLabelDecode", "character_dict": chars},
    }
    for folder, cfg in ((det_dir, det_cfg), (rec_dir, rec_cfg)):
        with open(folder / "inference.yml", "w", encoding="utf-8") as fh:
            yaml.safe_dump(cfg, fh, allow_unicode=True, sort_keys=False)
    return target


def _model_name(folder: Path) -> str:
    import yaml

    with open(folder / "inference.yml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)["Global"]["model_name"]


class PaddleEngine:
    name = "paddleocr"

    def __init__(self, pipeline: Any):
        # Anything with PaddleOCR's `predict(ndarray)` -> [result with rec_texts/rec_scores/rec_boxes].
        self._pipeline = pipeline

    @classmethod
    def from_options(cls, options) -> "PaddleEngine":
        if not options.paddle_model_dir:
            raise DocprocError("ocr", "paddle_models_missing", "ocr.paddle_model_dir is not set")
        root = Path(options.paddle_model_dir)
        det, rec = root / "det", root / "rec"
        if not (det / "inference.yml").is_file() or not (rec / "inference.yml").is_file():
            raise DocprocError("ocr", "paddle_models_missing", f"no det/ and rec/ models under {root}")
        try:
            from paddleocr import PaddleOCR
        except ImportError as exc:
            raise DocprocError("ocr", "paddle_not_installed", "install docproc[paddle]") from exc
        kwargs: dict[str, Any] = dict(
            engine="onnxruntime",
            text_detection_model_name=_model_name(det), text_detection_model_dir=str(det),
            text_recognition_model_name=_model_name(rec), text_recognition_model_dir=str(rec),
            use_doc_orientation_classify=False, use_doc_unwarping=False,
            use_textline_orientation=False, return_word_box=True,
        )
        if options.threads > 0:
            kwargs["cpu_threads"] = options.threads
        return cls(PaddleOCR(**kwargs))

    def detect(self, image: Image.Image) -> list[Word]:
        rgb = to_rgb(image)
        bgr = np.ascontiguousarray(np.asarray(rgb)[:, :, ::-1])
        results = list(self._pipeline.predict(bgr))
        words: list[Word] = []
        if not results:
            return words
        res = results[0]
        get = res.get if hasattr(res, "get") else lambda k, d=None: getattr(res, k, d)
        texts, scores = get("rec_texts", []) or [], get("rec_scores", []) or []
        polys = get("rec_polys", None)
        if polys is None:
            polys = get("dt_polys", []) or []
        word_texts = get("text_word", None)
        word_boxes = get("text_word_boxes", None)
        for seg, (text, score) in enumerate(zip(texts, scores)):
            if not str(text).strip():
                continue
            pairs = None
            if word_texts is not None and word_boxes is not None and seg < len(word_texts):
                pairs = merge_pieces(str(text), list(word_texts[seg]), list(word_boxes[seg]))
            if not pairs:
                pairs = [(text, polys[seg])]
            for token, box in pairs:
                pts = np.asarray(box, dtype=float).reshape(-1, 2)
                words.append(Word(
                    text=str(token).strip(), bbox=relative_bbox(pts, rgb.width, rgb.height),
                    confidence=round(float(score), 4), segment=seg, source=self.name,
                ))
        return words


def merge_pieces(text: str, pieces: list[str], boxes: list) -> list[tuple[str, np.ndarray]] | None:
    """Join PaddleOCR's word pieces ("NO", ".", "5") back into the space-separated words of
    `text`, each with the union box of its pieces; None when the pieces do not spell `text`."""
    out: list[tuple[str, np.ndarray]] = []
    i = 0
    for token in text.split():
        got, pts = "", []
        while i < len(pieces) and len(got) < len(token):
            piece = str(pieces[i]).replace(" ", "")
            got += piece
            if piece:
                pts.append(np.asarray(boxes[i], dtype=float).reshape(-1, 2))
            i += 1
        if got != token or not pts:
            return None
        out.append((token, np.vstack(pts)))
    return out
