"""Embedded batch execution: many documents through `pipeline.run` in a process pool.

Each document runs in a pool worker process with a per-document timeout and an address-space
cap, so a hostile file that hangs or crashes a renderer costs one error record, never the
batch: pebble replaces a dead or timed-out worker and the other documents go on.
Models load once per worker process: the reader in the initializer, the OCR and layout models
on the first page that needs them (a worker that only sees born-digital PDFs never loads them).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import resource
import tempfile
from collections import Counter
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import pydantic_core
from pebble import ProcessExpired, ProcessPool
from tqdm import tqdm

from docproc import pipeline, schemas
from docproc.document import Document, ErrorRecord, Result, ResultDocument
from docproc.options import PipelineOptions

log = logging.getLogger(__name__)


@dataclass
class BatchItem:
    path: Path
    output: Path


@dataclass
class BatchSummary:
    total: int = 0
    skipped: int = 0  # done by an earlier run (the `skip` callback said so)
    succeeded: int = 0
    failed: int = 0
    outputs: list[Path] = field(default_factory=list)
    error_codes: Counter = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return self.failed == 0


def collect_inputs(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given, folders walked recursively (hidden files and manifests skipped).

    Types are decided later by content, so no extension filter here."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            for child in sorted(p.rglob("*")):
                if child.is_file() and not any(part.startswith(".") for part in child.relative_to(p).parts) \
                        and child.name != "manifest.jsonl":
                    found.append(child)
        else:
            found.append(p)  # a missing file still gets an error record
    return found


def plan_outputs(inputs: list[Path], out_dir: Path) -> list[BatchItem]:
    """OUT/<stem>.json, or OUT/<full name>.json for inputs whose stems clash (a.pdf, a.png)."""
    stems = Counter(p.stem for p in inputs)
    names = Counter(p.name for p in inputs)
    items = []
    used: set[str] = set()
    for p in inputs:
        name = p.stem if stems[p.stem] == 1 else p.name
        if names[p.name] > 1 or name in used:  # same file name in two folders
            parent = "_".join(p.parent.parts[-2:]) or "root"
            name = f"{parent}_{p.name}"
        used.add(name)
        items.append(BatchItem(p, out_dir / f"{name}.json"))
    return items


def write_result(result: Result, path: Path) -> None:
    """Atomic write: a reader never sees half a file, a rerun overwrites."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # pydantic's Rust encoder writes the bytes json.dump(indent=2, ensure_ascii=False) would, ~7x
    # faster: json.dump always takes the pure-Python encoder (5.8 ms per ad-buy result, 0.8 here).
    data = pydantic_core.to_json(result.to_json_dict(), indent=2)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def error_result(path: Path, stage: str, code: str, message: str, options: PipelineOptions) -> Result:
    schema_id = options.schema_
    if schema_id:
        try:
            schema_id = schemas.load_schema(schema_id).id
        except Exception:  # noqa: BLE001 - the schema error is reported by the document itself
            pass
    return Result(
        document=ResultDocument(source=str(path), schema=schema_id),
        status="error",
        errors=[ErrorRecord(stage=stage, code=code, message=message)],
    )


# --- worker side --------------------------------------------------------------------------

def _init_worker(options_json: str) -> None:
    options = PipelineOptions.model_validate_json(options_json)
    cap = options.limits.worker_memory_mb * 1024 * 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard == resource.RLIM_INFINITY or cap < hard:
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    pipeline.warm_up(options, page_models=False)


def _out_of_memory(path: str, options: PipelineOptions) -> Result:
    return error_result(Path(path), "pipeline", "out_of_memory",
                        f"document exceeded {options.limits.worker_memory_mb} MB", options)


def _prepare_one(path: str, options_json: str) -> dict:
    """The page stages only (documents read in batches by the parent): the Document's JSON, or
    the error result's."""
    options = PipelineOptions.model_validate_json(options_json)
    try:
        got = pipeline.prepare(path, options)
    except MemoryError:
        got = _out_of_memory(path, options)
    if isinstance(got, Result):
        return {"result": got.to_json_dict()}
    return {"prepared": got.model_dump(mode="json")}


def _run_one(path: str, options_json: str) -> dict:
    options = PipelineOptions.model_validate_json(options_json)
    try:
        return pipeline.run(path, options).to_json_dict()
    except MemoryError:
        return _out_of_memory(path, options).to_json_dict()


