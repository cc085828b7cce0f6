"""The `docproc` command line. Extra command groups (cluster mode, API) plug in through the
entry-point group ``docproc.commands``: each entry point is ``register(app: typer.Typer)``,
so this package never imports Celery or web frameworks itself."""

from __future__ import annotations

import json
import logging
import os
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Optional

import typer

from docproc import evaluate as evaluation
from docproc import schemas
from docproc.errors import DocprocError
from docproc.options import (
    LayoutOptions,
    OcrOptions,
    PipelineOptions,
    ReaderOptions,
    RenderOptions,
    TextLayerOptions,
)

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Document understanding batch processor.")


def build_options(
    schema: str | None,
    dpi: int = 200,
    ocr: str = "rapidocr",
    layout: str = "auto",
    text_layer: str = "auto",
    reader: str = "rules",
    vlm_model: str | None = None,
    endpoint_url: str | None = None,
    endpoint_model: str | None = None,
    *,
    vlm_device: str = "auto",
    vlm_batch_size: int = 8,
    vlm_static_cache: bool = False,
    ocr_runtime: str = "auto",
    ocr_precision: str = "auto",
    semantic_labels: bool = False,
    label_encoder: str | None = None,
) -> PipelineOptions:
    """CLI flags -> typed options (the one place flag names map onto option fields)."""
    return PipelineOptions(
        schema=schema,
        render=RenderOptions(dpi=dpi),
        text_layer=TextLayerOptions(mode=text_layer),
        ocr=OcrOptions(kind=ocr, runtime=ocr_runtime, precision=ocr_precision),
        layout=LayoutOptions(kind=layout),
        reader=ReaderOptions(kind=reader, vlm_model=vlm_model, endpoint_url=endpoint_url,
                             endpoint_model=endpoint_model, vlm_device=vlm_device,
                             vlm_batch_size=vlm_batch_size, vlm_static_cache=vlm_static_cache,
                             semantic_labels=semantic_labels, label_encoder=label_encoder),
    )


def _field_cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return "; ".join(_field_cell(v) for v in value) or "-"
    shown = value.get("normalized")
    shown = value.get("value") if shown in (None, "", []) else shown
    if isinstance(shown, list):
        shown = "; ".join(map(str, shown))
    return f"{shown} ({value.get('confidence', 0):.2f})"


def print_table(outputs: list[Path], max_width: int = 36) -> None:
    """A short table of extracted fields: one row per document, one column per field."""
    results = [json.loads(p.read_text()) for p in sorted(outputs)]
    columns: list[str] = []
    for r in results:
        for name in r.get("fields", {}):
            if name not in columns:
                columns.append(name)
    columns = columns[:6]
    header = ["document", "status"] + columns
    rows = []
    for r in results:
        row = [Path(r["document"]["source"]).name, r.get("status", "?")]
        if r.get("status") == "error":
            row += [r["errors"][0]["code"] if r.get("errors") else "error"] + [""] * (len(columns) - 1)
        else:
            row += [_field_cell(r.get("fields", {}).get(c)) for c in columns]
        rows.append([cell[:max_width] for cell in row])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    for line in [header, ["-" * w for w in widths]] + rows:
        typer.echo("  ".join(str(c).ljust(w) for c, w in zip(line, widths)))


