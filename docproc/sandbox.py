"""Run untrusted-input work (PDF/image parsing and rendering) where a hang, a crash or a
memory blow-up cannot take the caller down: a forked child with an address-space cap and a
wall-clock deadline, or a subprocess capped the same way.

Fork (not spawn) keeps the per-call overhead low: the child already has pypdfium2/Pillow
imported. The child gets its own session so that a kill on timeout also reaches anything it
started.

A fork costs time in proportion to the forking process's mappings (page tables): 20-45 ms
from a worker holding OCR and layout models, ~1-3 ms from a small process. So a worker calls
`start_fork_server()` before it loads models: a fresh interpreter that imports only the
parsers, and forks the children for `call_in_child` from then on (see docproc/forkserver.py
for the protocol). Without a server, or for a call it cannot take, the caller forks itself.
"""

from __future__ import annotations

import math
import os
import pickle
import resource
import select
import shutil
import signal
import subprocess
import time
from typing import Any, Callable

MB = 1024 * 1024
# A forked child starts with all of its parent's mappings (models, arenas); it always gets at
# least this much address space beyond them, whatever the cap says.
_MIN_HEADROOM = 256 * MB


class SandboxError(Exception):
    """The child did not return a result."""


class SandboxTimeout(SandboxError):
    pass


class SandboxCrash(SandboxError):
    """Killed by a signal, ran out of memory, or exited without a result."""


def _vm_size() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _cap_address_space(memory_mb: int) -> None:
    """Lower the soft limit only: nested sandboxes (a capped child capping its own children)
    stay possible without privileges, and the untrusted parsers never get to raise it."""
    _set_soft_limit(resource.RLIMIT_AS, max(memory_mb * MB, _vm_size() + _MIN_HEADROOM))


def _set_soft_limit(kind: int, value: int) -> None:
    resource.setrlimit(kind, (_within_hard(kind, value), resource.getrlimit(kind)[1]))


def _within_hard(kind: int, value: int) -> int:
    hard = resource.getrlimit(kind)[1]
    return value if hard == resource.RLIM_INFINITY else min(value, hard)


def _cpu_limit(timeout_s: float) -> int:
    """CPU seconds after which the kernel ends a process that outlived the one timing it
    (an orphan of a killed parent that spins forever)."""
    return math.ceil(timeout_s) + 1


def _child_main(write_fd: int, fn: Callable[..., Any], args: tuple, memory_mb: int, timeout_s: float) -> None:
    status = 1
    try:
        os.setsid()
        _cap_address_space(memory_mb)
        _set_soft_limit(resource.RLIMIT_CPU, _cpu_limit(timeout_s))
        try:
            payload = ("ok", fn(*args))
        except MemoryError:
            payload = ("crash", "out of memory")
        except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent
            payload = ("err", exc)
        try:
            data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # an unpicklable exception: send its type name only
            data = pickle.dumps(("crash", f"unpicklable {type(payload[1]).__name__}"))
        with os.fdopen(write_fd, "wb") as out:
            out.write(data)
        status = 0
    finally:
        os._exit(status)  # never run the parent's atexit handlers or pytest's teardown


def call_in_child(fn: Callable[..., Any], *args: Any, timeout_s: float, memory_mb: int) -> Any:
    """Return ``fn(*args)`` computed in a forked child; re-raise what it raised.

    Raises SandboxTimeout (child killed after `timeout_s`) or SandboxCrash (signal, memory
    cap, no result). `fn`, its arguments' results and exceptions must be picklable.
    """
    from docproc import forkserver

    server = forkserver.current()
    if server is not None:
        data = server.call(fn, args, timeout_s=timeout_s, memory_mb=memory_mb)
        if data is not None:  # None: the server cannot take this call; fork here instead
            return _decode(data, None)
    return _call_forked(fn, args, timeout_s, memory_mb)


def start_fork_server() -> bool:
    """Fork sandbox children from a small helper process from now on (idempotent; call it
    before loading models). False when the helper could not start: calls fork here then."""
    from docproc import forkserver

    return forkserver.start()


def _call_forked(fn: Callable[..., Any], args: tuple, timeout_s: float, memory_mb: int) -> Any:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        os.close(read_fd)
        _child_main(write_fd, fn, args, memory_mb, timeout_s)
    os.close(write_fd)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout_s
    finished = timed_out = False
    try:
        while not finished:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([read_fd], [], [], left)
            if ready:
                chunk = os.read(read_fd, 1 << 20)
                chunks.append(chunk)
                finished = not chunk
    finally:
        os.close(read_fd)
        if not finished:  # timed out, or we were interrupted: never leave it running
            _kill_group(pid)
        _, wait_status = os.waitpid(pid, 0)
    if timed_out:
        raise SandboxTimeout(f"child exceeded {timeout_s:.1f} s")
    if os.WIFSIGNALED(wait_status):
        raise SandboxCrash(f"child killed by signal {os.WTERMSIG(wait_status)}")
    return _decode(b"".join(chunks), os.WEXITSTATUS(wait_status))


def _decode(data: bytes, exit_code: int | None) -> Any:
    """The child's answer: its value, or what it raised re-raised here."""
    try:
        kind, value = pickle.loads(data)
    except Exception as exc:
        how = f"exited {exit_code}" if exit_code is not None else "died"
        raise SandboxCrash(f"child {how} without a result") from exc
    if kind == "ok":
        return value
    if kind == "crash":
        raise SandboxCrash(str(value))
    raise value


def _kill_group(pid: int) -> None:
    for kill in (os.killpg, os.kill):  # os.kill too: the child may not have made its group yet
        try:
            kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def run_command(
    argv: list[str], *, timeout_s: float, memory_mb: int, cwd: str | None = None
) -> subprocess.CompletedProcess:
    """Run a program with an address-space cap and a deadline (the whole process group is
    killed on timeout; a CPU-time limit ends it even if whoever timed it died first). The caps
    are applied by `prlimit` rather than a preexec_fn, which is unsafe in a process with
    threads (ONNX Runtime pools)."""
    limit = _within_hard(resource.RLIMIT_AS, memory_mb * MB)
    cpu = _within_hard(resource.RLIMIT_CPU, _cpu_limit(timeout_s))
    if shutil.which("prlimit"):  # soft limits, as above
        capped = ["prlimit", f"--as={limit}:", f"--cpu={cpu}:", "--", *argv]
    else:
        capped = ["sh", "-c", f'ulimit -S -v {limit // 1024} && ulimit -S -t {cpu} && exec "$@"', "sh", *argv]
    proc = subprocess.Popen(
        capped, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid)
        proc.communicate()
        raise SandboxTimeout(f"{os.path.basename(argv[0])} exceeded {timeout_s:.1f} s") from None
    return subprocess.CompletedProcess(capped, proc.returncode, out, err)
