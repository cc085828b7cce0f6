"""Pages as RGB images: PDFs through poppler (pdftoppm) with pdfium as the fallback, images
through Pillow. Every renderer runs in a separate process with an address-space cap and a
deadline (docproc.sandbox): hostile files hang poppler or make it allocate gigabytes.

A page drawn at less than the asked DPI (its size x DPI would exceed limits.max_page_pixels)
carries the reason in ``image.info["docproc_warnings"]`` (a list of strings); the DPI it was
drawn at is ``image.info["dpi"]``.
"""

from __future__ import annotations

import math
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pypdfium2 as pdfium
from PIL import Image, ImageOps

from docproc import sandbox
from docproc.document import SourceInfo
from docproc.errors import DocprocError
from docproc.options import Limits, RenderOptions
from docproc.sources import check_pixels

WARNINGS_KEY = "docproc_warnings"
BATCH_PAGES = 8  # pages per renderer process: one PDF parse serves them all
MIN_DPI = 36  # below this a page is unreadable anyway: refuse it as page_too_large
# pdftoppm needs ~4 bytes per pixel; 1 GB covers the default page limit with room for image
# data, and stops poppler's JBIG2/bomb allocations early instead of after minutes.
_POPPLER_FLOOR_MB = 1024


@dataclass
class _Job:
    page: int
    dpi: int
    warning: str | None = None


@dataclass
class _Outcome:
    image: Image.Image | None
    code: str = "render_failed"  # why `image` is None


def render_pages(
    source: SourceInfo, options: RenderOptions, limits: Limits, pages: list[int]
) -> Iterator[tuple[int, Image.Image | None]]:
    """Yield ``(page, RGB image)`` for `pages` (1-based) in the order given.

    Raises DocprocError("render", code, ...) when the first page cannot be drawn by any
    renderer (codes render_timeout, render_failed, page_too_large); a later page that cannot
    be drawn comes as ``(page, None)``.
    """
    draw = _pdf_outcomes if source.kind == "pdf" else _image_outcomes
    first = True
    for page, outcome in draw(source, options, limits, pages):
        if outcome.image is None and first:
            raise DocprocError("render", outcome.code, f"{source.path}: page {page} not drawn")
        first = False
        yield page, outcome.image


def _batches(pages: list[int]) -> Iterator[list[int]]:
    """Runs of consecutive page numbers, at most BATCH_PAGES long."""
    run: list[int] = []
    for n in pages:
        if run and (n != run[-1] + 1 or len(run) == BATCH_PAGES):
            yield run
            run = []
        run.append(n)
    if run:
        yield run


def plan_dpi(page: int, width_pt: float, height_pt: float, dpi: int, limits: Limits) -> _Job | None:
    """The DPI to draw a page at so that it stays under max_page_pixels; None if even
    MIN_DPI is too much."""
    pixels = (width_pt * dpi / 72) * (height_pt * dpi / 72)
    if pixels <= limits.max_page_pixels:
        return _Job(page, dpi)
    lower = int(dpi * math.sqrt(limits.max_page_pixels / pixels))
    if lower < MIN_DPI:
        return None
    return _Job(page, lower, f"render: page {page} drawn at {lower} dpi instead of {dpi} (page too large)")


# --- PDF -------------------------------------------------------------------------------------

def _pdf_outcomes(
    source: SourceInfo, options: RenderOptions, limits: Limits, pages: list[int]
) -> Iterator[tuple[int, _Outcome]]:
    with tempfile.TemporaryDirectory(prefix="docproc-render-") as tmp:
        for batch in _batches(pages):
            done: dict[int, _Outcome] = {}
            if options.renderer in ("auto", "poppler"):
                done = _poppler_batch(source.path, batch, options.dpi, limits, Path(tmp))
            left = [n for n in batch if done.get(n) is None or done[n].image is None]
            if left and options.renderer in ("auto", "pdfium"):
                more = _in_child(_pdfium_draw, source.path, left, options.dpi, limits, Path(tmp))
                for n, outcome in more.items():
                    done[n] = _better(done.get(n), outcome)
            for n in batch:
                yield n, done.get(n, _Outcome(None))


