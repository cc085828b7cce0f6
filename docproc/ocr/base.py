"""The engine interface and the page-level OCR result shared by every engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, Sequence

from PIL import Image

from docproc.document import BBox, Ruling, Word


class OcrEngine(Protocol):
    """One OCR engine: read an image into words with page-relative boxes."""

    name: str

    def detect(self, image: Image.Image) -> list[Word]: ...


@dataclass
class OcrPageResult:
    words: list[Word] = field(default_factory=list)
    script: str = "latin"  # dominant script of the page's letters
    rotation: int = 0  # degrees the image was rotated before reading
    # Degrees the scan's rows were skewed by; the words are straightened (docproc.deskew).
    skew: float = 0.0
    rulings: list[Ruling] = field(default_factory=list)  # ruled lines, in the words' frame
    warnings: list[str] = field(default_factory=list)
    # Seconds per step ("det", "rec", "script", ...), for benchmarks.
    timings: dict[str, float] = field(default_factory=dict)


def relative_bbox(points: Sequence[Sequence[float]], width: int, height: int) -> BBox:
    """Axis-aligned page-relative box around pixel points (a quad or a rectangle's corners)."""
    xs = [float(p[0]) for p in points]
    ys = [float(p[1]) for p in points]
    return (
        min(max(min(xs) / width, 0.0), 1.0),
        min(max(min(ys) / height, 0.0), 1.0),
        min(max(max(xs) / width, 0.0), 1.0),
        min(max(max(ys) / height, 0.0), 1.0),
    )


def to_rgb(image: Image.Image) -> Image.Image:
    return image if image.mode == "RGB" else image.convert("RGB")


def onnx_threads(requested: int) -> int:
    """ONNX Runtime intra-op threads for OcrOptions.threads (0 = auto; 0 returned = library
    default, one thread per core).

    Auto is 1 in a process-pool worker: the pool already runs one document per core, and
    threads on top oversubscribe the cores. On 30 SROIE receipts, 2 cores (bench/par):
    2 workers x 1 thread 1.23-1.33 docs/s, 1 worker x 2 threads 1.01-1.08, 2 workers x
    default threads 0.84 (CPU per document 1.5 vs 2.4 s: spinning threads fight).
    """
    if requested > 0:
        return requested
    import multiprocessing

    return 1 if multiprocessing.parent_process() is not None else 0
