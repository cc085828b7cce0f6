"""Documents the project makes itself, with their ground truth: invoices as born-digital PDFs
and as degraded "scans" (rendered, rotated, blurred, noised, JPEG-compressed).

They feed the demo and the core tests, so neither depends on third parties' files.

    python -m docproc.samples DIR [--count N] [--seed S]

writes DIR/docs/* and DIR/manifest.jsonl in the eval format (DESIGN §6).
"""

from __future__ import annotations

import argparse
import io
import json
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
from faker import Faker
from fpdf import FPDF
from PIL import Image, ImageFilter

FONT_DIRS = [Path("/usr/share/fonts/truetype/dejavu")]
CENT = Decimal("0.01")


@dataclass
class LineSpec:
    description: str
    quantity: int
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        return (self.unit_price * self.quantity).quantize(CENT, ROUND_HALF_UP)


@dataclass
class InvoiceSpec:
    vendor_name: str
    vendor_address: list[str]
    customer_name: str
    customer_address: list[str]
    invoice_number: str
    invoice_date: date
    due_date: date
    currency: str
    tax_rate: Decimal
    lines: list[LineSpec] = field(default_factory=list)
    date_style: str = "long"

    @property
    def subtotal(self) -> Decimal:
        return sum((l.amount for l in self.lines), Decimal("0.00"))

    @property
    def tax(self) -> Decimal:
        return (self.subtotal * self.tax_rate / 100).quantize(CENT, ROUND_HALF_UP)

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.tax

    def expected(self) -> dict:
        return {
            "vendor_name": self.vendor_name,
            "customer_name": self.customer_name,
            "invoice_number": self.invoice_number,
            "invoice_date": self.invoice_date.isoformat(),
            "due_date": self.due_date.isoformat(),
            "currency": self.currency,
            "subtotal": str(self.subtotal),
            "tax": str(self.tax),
            "total": str(self.total),
        }


PRODUCTS = ["Consulting hours", "Software licence", "Support plan", "Cloud storage (TB)", "Onboarding workshop",
            "Hardware maintenance", "Data migration", "Training session", "API usage block", "Security audit"]
SYMBOLS = {"USD": "$", "EUR": "EUR ", "GBP": "GBP "}


def make_invoice(rng: random.Random, fake: Faker) -> InvoiceSpec:
    issued = date(2023, 1, 1) + timedelta(days=rng.randrange(700))
    n_lines = rng.randint(2, 5)
    return InvoiceSpec(
        vendor_name=fake.company(),
        vendor_address=[fake.street_address(), f"{fake.city()}, {fake.state_abbr()} {fake.zipcode()}"],
        customer_name=fake.company(),
        customer_address=[fake.street_address(), f"{fake.city()}, {fake.state_abbr()} {fake.zipcode()}"],
        invoice_number=f"INV-{rng.randint(1000, 99999)}",
        invoice_date=issued,
        due_date=issued + timedelta(days=rng.choice([14, 30, 45])),
        currency=rng.choice(["USD", "EUR", "GBP"]),
        tax_rate=Decimal(rng.choice(["5", "7.5", "10", "20"])),
        lines=[LineSpec(rng.choice(PRODUCTS), rng.randint(1, 12),
                        Decimal(rng.randint(1500, 250000)) / 100) for _ in range(n_lines)],
        date_style=rng.choice(["long", "iso", "us_long"]),
    )


def _fmt_date(d: date, style: str) -> str:
    if style == "iso":
        return d.isoformat()
    if style == "us_long":
        return d.strftime("%B %d, %Y")
    return d.strftime("%d %B %Y")


def _money(spec: InvoiceSpec, value: Decimal) -> str:
    return f"{SYMBOLS[spec.currency]}{value:,.2f}"


def _font(pdf: FPDF) -> str:
    for folder in FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.exists() and bold.exists():
            pdf.add_font("DejaVu", "", str(regular))
            pdf.add_font("DejaVu", "B", str(bold))
            return "DejaVu"
    return "Helvetica"


