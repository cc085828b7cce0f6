"""Tesseract (Debian's eng + rus data) through pytesseract as an OcrEngine."""

from __future__ import annotations

from PIL import Image

from docproc.document import Word
from docproc.errors import DocprocError
from docproc.ocr.base import relative_bbox


class TesseractEngine:
    name = "tesseract"

    def __init__(self, languages: str = "eng+rus", timeout_s: float = 0.0):
        self.languages = languages
        self.timeout_s = timeout_s  # 0 = no limit (pytesseract's convention)
        self.config = "--psm 3"  # automatic page segmentation, no OSD

    def detect(self, image: Image.Image) -> list[Word]:
        import pytesseract

        try:
            data = pytesseract.image_to_data(
                image, lang=self.languages, config=self.config,
                output_type=pytesseract.Output.DICT, timeout=self.timeout_s,
            )
        except RuntimeError as exc:  # pytesseract's timeout
            raise DocprocError("ocr", "ocr_timeout", f"tesseract over {self.timeout_s:.0f}s") from exc
        words: list[Word] = []
        segments: dict[tuple[int, int, int], int] = {}
        for i, text in enumerate(data["text"]):
            text = (text or "").strip()
            conf = float(data["conf"][i])
            if not text or conf < 0:
                continue
            key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
            seg = segments.setdefault(key, len(segments))
            x, y, w, h = data["left"][i], data["top"][i], data["width"][i], data["height"][i]
            words.append(Word(
                text=text,
                bbox=relative_bbox([(x, y), (x + w, y + h)], image.width, image.height),
                confidence=round(conf / 100.0, 4),
                segment=seg,
                source=self.name,
            ))
        return words
