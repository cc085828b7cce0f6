"""The sandbox's fork server: the same guarantees as a direct fork (values, coded errors,
deadline, crash, memory cap), children forked by the small helper rather than the caller."""

from __future__ import annotations

import os
import signal
import time

import pytest

from docproc import forkserver, sandbox
from docproc.errors import DocprocError


def _parent_pid() -> int:
    return os.getppid()


def _sleep(seconds: float) -> str:
    time.sleep(seconds)
    return "woke"


def _hog(megabytes: int) -> int:
    return len(bytearray(megabytes * 1024 * 1024))


def _raise_coded() -> None:
    raise DocprocError("textlayer", "text_layer_failed", "doc 7")


@pytest.fixture(scope="module")
def server():
    assert sandbox.start_fork_server()
    yield forkserver.current()


def test_children_come_from_the_helper(server):
    # A direct fork's child has this process as parent; a served child has the helper.
    assert sandbox.call_in_child(_parent_pid, timeout_s=10, memory_mb=512) == server.proc.pid
    assert sandbox.start_fork_server()  # idempotent: still the same helper
    assert forkserver.current() is server


def test_served_values_errors_and_deadline(server):
    assert sandbox.call_in_child(_sleep, 0, timeout_s=10, memory_mb=512) == "woke"
    with pytest.raises(DocprocError) as info:
        sandbox.call_in_child(_raise_coded, timeout_s=10, memory_mb=512)
    assert (info.value.code, info.value.message) == ("text_layer_failed", "doc 7")
    start = time.monotonic()
    with pytest.raises(sandbox.SandboxTimeout):
        sandbox.call_in_child(_sleep, 30, timeout_s=0.5, memory_mb=512)
    assert time.monotonic() - start < 3


def test_served_crash_and_memory_cap(server):
    with pytest.raises(sandbox.SandboxCrash):
        sandbox.call_in_child(os.kill, 0, signal.SIGKILL, timeout_s=10, memory_mb=512)
    with pytest.raises(sandbox.SandboxCrash):
        sandbox.call_in_child(_hog, 6000, timeout_s=20, memory_mb=1024)
    assert sandbox.call_in_child(_sleep, 0, timeout_s=10, memory_mb=512) == "woke"  # still serving


def test_unpicklable_calls_fork_in_the_caller(server):
    here = os.getpid()
    assert sandbox.call_in_child(lambda: os.getppid(), timeout_s=10, memory_mb=512) == here


def test_helper_ends_with_its_channel():
    server = forkserver.ForkServer()
    assert server.call(_sleep, (0,), timeout_s=10, memory_mb=512) is not None
    server.ctrl.close()
    assert server.proc.wait(timeout=10) == 0
