"""Tesseract (Debian's eng + rus data) through pytesseract as an OcrEngine."""

from __future__ import annotations

import io
import os
import shlex
import subprocess

from PIL import Image

from docproc.document import Word
from docproc.errors import DocprocError
from docproc.ocr.base import relative_bbox


# One OpenMP thread per Tesseract run: workers already use every core, and OpenMP's spinning
# threads fight over them. On the script fallback's line stacks of 20 SROIE + 20 FUNSD pages
# (2 shared cores): default threads 6.4 s wall / 6.0 s CPU, one thread 2.0 / 1.8, same text.
ONE_THREAD = {"OMP_THREAD_LIMIT": "1"}


def image_to_data(image: Image.Image, languages: str, config: str, timeout_s: float) -> dict[str, list]:
    """pytesseract.image_to_data(..., output_type=DICT), run with one OpenMP thread (pytesseract
    gives no way to set a call's environment). Raises RuntimeError on timeout, as it does."""
    import pytesseract

    png = io.BytesIO()
    image.save(png, format="PNG")
    argv = [pytesseract.pytesseract.tesseract_cmd, "stdin", "stdout", "-l", languages,
            "-c", "tessedit_create_tsv=1", *shlex.split(config)]
    try:
        done = subprocess.run(argv, input=png.getvalue(), capture_output=True,
                              timeout=timeout_s or None, env={**os.environ, **ONE_THREAD})
    except subprocess.TimeoutExpired:
        raise RuntimeError("Tesseract process timeout") from None
    if done.returncode:
        raise pytesseract.TesseractError(done.returncode, f"tesseract exited {done.returncode}")
    return pytesseract.pytesseract.file_to_dict(done.stdout.decode("utf-8", "replace"), "\t", -1)


class TesseractEngine:
    name = "tesseract"

    def __init__(self, languages: str = "eng+rus", timeout_s: float = 0.0):
        self.languages = languages
        self.timeout_s = timeout_s  # 0 = no limit (pytesseract's convention)
        self.config = "--psm 3"  # automatic page segmentation, no OSD

    def detect(self, image: Image.Image) -> list[Word]:
        try:
            data = image_to_data(image, self.languages, self.config, self.timeout_s)
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