_CODE_RANK = {"render_failed": 0, "render_timeout": 1, "page_too_large": 2}


def _better(a: _Outcome | None, b: _Outcome) -> _Outcome:
    """The drawn one; if neither is drawn, the more telling failure code."""
    if a is None or b.image is not None:
        return b
    if a.image is not None:
        return a
    return a if _CODE_RANK.get(a.code, 0) >= _CODE_RANK.get(b.code, 0) else b


_SIZE_RE = re.compile(rb"^Page\s+(\d+)\s+size:\s+([\d.]+) x ([\d.]+) pts", re.M)


def _poppler_sizes(path: str, batch: list[int], limits: Limits) -> dict[int, tuple[float, float]]:
    try:
        info = sandbox.run_command(
            ["pdfinfo", "-f", str(batch[0]), "-l", str(batch[-1]), "--", path],
            timeout_s=min(limits.render_timeout_s, 15.0), memory_mb=_poppler_memory_mb(limits),
        )
    except sandbox.SandboxTimeout:
        return {}
    return {int(n): (float(w), float(h)) for n, w, h in _SIZE_RE.findall(info.stdout)}


def _poppler_memory_mb(limits: Limits) -> int:
    needed_mb = 6 * limits.max_page_pixels // sandbox.MB
    return min(limits.worker_memory_mb, max(_POPPLER_FLOOR_MB, needed_mb))


def _poppler_batch(
    path: str, batch: list[int], dpi: int, limits: Limits, tmp: Path
) -> dict[int, _Outcome]:
    """Draw a run of pages with pdftoppm, one process per run of pages sharing a DPI.
    Pages it did not write (error, hang, memory cap) are left out for the fallback."""
    sizes = _poppler_sizes(path, batch, limits)
    out: dict[int, _Outcome] = {}
    jobs: list[_Job] = []
    for n in batch:
        if n not in sizes:
            continue  # poppler cannot even measure it: let pdfium try
        job = plan_dpi(n, *sizes[n], dpi, limits)
        if job is None:
            out[n] = _Outcome(None, "page_too_large")
        else:
            jobs.append(job)
    for group in _same_dpi_runs(jobs):
        root = tmp / f"pop{group[0].page}"
        argv = ["pdftoppm", "-r", str(group[0].dpi), "-f", str(group[0].page),
                "-l", str(group[-1].page), "--", path, str(root)]
        code = "render_failed"
        try:
            sandbox.run_command(argv, timeout_s=limits.render_timeout_s,
                                memory_mb=_poppler_memory_mb(limits))
        except sandbox.SandboxTimeout:
            code = "render_timeout"
        written = {int(m.group(1)): f for f in tmp.glob(f"{root.name}-*.ppm")
                   if (m := re.search(r"-0*(\d+)\.ppm$", f.name))}
        for job in group:
            out[job.page] = _load(written.get(job.page), job, code)
    return out


def _same_dpi_runs(jobs: list[_Job]) -> Iterator[list[_Job]]:
    run: list[_Job] = []
    for job in jobs:
        if run and (job.dpi != run[-1].dpi or job.page != run[-1].page + 1):
            yield run
            run = []
        run.append(job)
    if run:
        yield run


def _load(file: Path | None, job: _Job, code: str) -> _Outcome:
    """Read a page a renderer wrote. A file cut short by a kill fails to load: not drawn."""
    if file is None or not file.exists():
        return _Outcome(None, code)
    try:
        with Image.open(file) as im:
            im.load()
            image = im.convert("RGB")
    except Exception:
        return _Outcome(None, code)
    finally:
        file.unlink(missing_ok=True)
    image.info["dpi"] = (job.dpi, job.dpi)
    image.info[WARNINGS_KEY] = [job.warning] if job.warning else []
    return _Outcome(image)


