"""The one JSON-serialisable document model that every stage reads and writes.

Coordinates: every ``bbox`` is page-relative, ``[x0, y0, x1, y1]`` in 0..1 with a top-left
origin, so the same box means the same place whatever DPI a page was rendered at.
``Page.width``/``Page.height`` give the pixel size of the image the boxes were measured on
(or the PDF page size in points for text-layer pages) for callers that want pixels.

All models are pydantic so that stage outputs cross process boundaries (Celery, process
pools) as plain JSON: ``model_dump(mode="json")`` / ``model_validate(obj)``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field as PydField

BBox = tuple[float, float, float, float]
TextSource = Literal["ocr", "pdf_text", "none"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


def union_bbox(boxes: list[BBox]) -> BBox:
    """Smallest box holding all `boxes` (which must not be empty)."""
    if len(boxes) == 1:  # the common case in the readers: one word, one box
        return tuple(boxes[0])  # type: ignore[return-value]
    x0, y0, x1, y1 = zip(*boxes)
    return (min(x0), min(y0), max(x1), max(y1))


class Word(_Model):
    """One token read from the page (OCR or PDF text layer)."""

    text: str
    bbox: BBox
    confidence: float = 1.0
    # Words an OCR detector found in one text box share a `segment`; layout uses it as a strong
    # hint when grouping lines. None for engines that give no grouping.
    segment: int | None = None
    # Which engine read it: "rapidocr", "tesseract", "pdf_text", ...
    source: str = "ocr"


class Line(_Model):
    """Words on one visual line, left to right. `words` are indexes into Page.words."""

    text: str
    bbox: BBox
    words: list[int]
    confidence: float = 1.0


class TableCell(_Model):
    row: int
    col: int
    text: str
    bbox: BBox
    lines: list[int] = PydField(default_factory=list)


class Table(_Model):
    """A grid rebuilt from word geometry. Row 0 is the header row when `has_header`."""

    n_rows: int
    n_cols: int
    cells: list[TableCell]
    has_header: bool = False
    # Column boundaries as page-relative x positions (len n_cols + 1), for stitching across pages.
    col_edges: list[float] = PydField(default_factory=list)


RegionKind = Literal[
    "text", "title", "table", "figure", "figure_caption", "table_caption",
    "header", "footer", "reference", "equation", "key_value", "list",
]


class Region(_Model):
    """A layout block. `lines` index into Page.lines; `order` is its reading-order rank."""

    kind: str
    bbox: BBox
    score: float = 1.0
    lines: list[int] = PydField(default_factory=list)
    order: int = 0
    table: Table | None = None
    source: str = "layout"  # "picodet" model or "geometry" fallback


class Ruling(_Model):
    """A ruled line of a scanned page (an answer line, a box's border, an underline), in the
    frame of the page's words (docproc.ocr.rulings)."""

    orientation: Literal["horizontal", "vertical"]
    bbox: BBox


class Page(_Model):
    number: int  # 1-based
    width: float
    height: float
    text_source: TextSource = "none"
    # Why the text layer was (not) used, e.g. "pdf_text: 812 chars" / "ocr: no text layer".
    text_source_reason: str = ""
    script: str = "latin"  # dominant script, e.g. "latin", "cyrillic"
    rotation: int = 0  # degrees the image was rotated before reading
    # Degrees a scan's rows are skewed by (+: falling to the right). When set, the page's word,
    # line and region boxes are straightened (docproc.deskew) and the result's boxes are
    # mapped back onto the image.
    skew: float = 0.0
    words: list[Word] = PydField(default_factory=list)
    lines: list[Line] = PydField(default_factory=list)
    regions: list[Region] = PydField(default_factory=list)
    rulings: list[Ruling] = PydField(default_factory=list)
    warnings: list[str] = PydField(default_factory=list)
    timings: dict[str, float] = PydField(default_factory=dict)

    @property
    def text(self) -> str:
        """The page's text in reading order (lines of regions in order, then loose lines)."""
        if not self.lines:
            return " ".join(w.text for w in self.words)
        seen: set[int] = set()
        out: list[str] = []
        for region in sorted(self.regions, key=lambda r: r.order):
            for i in region.lines:
                if i not in seen:
                    seen.add(i)
                    out.append(self.lines[i].text)
        out.extend(line.text for i, line in enumerate(self.lines) if i not in seen)
        return "\n".join(out)


class ErrorRecord(_Model):
    stage: str
    code: str
    message: str


class SourceInfo(_Model):
    """What sniffing found out about an input file (no content)."""

    path: str
    kind: Literal["pdf", "png", "jpeg", "tiff", "webp", "gif", "bmp"]
    mime: str
    sha256: str
    size: int
    page_count: int
    encrypted: bool = False


class Document(_Model):
    """A document after the page stages: its pages with words, lines and regions."""

    source: SourceInfo
    pages: list[Page] = PydField(default_factory=list)
    warnings: list[str] = PydField(default_factory=list)
    errors: list[ErrorRecord] = PydField(default_factory=list)
    timings: dict[str, float] = PydField(default_factory=dict)

    @property
    def text_source(self) -> str:
        kinds = {p.text_source for p in self.pages if p.text_source != "none"}
        if not kinds:
            return "none"
        return kinds.pop() if len(kinds) == 1 else "mixed"


class FieldValue(_Model):
    """One answered field. `normalized` is ISO for dates/durations, a decimal string for money."""

    value: str
    normalized: Any = None
    confidence: float = 0.0
    page: int | None = None
    bbox: BBox | None = None
    currency: str | None = None
    # Which reader answered it ("rules", "vlm", ...), and free-form evidence for debugging.
    source: str | None = None
    evidence: str | None = None


class KeyValue(_Model):
    key: str
    value: str
    page: int
    key_bbox: BBox
    value_bbox: BBox | None = None
    confidence: float = 0.0


class LineItem(_Model):
    description: str | None = None
    quantity: str | None = None
    unit_price: str | None = None
    amount: str | None = None
    page: int | None = None
    bbox: BBox | None = None
    # Any further columns of the row, header text -> cell text.
    extra: dict[str, str] = PydField(default_factory=dict)


class Check(_Model):
    """One validation check of the extracted values (arithmetic, dates, checksums)."""

    name: str
    fields: list[str]
    outcome: Literal["pass", "fail", "skipped"]
    detail: str = ""


class Extraction(_Model):
    """What a reader returns: fields, generic key-value pairs, line items, checks."""

    fields: dict[str, FieldValue | list[FieldValue] | None] = PydField(default_factory=dict)
    key_values: list[KeyValue] = PydField(default_factory=list)
    line_items: list[LineItem] = PydField(default_factory=list)
    checks: list[Check] = PydField(default_factory=list)
    warnings: list[str] = PydField(default_factory=list)


class LayoutSummary(_Model):
    regions: dict[str, int] = PydField(default_factory=dict)
    tables: int = 0
    words: int = 0
    lines: int = 0


class Classification(_Model):
    """`--schema auto`: the schema chosen for a document ("other": none) and why."""

    label: str
    confidence: float
    scores: dict[str, float] = PydField(default_factory=dict)


class ResultDocument(_Model):
    source: str
    sha256: str | None = None
    pages: int = 0
    schema_: str | None = PydField(default=None, alias="schema")
    text_source: str = "none"
    mime: str | None = None
    page_text_sources: list[str] = PydField(default_factory=list)
    layout: LayoutSummary | None = None
    classification: Classification | None = None  # set only with --schema auto

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Result(_Model):
    """The per-document output of DESIGN §3 (validated against schemas/result.schema.json)."""

    document: ResultDocument
    status: Literal["ok", "partial", "error"] = "ok"
    fields: dict[str, FieldValue | list[FieldValue] | None] = PydField(default_factory=dict)
    key_values: list[KeyValue] = PydField(default_factory=list)
    line_items: list[LineItem] = PydField(default_factory=list)
    checks: list[Check] = PydField(default_factory=list)
    warnings: list[str] = PydField(default_factory=list)
    errors: list[ErrorRecord] = PydField(default_factory=list)
    timings: dict[str, float] = PydField(default_factory=dict)

    def to_json_dict(self) -> dict:
        return self.model_dump(mode="json", by_alias=True)