@app.command()
def extract(
    paths: list[Path] = typer.Argument(..., help="Files or folders (types are detected by content)."),
    out: Path = typer.Option(..., "-o", "--out", help="Folder for one result JSON per document."),
    schema: Optional[str] = typer.Option(None, "--schema", "-s", help="Built-in schema name, schema file, or auto (classified per document)."),
    workers: Optional[int] = typer.Option(None, help="Worker processes (default: one per core; 0 = in-process)."),
    dpi: int = typer.Option(200, help="Render resolution for scanned pages and OCR."),
    ocr: str = typer.Option("rapidocr", help="OCR engine: rapidocr, tesseract, paddleocr."),
    ocr_runtime: str = typer.Option("auto", "--ocr-runtime", help="PP-OCR runtime: auto (openvino-det on CPUs "
                                    "with AVX-512, else onnxruntime), onnxruntime, openvino-det (detection on OpenVINO, "
                                    "same text), openvino (every model; see --ocr-precision)."),
    ocr_precision: str = typer.Option("auto", "--ocr-precision", help="PP-OCR precision on OpenVINO: auto (the "
                                      "recognizer in bf16 where the CPU has it, detection in f32), native (every model "
                                      "in bf16: faster, ~1 point lower receipt F1), f32 (the text ONNX Runtime reads)."),
    layout: str = typer.Option("auto", help="Layout: auto, picodet, geometry, none."),
    text_layer: str = typer.Option("auto", "--text-layer", help="PDF text layer: auto, never, always."),
    reader: str = typer.Option("rules", help="Field reader: rules, vlm, hybrid, endpoint."),
    vlm_model: Optional[str] = typer.Option(None, "--vlm-model", help="Local VLM model directory."),
    vlm_device: str = typer.Option("auto", "--vlm-device", help="VLM device: auto (cuda when present), cpu, cuda, cuda:N."),
    vlm_batch_size: int = typer.Option(8, "--vlm-batch-size", min=1, help="Pages per VLM generate call (GPU: 32-64)."),
    vlm_static_cache: bool = typer.Option(False, "--vlm-static-cache", help="Static KV cache: transformers compiles the decode step (GPU)."),
    endpoint_url: Optional[str] = typer.Option(None, "--endpoint-url", help="OpenAI-compatible base URL."),
    endpoint_model: Optional[str] = typer.Option(None, "--endpoint-model", help="Model name at the endpoint."),
    semantic_labels: bool = typer.Option(False, "--semantic-labels", help="Rules reader: a sentence encoder finds "
                                         "labels the schema does not list (extra semantic; README: 0.004-0.05 s per page)."),
    label_encoder: Optional[str] = typer.Option(None, "--label-encoder", help="Local sentence-encoder directory "
                                                "for --semantic-labels (default: the semantic extra's MiniLM)."),
    timeout: float = typer.Option(900.0, "--timeout", help="Seconds per document; pages not reached by then "
                                  "are reported unread (status partial)."),
    table: bool = typer.Option(False, "--table", help="Print a table of the extracted fields."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Extract fields from documents in-process; writes OUT/<stem>.json for every input."""
    from docproc.batch import run_batch  # keeps `docproc --help` fast

    try:
        if schema and schema != "auto":  # auto: a classifier picks the schema per document
            schemas.load_schema(schema)  # fail fast on a bad schema, before any document runs
        options = build_options(schema, dpi, ocr, layout, text_layer, reader, vlm_model, endpoint_url,
                                endpoint_model, vlm_device=vlm_device, vlm_batch_size=vlm_batch_size,
                                vlm_static_cache=vlm_static_cache, ocr_runtime=ocr_runtime,
                                ocr_precision=ocr_precision, semantic_labels=semantic_labels,
                                label_encoder=label_encoder)
        options.limits.document_timeout_s = timeout
    except DocprocError as exc:
        typer.echo(f"error: {exc.code}: {exc.message}", err=True)
        raise typer.Exit(2)
    except ValueError as exc:
        typer.echo(f"error: invalid option: {exc}", err=True)
        raise typer.Exit(2)
    summary = run_batch(paths, out, options, workers=workers, progress=not quiet)
    if table:
        print_table(summary.outputs)
    codes = ", ".join(f"{c}: {n}" for c, n in summary.error_codes.most_common())
    typer.echo(f"{summary.succeeded} of {summary.total} documents succeeded; results in {out}/"
               + (f"; failed: {summary.failed} ({codes})" if summary.failed else ""))
    if summary.total == 0:
        typer.echo("error: no input files", err=True)
        raise typer.Exit(2)
    if not summary.ok:
        raise typer.Exit(1)


@app.command("eval")
def eval_command(
    dataset_dir: Path = typer.Argument(..., help="Folder with manifest.jsonl (and docs/)."),
    out: Path = typer.Argument(..., help="Folder of result JSON files from `docproc extract`."),
    schema: Optional[str] = typer.Option(None, "--schema", help="Schema for field types (default: manifest's)."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the metrics as JSON here."),
    failures: Optional[Path] = typer.Option(None, "--failures", help="Write per-document misses (JSONL) here."),
) -> None:
    """Score results against a dataset manifest: per-field P/R/F1 and micro-F1 (exact and soft)."""
    try:
        report = evaluation.evaluate(dataset_dir, out, schema)
    except DocprocError as exc:
        typer.echo(f"error: {exc.code}: {exc.message}", err=True)
        raise typer.Exit(2)
    typer.echo(evaluation.format_report(report))
    if json_out:
        json_out.write_text(json.dumps(report.to_dict(), indent=2))
    if failures:
        failures.write_text("".join(json.dumps(f) + "\n" for f in report.failures))


@app.command("schemas")
def list_schemas_command() -> None:
    """List the built-in schemas and their fields."""
    for s in schemas.list_schemas():
        typer.echo(f"{s.id:16} {', '.join(f.name for f in s.fields) or '(generic key-values)'}")


def _load_plugins() -> None:
    for ep in entry_points(group="docproc.commands"):
        try:
            ep.load()(app)
        except Exception as exc:  # noqa: BLE001 - a broken optional extra must not break extract
            logging.getLogger(__name__).debug("plugin %s unavailable: %s", ep.name, type(exc).__name__)


_load_plugins()


def main() -> None:  # pragma: no cover
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if not os.environ.get("DOCPROC_VERBOSE"):
        # rapidocr/rapid-layout attach their own INFO handlers on every model load; a person
        # running the CLI wants the progress bar and warnings, not model paths.
        logging.disable(logging.INFO)
        # "The text detection result is empty" on every blank page is not a warning for a person.
        logging.getLogger("RapidOCR").addFilter(lambda record: record.levelno >= logging.ERROR)
    app()
