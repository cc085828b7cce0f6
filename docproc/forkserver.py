"""A small helper process that forks the sandbox children (docproc.sandbox.call_in_child).

Forking copies the page tables of the forking process: 20-45 ms per fork from a worker that
holds OCR and layout models, ~1-3 ms from a fresh interpreter that imported only the parsers.
A worker starts this helper before it loads models; the helper lives as long as the worker.

Protocol (one call):
  client: socketpair (mine, theirs); send pickled (fn, args, timeout_s, memory_mb) plus the
          fd `theirs` over the control channel (SOCK_SEQPACKET: one message per call);
  helper: unpickles, forks; the child writes its pid (8 bytes), then the pickled outcome,
          into `theirs` and exits; pid 0 means "cannot take this call, fork it yourself";
  client: reads until EOF with its deadline; on timeout kills the child's process group.
The helper reaps its children, kills any that outlive their deadline by a margin (a client
that died cannot), and exits when the control channel closes (its worker is gone).
"""

from __future__ import annotations

import json
import os
import pickle
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from typing import Any, Callable

# Modules the children need, imported once in the helper so that no child pays for them.
PRELOAD = ("docproc.sources", "docproc.textlayer", "docproc.render")
MAX_REQUEST = 1 << 16  # bytes of one pickled call (one datagram); bigger ones fork in the caller
_PID = struct.Struct("<q")
_KILL_MARGIN_S = 5.0  # the client kills on its deadline; the helper only cleans up after it

_server: "ForkServer | None" = None
_start_lock = threading.Lock()


class ForkServer:
    """The client side: one helper process and the control channel to it."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        code = "import docproc.forkserver as f; f.serve()"
        # Our sys.path, so that the helper imports the same docproc and the callers' modules.
        env = dict(os.environ, DOCPROC_FORKSERVER_FD=str(theirs.fileno()),
                   DOCPROC_FORKSERVER_PATH=json.dumps(sys.path),
                   PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code], pass_fds=(theirs.fileno(),), env=env,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        theirs.close()
        self.ctrl = ours
        self.lock = threading.Lock()
        self.alive = True

    def call(self, fn: Callable[..., Any], args: tuple, *, timeout_s: float, memory_mb: int) -> bytes | None:
        """The child's pickled outcome; None when the caller should fork itself instead.
        Raises SandboxTimeout like a direct fork does."""
        from docproc.sandbox import SandboxTimeout, _kill_group

        try:
            request = pickle.dumps((fn, args, timeout_s, memory_mb), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - a local function or lambda: fork in the caller
            return None
        if len(request) > MAX_REQUEST or not self.alive:
            return None
        mine, theirs = socket.socketpair()
        try:
            try:
                with self.lock:
                    socket.send_fds(self.ctrl, [request], [theirs.fileno()])
            except OSError:
                self.alive = False  # the helper died: every later call forks in the caller
                return None
            finally:
                theirs.close()
            return self._collect(mine, timeout_s, SandboxTimeout, _kill_group)
        finally:
            mine.close()

    @staticmethod
    def _collect(conn: socket.socket, timeout_s: float, timeout_error, kill) -> bytes | None:
        deadline = time.monotonic() + timeout_s
        data = bytearray()
        pid = None
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([conn], [], [], left)[0]:
                if pid:
                    kill(pid)
                raise timeout_error(f"child exceeded {timeout_s:.1f} s")
            chunk = conn.recv(1 << 20)
            if not chunk:
                break
            data += chunk
            if pid is None and len(data) >= _PID.size:
                pid = _PID.unpack_from(data)[0]
                if pid == 0:
                    return None
        if len(data) < _PID.size:
            return b""  # died before it said anything: decodes as a crash
        return bytes(data[_PID.size:])


def current() -> ForkServer | None:
    server = _server
    return server if server is not None and server.alive else None


def start() -> bool:
    """Start this process's helper once. False (and direct forks) when it cannot start."""
    global _server
    with _start_lock:
        if _server is not None and _server.alive and _server.proc.poll() is None:
            return True
        try:
            _server = ForkServer()
        except OSError:
            _server = None
            return False
        return True


def _forget_after_fork() -> None:
    """A forked process (a pool worker, a sandbox child) does not share its parent's helper:
    it starts its own or forks directly."""
    global _server
    _server = None


os.register_at_fork(after_in_child=_forget_after_fork)


# --- helper side -----------------------------------------------------------------------------

def serve() -> None:
    ctrl = socket.socket(fileno=int(os.environ.pop("DOCPROC_FORKSERVER_FD")))
    sys.path[:] = json.loads(os.environ.pop("DOCPROC_FORKSERVER_PATH"))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the worker; it closes us
    for name in PRELOAD:
        __import__(name)
    deadlines: dict[int, float] = {}
    while True:
        wait = min(deadlines.values(), default=time.monotonic() + 1.0) - time.monotonic()
        ready = select.select([ctrl], [], [], max(0.0, min(wait, 1.0)))[0]
        _reap(deadlines)
        if not ready:
            continue
        try:
            msg, fds, _, _ = socket.recv_fds(ctrl, MAX_REQUEST + 1024, 1)
        except OSError:
            msg, fds = b"", []
        if not msg:  # the worker closed the channel (or died): end with it
            for pid in deadlines:
                _kill(pid)
            return
        if not fds:
            continue
        conn = socket.socket(fileno=fds[0])
        try:
            fn, args, timeout_s, memory_mb = pickle.loads(msg)
        except Exception:  # noqa: BLE001 - e.g. fn lives in a module we cannot import
            conn.sendall(_PID.pack(0))
            conn.close()
            continue
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            ctrl.close()
            _child(conn, fn, args, timeout_s, memory_mb)
        conn.close()
        deadlines[pid] = time.monotonic() + timeout_s + _KILL_MARGIN_S


def _child(conn: socket.socket, fn, args, timeout_s: float, memory_mb: int) -> None:
    from docproc.sandbox import _child_main

    try:
        conn.sendall(_PID.pack(os.getpid()))
    except OSError:
        os._exit(1)
    _child_main(conn.detach(), fn, args, memory_mb, timeout_s)


def _reap(deadlines: dict[int, float]) -> None:
    now = time.monotonic()
    for pid, deadline in list(deadlines.items()):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            del deadlines[pid]
        elif now > deadline:
            _kill(pid)


def _kill(pid: int) -> None:
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