def render_invoice_pdf(spec: InvoiceSpec, path: Path) -> None:
    pdf = FPDF(format="Letter", unit="pt")
    pdf.set_auto_page_break(False)
    pdf.add_page()
    font = _font(pdf)
    pdf.set_font(font, "B", 18)
    pdf.set_xy(50, 50)
    pdf.cell(300, 22, spec.vendor_name)
    pdf.set_font(font, "", 10)
    for i, line in enumerate(spec.vendor_address):
        pdf.set_xy(50, 78 + 14 * i)
        pdf.cell(260, 12, line)
    pdf.set_font(font, "B", 22)
    pdf.set_xy(400, 50)
    pdf.cell(160, 24, "INVOICE", align="R")
    pdf.set_font(font, "", 10)
    meta = [("Invoice No:", spec.invoice_number), ("Invoice Date:", _fmt_date(spec.invoice_date, spec.date_style)),
            ("Due Date:", _fmt_date(spec.due_date, spec.date_style)), ("Currency:", spec.currency)]
    for i, (label, value) in enumerate(meta):
        pdf.set_xy(360, 90 + 15 * i)
        pdf.cell(80, 12, label)
        pdf.set_xy(445, 90 + 15 * i)
        pdf.cell(120, 12, value)
    pdf.set_font(font, "B", 10)
    pdf.set_xy(50, 170)
    pdf.cell(200, 12, "Bill To:")
    pdf.set_font(font, "", 10)
    for i, line in enumerate([spec.customer_name] + spec.customer_address):
        pdf.set_xy(50, 186 + 14 * i)
        pdf.cell(260, 12, line)

    cols = [(50, 250, "Description", "L"), (300, 60, "Qty", "R"), (370, 90, "Unit Price", "R"),
            (470, 90, "Amount", "R")]
    y = 260
    pdf.set_font(font, "B", 10)
    for x, w, title, align in cols:
        pdf.set_xy(x, y)
        pdf.cell(w, 14, title, align=align)
    pdf.line(50, y + 17, 560, y + 17)
    pdf.set_font(font, "", 10)
    for item in spec.lines:
        y += 22
        cells = [item.description, str(item.quantity), _money(spec, item.unit_price), _money(spec, item.amount)]
        for (x, w, _, align), text in zip(cols, cells):
            pdf.set_xy(x, y)
            pdf.cell(w, 14, text, align=align)
    y += 30
    pdf.line(360, y - 6, 560, y - 6)
    totals = [("Subtotal:", spec.subtotal), (f"Tax ({spec.tax_rate}%):", spec.tax), ("Total:", spec.total)]
    for label, value in totals:
        pdf.set_font(font, "B" if label == "Total:" else "", 10)
        pdf.set_xy(360, y)
        pdf.cell(100, 14, label)
        pdf.set_xy(470, y)
        pdf.cell(90, 14, _money(spec, value), align="R")
        y += 18
    pdf.set_font(font, "", 9)
    pdf.set_xy(50, 720)
    pdf.cell(500, 12, f"Payment due within {(spec.due_date - spec.invoice_date).days} days. Thank you for your business.")
    pdf.output(str(path))


def degrade(image: Image.Image, rng: random.Random) -> Image.Image:
    """Make a clean render look scanned: grey, slightly rotated, blurred, noisy, JPEG-compressed."""
    img = image.convert("L").rotate(rng.uniform(-1.2, 1.2), resample=Image.BICUBIC, expand=False, fillcolor=255)
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.8)))
    arr = np.asarray(img, dtype=np.float32)
    noise = np.random.default_rng(rng.randrange(2**32)).normal(0, rng.uniform(4, 10), arr.shape)
    arr = np.clip(arr * rng.uniform(0.85, 0.95) + 12 + noise, 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=rng.randint(55, 75))
    return Image.open(io.BytesIO(buf.getvalue())).convert("L")


def scan_pdf(pdf_path: Path, out_path: Path, rng: random.Random, dpi: int = 150) -> None:
    from pdf2image import convert_from_path

    page = convert_from_path(str(pdf_path), dpi=dpi, first_page=1, last_page=1)[0]
    degrade(page, rng).save(out_path, quality=80)


def make_samples(out_dir: str | Path, count: int = 4, seed: int = 7) -> Path:
    """Write `count` invoices as born-digital PDFs and as scanned JPEGs, plus manifest.jsonl."""
    out_dir = Path(out_dir)
    docs = out_dir / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    Faker.seed(seed)
    fake = Faker("en_US")
    lines = []
    for i in range(count):
        spec = make_invoice(rng, fake)
        pdf_path = docs / f"invoice-{i + 1:02d}.pdf"
        render_invoice_pdf(spec, pdf_path)
        lines.append({"id": pdf_path.stem, "file": f"docs/{pdf_path.name}", "schema": "invoice",
                      "expected": spec.expected()})
        scan_path = docs / f"invoice-{i + 1:02d}-scan.jpg"
        scan_pdf(pdf_path, scan_path, rng)
        lines.append({"id": scan_path.stem, "file": f"docs/{scan_path.name}", "schema": "invoice",
                      "expected": spec.expected()})
    (out_dir / "manifest.jsonl").write_text("".join(json.dumps(l) + "\n" for l in lines))
    return out_dir


def main() -> None:  # pragma: no cover - thin CLI
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--count", type=int, default=4)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    out = make_samples(args.out_dir, args.count, args.seed)
    print(f"wrote {2 * args.count} documents and manifest.jsonl to {out}")


if __name__ == "__main__":
    main()
