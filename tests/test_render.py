"""render_pages(): poppler/pdfium for PDFs, Pillow for images, limits and failure codes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fpdf import FPDF
from PIL import Image

from docproc.errors import DocprocError
from docproc.options import Limits, RenderOptions
from docproc.render import WARNINGS_KEY, render_pages
from docproc.sources import sniff


def _pdf(path: Path, pages: int = 1, size_pt: tuple[float, float] = (612, 792)) -> Path:
    doc = FPDF(unit="pt", format=size_pt)
    doc.set_font("helvetica", size=24)
    for n in range(pages):
        doc.add_page()
        doc.text(72, 72, f"Page {n + 1}")
        doc.set_fill_color(0, 0, 0)
        doc.rect(72, 100, 50 * (n + 1), 20, style="F")  # a bar whose length tells the page
    doc.output(str(path))
    return path


def _render(path: Path, pages: list[int], renderer: str = "auto", dpi: int = 72, limits: Limits | None = None):
    limits = limits or Limits()
    source = sniff(str(path), limits)
    return list(render_pages(source, RenderOptions(dpi=dpi, renderer=renderer), limits, pages))


def _bar_length(image: Image.Image) -> int:
    """Dark pixels on the row through the page's bar (y = 110 pt at 72 dpi)."""
    row = np.asarray(image.convert("L"))[110]
    return int((row < 100).sum())


@pytest.mark.parametrize("renderer", ["poppler", "pdfium", "auto"])
def test_pdf_pages_in_requested_order(tmp_path, renderer):
    path = _pdf(tmp_path / "three.pdf", pages=3)
    got = _render(path, [3, 1, 2], renderer)
    assert [n for n, _ in got] == [3, 1, 2]
    for n, image in got:
        assert image.mode == "RGB" and image.size == (612, 792)
        assert abs(_bar_length(image) - 50 * n) <= 3  # each image really is page n


def test_dpi_scales_the_image(tmp_path):
    path = _pdf(tmp_path / "one.pdf")
    [(_, image)] = _render(path, [1], dpi=144)
    assert image.size == (1224, 1584)
    assert image.info["dpi"] == (144, 144)
    assert image.info[WARNINGS_KEY] == []


@pytest.mark.parametrize("renderer", ["poppler", "pdfium"])
def test_rotated_page_is_drawn_as_displayed(tmp_path, renderer):
    import pypdfium2 as pdfium

    plain = _pdf(tmp_path / "plain.pdf", size_pt=(600, 400))
    doc = pdfium.PdfDocument(str(plain))
    doc[0].set_rotation(90)
    doc.save(str(tmp_path / "rotated.pdf"))
    doc.close()
    [(_, image)] = _render(tmp_path / "rotated.pdf", [1], renderer)
    assert image.size == (400, 600)


def test_oversized_page_drawn_at_lower_dpi_with_warning(tmp_path):
    path = _pdf(tmp_path / "poster.pdf", size_pt=(3000, 3000))
    limits = Limits(max_page_pixels=4_000_000)
    [(_, image)] = _render(path, [1], dpi=200, limits=limits)
    assert image.width * image.height <= 4_000_000
    assert image.info["dpi"][0] < 200
    assert "page too large" in image.info[WARNINGS_KEY][0]


def test_page_too_large_even_at_minimum_dpi(tmp_path):
    path = _pdf(tmp_path / "huge.pdf", size_pt=(14000, 14000))
    with pytest.raises(DocprocError) as info:
        _render(path, [1], limits=Limits(max_page_pixels=100_000))
    assert (info.value.stage, info.value.code) == ("render", "page_too_large")


def test_later_missing_page_is_none_first_raises(tmp_path):
    path = _pdf(tmp_path / "one.pdf")
    got = _render(path, [1, 4])
    assert got[0][1] is not None and got[1] == (4, None)
    with pytest.raises(DocprocError) as info:
        _render(path, [4])
    assert info.value.code == "render_failed"


def test_timeout_is_coded(tmp_path):
    path = _pdf(tmp_path / "one.pdf")
    with pytest.raises(DocprocError) as info:
        _render(path, [1], limits=Limits(render_timeout_s=0.001))
    assert info.value.code == "render_timeout"


def test_exif_orientation_applied(tmp_path):
    path = tmp_path / "photo.jpg"
    image = Image.new("RGB", (80, 40), "white")
    image.paste((0, 0, 0), (0, 0, 20, 40))  # dark band on the left as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # displayed rotated 90 degrees clockwise
    image.save(path, exif=exif, quality=95)
    [(_, shown)] = _render(path, [1])
    assert shown.size == (40, 80)
    top = np.asarray(shown.convert("L"))[:20]
    assert top.mean() < 60  # the stored left band is now on top


def test_multipage_tiff_every_frame_a_page(tmp_path):
    path = tmp_path / "scan.tif"
    colors = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    frames = [Image.new("RGB", (30, 20), c) for c in colors]
    frames[0].save(path, save_all=True, append_images=frames[1:], compression="tiff_deflate")
    got = _render(path, [1, 2, 3])
    assert [img.getpixel((5, 5)) for _, img in got] == colors


def test_transparency_flattened_onto_white_and_16bit_scaled(tmp_path):
    rgba = tmp_path / "logo.png"
    Image.new("RGBA", (10, 10), (0, 0, 0, 0)).save(rgba)
    [(_, flat)] = _render(rgba, [1])
    assert flat.mode == "RGB" and flat.getpixel((3, 3)) == (255, 255, 255)

    deep = tmp_path / "deep.png"
    ramp = np.tile(np.linspace(0, 4095, 64, dtype=np.uint16), (8, 1))  # 12 bits in 16
    Image.fromarray(ramp).save(deep)
    [(_, scaled)] = _render(deep, [1])
    assert scaled.getpixel((0, 0)) == (0, 0, 0) and scaled.getpixel((63, 0)) == (255, 255, 255)


def test_webp_renders(tmp_path):
    path = tmp_path / "page.webp"
    Image.new("RGB", (50, 30), (10, 200, 30)).save(path, "WEBP", lossless=True)
    [(_, image)] = _render(path, [1])
    assert image.size == (50, 30) and image.getpixel((1, 1)) == (10, 200, 30)


def test_truncated_image_fails_with_code(tmp_path):
    path = tmp_path / "cut.png"
    noise = np.random.default_rng(0).integers(0, 255, (200, 200, 3), dtype=np.uint8)
    Image.fromarray(noise).save(path)
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(DocprocError) as info:
        _render(path, [1])
    assert (info.value.stage, info.value.code) == ("render", "render_failed")
