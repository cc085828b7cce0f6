"""The stage functions and `run`, the ONE composition of them.

    sniff ──► render ──► text layer / OCR ──► layout ──► reader ──► result

Embedded mode calls `run`; cluster workers call the same stage functions one by one
(`open_source`, `process_pages` over a page range, `read_document`, `build_result`) with
JSON in between. Nothing else differs between the two modes.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from docproc import deskew, layout, ocr, readers, render, sandbox, schemas, sources, textlayer
from docproc.document import (
    Document,
    ErrorRecord,
    Extraction,
    LayoutSummary,
    Page,
    Result,
    ResultDocument,
    SourceInfo,
)
from docproc.errors import DocprocError
from docproc.options import LayoutOptions, PipelineOptions

log = logging.getLogger(__name__)

NOT_PROCESSED = "not_processed: document time limit reached"
# Share of Limits.document_timeout_s after which no new page is started; the rest of the
# budget is for the reader and for the batch's hard kill to stay a last resort.
SOFT_DEADLINE_SHARE = 0.8


@contextmanager
def timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = round(timings.get(stage, 0.0) + time.perf_counter() - start, 4)


def page_layout(options: PipelineOptions) -> LayoutOptions:
    """The layout settings the page stages run with. `auto` puts OCR'd pages through the layout
    model only where its regions are read: by the VLM readers' prompts, or as the layout a
    document without a schema comes out with. The rules reader never reads region kinds, and
    its tables come from aligned lines as well: on the 254 scanned dev documents (receipts,
    forms, claims) it gave the same fields, line items and key-values without the model,
    0.1 s per page sooner (README "How it works", Layout)."""
    if options.layout.kind == "auto" and options.reader.kind == "rules" and options.schema_:
        return options.layout.model_copy(update={"kind": "geometry"})
    return options.layout


def open_source(path: str | Path, options: PipelineOptions) -> SourceInfo:
    """Sniff the file by content and apply the size/page limits. Raises DocprocError."""
    return sources.sniff(str(path), options.limits)


def process_pages(
    source: SourceInfo, options: PipelineOptions, pages: list[int] | None = None,
    on_page: Callable[[int, int], None] | None = None,
    deadline: float | None = None,
) -> list[Page]:
    """Render, read text (PDF text layer where trustworthy, OCR elsewhere) and lay out pages.

    `pages` are 1-based page numbers (all pages when None): cluster workers fan a long
    document out over page ranges with it. Raises DocprocError when no page can be read.
    `on_page(done, total)` is called after each page (the API's per-page job progress).
    Past `deadline` (a time.monotonic() value) the remaining pages are returned unread, each
    with a NOT_PROCESSED warning, so a 400-page scan yields what was read instead of nothing.
    """
    wanted = pages or list(range(1, source.page_count + 1))
    text_layer: dict = {}
    if source.kind == "pdf" and options.text_layer.mode != "never":
        t0 = time.perf_counter()
        try:
            text_layer = textlayer.read_text_layer(source, options.text_layer, wanted)
        except DocprocError as exc:  # a broken text layer is not fatal: OCR still can read
            log.warning("text layer unreadable for %s: %s", source.path, exc.code)
        tl_time = time.perf_counter() - t0
    else:
        tl_time = 0.0

    page_layout_options = page_layout(options)
    out: list[Page] = []
    need_image = [
        n for n in wanted
        if not (n in text_layer and text_layer[n].trusted and options.text_layer.mode != "never"
                and options.layout.kind != "picodet")
    ]
    images = render.render_pages(source, options.render, options.limits, need_image) if need_image else iter(())
    per_page_tl = tl_time / max(1, len(wanted))
    rendered: dict[int, object] = {}
    render_times: dict[int, float] = {}

    def next_image(number: int):
        # Pages come from the renderer in order; pull until we reach `number`.
        while number not in rendered:
            t0 = time.perf_counter()
            n, img = next(images)
            render_times[n] = time.perf_counter() - t0
            rendered[n] = img
        return rendered.pop(number)

    need_image_set = set(need_image)
    for number in wanted:
        if deadline is not None and out and time.monotonic() > deadline:
            out.extend(Page(number=n, width=0, height=0, warnings=[NOT_PROCESSED])
                       for n in wanted[len(out):])
            getattr(images, "close", lambda: None)()  # stops the renderer's child process
            break
        timings: dict[str, float] = {"text_layer": round(per_page_tl, 4)}
        image = next_image(number) if number in need_image_set else None
        if number in need_image_set:
            timings["render"] = round(render_times.get(number, 0.0), 4)
        tl = text_layer.get(number)
        if number in need_image_set and image is None and not (tl is not None and tl.trusted):
            # The renderer could not draw this page (it raises when it cannot draw the first one).
            out.append(Page(number=number, width=0, height=0, warnings=["render_failed: page skipped"]))
            continue
        if tl is not None and tl.trusted and options.text_layer.mode != "never":
            page = Page(
                number=number,
                width=tl.width,
                height=tl.height,
                text_source="pdf_text",
                text_source_reason=tl.reason,
                words=tl.words,
            )
        else:
            if image is None:  # pragma: no cover - need_image covers every untrusted page
                raise DocprocError("render", "render_failed", f"page {number} has no image")
            with timed(timings, "ocr"):
                read = ocr.ocr_page(image, options.ocr, options.limits)
            timings.update({f"ocr_{k}": v for k, v in read.timings.items()})  # det, rec, ... for bench/
            page = Page(
                number=number,
                width=float(image.width),
                height=float(image.height),
                text_source="ocr",
                text_source_reason=tl.reason if tl is not None else "ocr: no text layer",
                script=read.script,
                rotation=read.rotation,
                skew=read.skew,
                words=read.words,
                rulings=read.rulings,
                warnings=list(read.warnings),
            )
        if image is not None:  # e.g. "rendered at 100 dpi: page too large at 200"
            page.warnings.extend(image.info.get("docproc_warnings", []))
        with timed(timings, "layout"):
            page = layout.analyze_page(page, image, page_layout_options)
        page.timings = timings
        out.append(page)
        if on_page is not None:
            on_page(len(out), len(wanted))
    return out


def read_document(doc: Document, options: PipelineOptions) -> Extraction:
    """Answer the schema's fields (or only generic key-values without a schema)."""
    schema = schemas.load_schema(options.schema_) if options.schema_ else None
    reader = readers.get_reader(options.reader)
    return reader.read(doc, schema)


def _summarise_layout(pages: list[Page]) -> LayoutSummary:
    kinds: Counter[str] = Counter()
    tables = 0
    for p in pages:
        for r in p.regions:
            kinds[r.kind] += 1
            tables += r.table is not None
    return LayoutSummary(
        regions=dict(sorted(kinds.items())),
        tables=tables,
        words=sum(len(p.words) for p in pages),
        lines=sum(len(p.lines) for p in pages),
    )


def build_result(
    path: str, doc: Document | None, extraction: Extraction | None, options: PipelineOptions,
    errors: list[ErrorRecord] | None = None,
) -> Result:
    """Assemble the result JSON of DESIGN §3 from whatever the stages produced."""
    errors = list(errors or []) + (doc.errors if doc else [])
    schema_id = None
    if options.schema_:
        try:
            schema_id = schemas.load_schema(options.schema_).id
        except DocprocError:
            schema_id = options.schema_
    meta = ResultDocument(
        source=str(path),
        sha256=doc.source.sha256 if doc else None,
        pages=len(doc.pages) if doc else 0,
        schema=schema_id,
        text_source=doc.text_source if doc else "none",
        mime=doc.source.mime if doc else None,
        page_text_sources=[p.text_source for p in doc.pages] if doc else [],
        layout=_summarise_layout(doc.pages) if doc else None,
    )
    timings: dict[str, float] = dict(doc.timings) if doc else {}
    if doc:
        for p in doc.pages:
            for k, v in p.timings.items():
                timings[k] = round(timings.get(k, 0.0) + v, 4)
    warnings = list(doc.warnings) if doc else []
    if doc:
        for p in doc.pages:
            warnings.extend(f"page {p.number}: {w}" for w in p.warnings)
    if extraction is None:
        status = "error"
        return Result(document=meta, status=status, errors=errors, warnings=warnings, timings=timings)
    warnings.extend(extraction.warnings)
    extraction = _on_images(extraction, doc)
    status = "partial" if errors else "ok"
    return Result(
        document=meta,
        status=status,
        fields=extraction.fields,
        key_values=extraction.key_values,
        line_items=extraction.line_items,
        checks=extraction.checks,
        warnings=warnings,
        errors=errors,
        timings=timings,
    )


def _on_images(extraction: Extraction, doc: Document | None) -> Extraction:
    """The extraction with its boxes on skewed pages mapped back onto the page images."""
    skewed = {p.number: (p.skew, p.width / p.height) for p in (doc.pages if doc else []) if p.skew}
    if not skewed:
        return extraction
    extraction = extraction.model_copy(deep=True)
    deskew.restore_boxes(extraction, skewed)
    return extraction


def read_and_build(path: str, doc: Document, options: PipelineOptions) -> Result:
    """The document-level tail shared by `run` and the cluster's read step: classify (for
    --schema auto), read the fields, build the result. Raises DocprocError."""
    options, classification = _classified(doc, options)
    return _read_and_build(path, doc, options, classification)


def _classified(doc: Document, options: PipelineOptions):
    """--schema auto: the options with the schema a classifier picked for `doc`, and its verdict."""
    if options.schema_ != "auto":
        return options, None
    from docproc.classify import resolve_auto

    with timed(doc.timings, "classify"):
        return resolve_auto(doc, options)


def _read_and_build(path: str, doc: Document, options: PipelineOptions, classification) -> Result:
    with timed(doc.timings, "reader"):
        extraction = read_document(doc, options)
    result = build_result(path, doc, extraction, options)
    result.document.classification = classification
    return result


def reads_in_batches(options: PipelineOptions) -> bool:
    """A local VLM reads pages of several documents per `generate` call: a batch run reads its
    documents in groups in one process (`read_and_build_many`) instead of one by one."""
    return options.reader.kind in ("vlm", "hybrid") and bool(options.reader.vlm_model)


def read_and_build_many(items: list[tuple[str, Document]], options: PipelineOptions) -> list[Result]:
    """`read_and_build` for several prepared documents, whose pages share the reader's batches
    (`read_many`). Never raises: a document that fails gets its error result, and when a group
    read fails its documents are read again one by one, so that only the culprit fails."""
    results: list[Result | None] = [None] * len(items)
    groups: dict[str, list[tuple[int, PipelineOptions, object]]] = {}
    for i, (path, doc) in enumerate(items):
        try:
            opts, classification = _classified(doc, options)
        except Exception as exc:  # noqa: BLE001 - one document's failure stays its own
            results[i] = _failure(path, doc, options, exc)
            continue
        groups.setdefault(opts.schema_ or "", []).append((i, opts, classification))
    for members in groups.values():
        opts = members[0][1]
        docs = [items[i][1] for i, _, _ in members]
        try:
            schema = schemas.load_schema(opts.schema_) if opts.schema_ else None
            start = time.perf_counter()
            extractions = readers.get_reader(opts.reader).read_many(docs, schema)
            elapsed = time.perf_counter() - start
        except Exception:  # noqa: BLE001 - find the culprit: each document on its own
            for i, o, classification in members:
                path, doc = items[i]
                results[i] = _guarded(path, doc, o, lambda: _read_and_build(path, doc, o, classification))
            continue
        # The group's reader time, shared out by pages (what each document asked of it).
        pages = [max(1, len(d.pages)) for d in docs]
        for (i, o, classification), doc, extraction, n in zip(members, docs, extractions, pages):
            doc.timings["reader"] = round(doc.timings.get("reader", 0.0) + elapsed * n / sum(pages), 4)
            results[i] = build_result(items[i][0], doc, extraction, o)
            results[i].document.classification = classification
    return results  # type: ignore[return-value]


def prepare(path: str | Path, options: PipelineOptions,
            on_page: Callable[[int, int], None] | None = None) -> Document | Result:
    """The page stages of `run` (sniff, render, text layer, OCR, layout): the Document ready to
    read, or the error Result when they failed. Never raises for a bad document."""
    path = str(path)
    timings: dict[str, float] = {}
    doc: Document | None = None
    try:
        with timed(timings, "sniff"):
            source = open_source(path, options)
        doc = Document(source=source, timings=timings)
        deadline = time.monotonic() + options.limits.document_timeout_s * SOFT_DEADLINE_SHARE
        pages = process_pages(source, options, on_page=on_page, deadline=deadline)
        doc.pages = pages
        unread = sum(NOT_PROCESSED in p.warnings for p in pages)
        if unread:
            doc.errors.append(ErrorRecord(
                stage="pipeline", code="document_timeout",
                message=f"read {len(pages) - unread} of {len(pages)} pages within "
                        f"{options.limits.document_timeout_s * SOFT_DEADLINE_SHARE:.0f} s"))
        return doc
    except Exception as exc:  # noqa: BLE001 - see _failure
        return _failure(path, doc, options, exc)


def run(path: str | Path, options: PipelineOptions | None = None,
        on_page: Callable[[int, int], None] | None = None) -> Result:
    """Process one file end to end. Never raises for a bad document: errors go in the result."""
    options = options or PipelineOptions()
    got = prepare(path, options, on_page)
    if isinstance(got, Result):
        return got
    return _guarded(str(path), got, options, lambda: read_and_build(str(path), got, options))


def _guarded(path: str, doc: Document, options: PipelineOptions, read: Callable[[], Result]) -> Result:
    try:
        return read()
    except Exception as exc:  # noqa: BLE001 - see _failure
        return _failure(path, doc, options, exc)


def _failure(path: str, doc: Document | None, options: PipelineOptions, exc: Exception) -> Result:
    """The error result of a document whose stage raised: the stage's own error, or (a bug on
    one document must not end a batch) internal_error."""
    if isinstance(exc, DocprocError):
        log.info("document %s failed at %s: %s", path, exc.stage, exc.code)
        return build_result(path, doc, None, options, errors=[ErrorRecord(**exc.to_dict())])
    # The exception's message may quote document content: log the code path, not the message.
    log.error("internal error on %s: %s\n%s", path, type(exc).__name__,
              "".join(traceback.format_tb(exc.__traceback__)))
    return build_result(path, doc, None, options, errors=[
        ErrorRecord(stage="pipeline", code="internal_error", message=type(exc).__name__)])


def warm_up(options: PipelineOptions, page_models: bool = True) -> None:
    """Load the models a worker will need once, before its first document.

    `page_models=False` leaves the OCR and layout models to load on the first page that needs
    them: a folder-run worker may only ever see born-digital PDFs, which need neither."""
    # First, while the process is small: sandbox children fork from this helper, not from
    # a process holding the models (a fork's cost grows with the forking process's size).
    sandbox.start_fork_server()
    readers.get_reader(options.reader)
    if options.schema_ and options.schema_ != "auto":
        try:
            schemas.load_schema(options.schema_)  # and its validator's imports
        except DocprocError:
            pass  # each document's result reports it
    if not page_models:
        return
    if options.ocr.kind:
        ocr.get_engine(options.ocr)
    warm_layout = getattr(layout, "warm_up", None)
    layout_options = page_layout(options)
    if warm_layout is not None and layout_options.kind in ("auto", "picodet"):
        warm_layout(layout_options)
