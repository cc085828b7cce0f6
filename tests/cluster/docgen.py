"""Small documents the cluster tests generate: born-digital invoices (text layer, no OCR),
multi-page ones (to exercise the page fan-out) and a few low-resolution scans (OCR)."""

from __future__ import annotations

import random
from pathlib import Path

from faker import Faker
from fpdf import FPDF

from docproc.samples import degrade, make_invoice, render_invoice_pdf


def _multi_page_pdf(path: Path, rng: random.Random, fake: Faker, pages: int) -> None:
    pdf = FPDF(format="Letter", unit="pt")
    pdf.set_auto_page_break(False)
    pdf.set_font("Helvetica", size=12)
    number = f"INV-{rng.randint(1000, 99999)}"
    for page in range(1, pages + 1):
        pdf.add_page()
        pdf.set_xy(50, 50)
        pdf.cell(400, 16, f"{fake.company()} - Invoice {number} - page {page} of {pages}")
        for row in range(12):
            pdf.set_xy(50, 100 + row * 20)
            pdf.cell(400, 14, f"{fake.bs().title()}   {rng.randint(1, 9)} x {rng.randint(10, 999)}.00")
        if page == pages:
            pdf.set_xy(50, 400)
            pdf.cell(300, 16, f"Total: {rng.randint(100, 9999)}.{rng.randint(10, 99)} USD")
    pdf.output(str(path))


def _scan(pdf_path: Path, out_path: Path, rng: random.Random) -> None:
    from pdf2image import convert_from_path

    page = convert_from_path(str(pdf_path), dpi=90, first_page=1, last_page=1)[0]
    degrade(page, rng).save(out_path)


def make_documents(folder: Path, n_pdf: int, n_multi: int = 0, n_scans: int = 0, seed: int = 11) -> list[Path]:
    """n_pdf one-page invoices, n_multi 3-page PDFs and n_scans PNG scans, all distinct content."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    Faker.seed(seed)
    fake = Faker("en_US")
    paths: list[Path] = []
    for i in range(n_pdf):
        path = folder / f"invoice-{i:02d}.pdf"
        render_invoice_pdf(make_invoice(rng, fake), path)
        paths.append(path)
    for i in range(n_multi):
        path = folder / f"long-{i:02d}.pdf"
        _multi_page_pdf(path, rng, fake, pages=3)
        paths.append(path)
    for i in range(n_scans):
        pdf_path = folder / f".scan-src-{i:02d}.pdf"
        render_invoice_pdf(make_invoice(rng, fake), pdf_path)
        path = folder / f"scan-{i:02d}.png"
        _scan(pdf_path, path, rng)
        pdf_path.unlink()
        paths.append(path)
    return paths