# --- parent side --------------------------------------------------------------------------

def default_workers(n_docs: int) -> int:
    return max(1, min(os.cpu_count() or 1, n_docs))


def run_batch(
    paths: Iterable[str | Path],
    out_dir: str | Path,
    options: PipelineOptions,
    workers: int | None = None,
    progress: bool = True,
    on_result: Callable[[BatchItem, Result], None] | None = None,
    skip: Callable[[BatchItem], bool] | None = None,
) -> BatchSummary:
    """Process every input, write one result file each, never stop early.

    `skip(item)` True leaves an item out (a resumed run); names are planned over all inputs
    first, so a resumed run writes the same result names as the first."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    items = plan_outputs(collect_inputs(paths), out_dir)
    if skip is not None:
        kept = [item for item in items if not skip(item)]
        skipped, items = len(items) - len(kept), kept
    else:
        skipped = 0
    summary = BatchSummary(total=len(items), skipped=skipped)
    if not items:
        return summary
    options_json = options.model_dump_json(by_alias=True)
    n_workers = workers if workers is not None else default_workers(len(items))
    timeout = options.limits.document_timeout_s
    bar = tqdm(total=len(items), unit="doc", disable=not progress, dynamic_ncols=True)

    def finish(item: BatchItem, result: Result) -> None:
        write_result(result, item.output)
        summary.outputs.append(item.output)
        if result.status == "error":
            summary.failed += 1
            summary.error_codes.update(e.code for e in result.errors)
        else:
            summary.succeeded += 1
        if on_result:
            on_result(item, result)
        bar.update(1)

    # A local VLM reads here, in groups of documents whose pages fill its batches, while the
    # workers run the page stages (the model is loaded once, in this process, not per worker).
    batched = pipeline.reads_in_batches(options)
    pending: list[tuple[BatchItem, Document]] = []

    def flush() -> None:
        results = pipeline.read_and_build_many([(str(it.path), doc) for it, doc in pending], options)
        for (it, _), result in zip(pending, results):
            finish(it, result)
        pending.clear()

    def take(item: BatchItem, got: Document | Result) -> None:
        if isinstance(got, Result):
            finish(item, got)
            return
        pending.append((item, got))
        asked = sum(min(max(1, len(d.pages)), options.reader.vlm_max_pages) for _, d in pending)
        if asked >= options.reader.vlm_batch_size:
            flush()

    if n_workers == 0:  # in-process, for debugging and profiling
        for item in items:
            if batched:
                take(item, pipeline.prepare(item.path, options))
            else:
                finish(item, pipeline.run(item.path, options))
        if pending:
            flush()
        bar.close()
        return summary

    task = _prepare_one if batched else _run_one
    # Workers forked from a process that holds a model on a GPU inherit its mappings: with a
    # batched reader they start from multiprocessing's fork server instead.
    context = multiprocessing.get_context("forkserver") if batched else multiprocessing
    with ProcessPool(max_workers=n_workers, max_tasks=200, initializer=_init_worker,
                     initargs=(options_json,), context=context) as pool:
        futures = [(item, pool.schedule(task, args=(str(item.path), options_json), timeout=timeout))
                   for item in items]
        for item, future in futures:
            doc = None
            try:
                got = future.result()
                if batched and "prepared" in got:  # _prepare_one: pages done, reading happens here
                    doc = Document.model_validate(got["prepared"])
                else:
                    result = Result.model_validate(got["result"] if batched else got)
            except FutureTimeout:
                result = error_result(item.path, "pipeline", "document_timeout",
                                      f"no result after {timeout:.0f} s; worker replaced", options)
            except ProcessExpired as exc:
                result = error_result(item.path, "pipeline", "worker_crashed",
                                      f"worker exited with code {exc.exitcode}; worker replaced", options)
            except Exception as exc:  # noqa: BLE001 - one document's bug must not end the batch
                # Only the exception type: its message might quote document content.
                log.error("internal error on %s: %s", item.path, type(exc).__name__)
                result = error_result(item.path, "pipeline", "internal_error", type(exc).__name__, options)
            if doc is not None:
                take(item, doc)
            else:
                finish(item, result)
        if pending:
            flush()
    bar.close()
    return summary
