"""Upload-queue folder (`docproc watch INBOX -o OUT`): files dropped into INBOX are processed and
moved to OUT/done/ or OUT/failed/, each beside its result (`<name>.json`).

Crash safety, step by step:
1. A file is taken only once it is fully written: same size and mtime on two scans, and
   untouched for `settle_s`. Hidden and partial-download names (.part, .tmp, ~x) are left alone.
2. It is claimed by an atomic rename into INBOX/.docproc-processing/ under its final name
   (unique against done/, failed/ and the staging folder), so it is in exactly one place.
3. When its result is ready, the result JSON is written into done/ or failed/ first, then
   the input is moved beside it.
4. On start, a staged file whose result already exists only finishes its move; any other
   staged file was in flight and is processed again. So no file is lost, none is done twice.
Polling, not inotify: it works the same on network shares, where inotify sees nothing.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from docproc.batch import BatchItem, run_batch
from docproc.document import Result
from docproc.options import PipelineOptions

log = logging.getLogger(__name__)

STAGING = ".docproc-processing"
TMP_RESULTS = ".docproc-results"
_PARTIAL_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", ".download", ".filepart")


@dataclass
class WatchConfig:
    inbox: Path
    out: Path
    options: PipelineOptions
    settle_s: float = 2.0
    poll_s: float = 1.0
    workers: int | None = None
    max_per_round: int = 64  # bounds how long a round runs before new arrivals are claimed


@dataclass
class WatchStats:
    done: int = 0
    failed: int = 0
    recovered: int = 0  # staged files found at start (in flight when the last run stopped)
    names: list[str] = field(default_factory=list)


def _ignored(path: Path) -> bool:
    name = path.name
    return name.startswith((".", "~")) or name.lower().endswith(_PARTIAL_SUFFIXES)


class StabilityTracker:
    """Which files have stopped changing."""

    def __init__(self, settle_s: float):
        self.settle_s = settle_s
        self._last: dict[str, tuple[int, int]] = {}

    def stable(self, inbox: Path) -> list[Path]:
        now = time.time()
        seen: dict[str, tuple[int, int]] = {}
        ready = []
        for entry in sorted(os.scandir(inbox), key=lambda e: e.name):
            path = Path(entry.path)
            if _ignored(path) or not entry.is_file(follow_symlinks=False):
                continue  # symlinks are never followed: they could point anywhere
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            sig = (st.st_size, st.st_mtime_ns)
            seen[entry.name] = sig
            if self._last.get(entry.name) == sig and now - st.st_mtime >= self.settle_s:
                ready.append(path)
        self._last = seen
        return ready


def _unique_name(name: str, folders: list[Path]) -> str:
    stem, dot, ext = name.partition(".")
    candidate, n = name, 0
    while any((f / candidate).exists() or (f / f"{candidate}.json").exists() for f in folders):
        n += 1
        candidate = f"{stem}-{n}{dot}{ext}"
    return candidate


class Watcher:
    def __init__(self, config: WatchConfig):
        self.config = config
        self.inbox = config.inbox
        self.staging = config.inbox / STAGING
        self.done = config.out / "done"
        self.failed = config.out / "failed"
        self.tmp = config.out / TMP_RESULTS
        for folder in (self.staging, self.done, self.failed, self.tmp):
            folder.mkdir(parents=True, exist_ok=True)
        self.tracker = StabilityTracker(config.settle_s)
        self.stats = WatchStats()
        self.stop_event = threading.Event()

    # --- steps ----------------------------------------------------------------------------

    def claim(self, path: Path) -> Path | None:
        name = _unique_name(path.name, [self.done, self.failed, self.staging])
        target = self.staging / name
        try:
            os.rename(path, target)  # same file system: atomic
        except FileNotFoundError:
            return None  # taken away meanwhile
        return target

    def _result_of(self, staged: Path) -> Path | None:
        for folder in (self.done, self.failed):
            candidate = folder / f"{staged.name}.json"
            if candidate.is_file():
                return candidate
        return None

    def recover(self) -> list[Path]:
        """Finish moves whose result exists; return the staged files to process again."""
        again = []
        for staged in sorted(p for p in self.staging.iterdir() if p.is_file()):
            result = self._result_of(staged)
            if result is not None:
                shutil.move(staged, result.parent / staged.name)
                self.stats.recovered += 1
            else:
                again.append(staged)
        self.stats.recovered += len(again)
        return again

    def _finish(self, item: BatchItem, result: Result) -> None:
        dest = self.failed if result.status == "error" else self.done
        os.replace(item.output, dest / f"{item.path.name}.json")  # result first, then the input
        shutil.move(item.path, dest / item.path.name)
        if result.status == "error":
            self.stats.failed += 1
        else:
            self.stats.done += 1
        self.stats.names.append(item.path.name)
        log.info("watch: %s -> %s", item.path.name, dest.name)

    def process(self, staged: list[Path]) -> None:
        if not staged:
            return
        run_batch(staged, self.tmp, self.config.options, workers=self.config.workers, progress=False,
                  on_result=self._finish)

    # --- loop -----------------------------------------------------------------------------

    def run(self, once: bool = False) -> WatchStats:
        """Watch until stopped (SIGTERM/SIGINT or `stop_event`); `once`: drain the inbox and return."""
        self.process(self.recover())
        while not self.stop_event.is_set():
            ready = self.tracker.stable(self.inbox)[: self.config.max_per_round]
            staged = [s for s in map(self.claim, ready) if s is not None]
            self.process(staged)
            if once and not staged and not self._pending():
                break
            if not staged:
                self.stop_event.wait(self.config.poll_s)
        return self.stats

    def _pending(self) -> bool:
        return any(not _ignored(Path(e.path)) and e.is_file(follow_symlinks=False) for e in os.scandir(self.inbox))

    def stop_on_signals(self) -> None:
        def handler(signum, _frame):
            log.info("watch: signal %d, stopping after the current round", signum)
            self.stop_event.set()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)