def _pdfium_draw(path: str, pages: list[int], dpi: int, limits: Limits, tmp: Path) -> dict[int, tuple]:
    """Child side: draw pages with pdfium into `tmp`; {page: (file or None, code, job)}."""
    result: dict[int, tuple] = {}
    doc = pdfium.PdfDocument(path)
    for n in pages:
        if not 1 <= n <= len(doc):
            result[n] = (None, "render_failed", _Job(n, dpi))
            continue
        page = doc[n - 1]
        job = plan_dpi(n, *page.get_size(), dpi, limits)
        if job is None:
            result[n] = (None, "page_too_large", _Job(n, dpi))
            continue
        file = tmp / f"pdfium-{n}.ppm"
        page.render(scale=job.dpi / 72).to_pil().convert("RGB").save(file, "PPM")
        result[n] = (file, "", job)
    return result


# --- images ----------------------------------------------------------------------------------

def _image_outcomes(
    source: SourceInfo, options: RenderOptions, limits: Limits, pages: list[int]
) -> Iterator[tuple[int, _Outcome]]:
    with tempfile.TemporaryDirectory(prefix="docproc-render-") as tmp:
        for batch in _batches(pages):
            done = _in_child(_image_draw, source.path, batch, options.dpi, limits, Path(tmp))
            for n in batch:
                yield n, done.get(n, _Outcome(None))


def _image_draw(path: str, pages: list[int], dpi: int, limits: Limits, tmp: Path) -> dict[int, tuple]:
    """Child side: decode image frames (every TIFF frame is a page) into `tmp`."""
    Image.MAX_IMAGE_PIXELS = limits.max_page_pixels
    warnings.simplefilter("ignore")
    result: dict[int, tuple] = {}
    with Image.open(path) as im:
        for n in pages:
            job = _Job(n, dpi)
            try:
                im.seek(n - 1)
            except EOFError:
                result[n] = (None, "render_failed", job)
                continue
            try:
                check_pixels(*im.size, limits, f"{path} page {n}", stage="render")
            except DocprocError as exc:
                result[n] = (None, exc.code, job)
                continue
            try:
                image = to_rgb(_upright(im))
            except Exception:
                result[n] = (None, "render_failed", job)
                continue
            file = tmp / f"image-{n}.ppm"
            image.save(file, "PPM")
            result[n] = (file, "", job)
    return result


def _upright(im: Image.Image) -> Image.Image:
    """Apply the EXIF orientation; a broken EXIF block is ignored, not fatal."""
    im.load()
    try:
        return ImageOps.exif_transpose(im)
    except Exception:
        return im


def to_rgb(im: Image.Image) -> Image.Image:
    """Any Pillow mode as 8-bit RGB; transparency is flattened onto white."""
    if im.mode in ("I", "F") or im.mode.startswith("I;"):
        arr = np.asarray(im, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        scaled = (arr - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(arr)
        im = Image.fromarray(scaled.astype(np.uint8), "L")
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return im.convert("RGB")


# --- running a drawer in the sandbox ---------------------------------------------------------

def _in_child(
    drawer: Callable[..., dict[int, tuple]], path: str, pages: list[int], dpi: int,
    limits: Limits, tmp: Path,
) -> dict[int, _Outcome]:
    """Run `drawer` in a capped child. If it dies or hangs midway, the pages it finished
    writing still count; the rest get the failure's code."""
    try:
        report = sandbox.call_in_child(
            drawer, path, pages, dpi, limits, tmp,
            timeout_s=limits.render_timeout_s, memory_mb=limits.worker_memory_mb,
        )
    except sandbox.SandboxTimeout:
        report, failure = {}, "render_timeout"
    except (sandbox.SandboxError, Exception):
        report, failure = {}, "render_failed"
    else:
        failure = "render_failed"
    out: dict[int, _Outcome] = {}
    for n in pages:
        if n in report:
            file, code, job = report[n]
            out[n] = _load(file, job, code or failure) if file else _Outcome(None, code)
        else:
            prefix = "pdfium" if drawer is _pdfium_draw else "image"
            out[n] = _load(tmp / f"{prefix}-{n}.ppm", _Job(n, dpi), failure)
    return out
