"""A sandbox for checks that read hostile files with a library we cannot bound from inside (pyHanko on a PDF):
each check runs in a child process with a time limit and an address-space limit, and answers in JSON.

One helper process per caller process (`python -m bhxh.intake.sandbox`, started on first use) imports the
checking modules once; for every check it forks a child, so a check costs a fork (a few milliseconds), not an
interpreter start. The helper is single-threaded, so forking it is safe, unlike forking a threaded caller (the
portal's worker threads, the outbox's senders); and unlike multiprocessing it never re-imports the caller's
main module. Several checks run at once (one child each); the helper kills a child at its deadline. If the
helper dies it is started again on the next check. The child's answer is JSON, never pickle: a child that a
crafted file took over cannot hand the caller an object to unpickle.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import json
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from concurrent.futures import Future
from typing import Any

MEMORY_LIMIT = 1536 * 1024 * 1024
_HEADER = struct.Struct("!I")


class SandboxTimeout(Exception):
    """The check did not answer in time (its child was killed)."""


class SandboxCrash(Exception):
    """The check's child died without answering (out of memory, a signal)."""


def _write(stream, payload: bytes) -> None:
    stream.write(_HEADER.pack(len(payload)) + payload)
    stream.flush()


def _read(stream) -> bytes | None:
    head = stream.read(_HEADER.size)
    if len(head) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(head)
    return stream.read(size)


def _read_fd(fd: int) -> bytes | None:
    """One framed message from a raw file descriptor (no Python buffer, so `select` on it stays truthful)."""

    def exact(n: int) -> bytes | None:
        data = b""
        while len(data) < n:
            chunk = os.read(fd, n - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    head = exact(_HEADER.size)
    return None if head is None else exact(_HEADER.unpack(head)[0])


class Sandbox:
    """The client side: `run("bhxh.intake.signatures:check_pdf", args, timeout)` from any thread."""

    def __init__(self, preload: tuple[str, ...] = ()) -> None:
        self.preload = preload
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._waiting: dict[int, Future] = {}
        self._ids = itertools.count(1)

    def _ensure(self) -> subprocess.Popen:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "bhxh.intake.sandbox", *self.preload],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                start_new_session=True,
            )
            threading.Thread(target=self._answers, args=(self._proc,), daemon=True).start()
        return self._proc

    def _answers(self, proc: subprocess.Popen) -> None:
        while (raw := _read(proc.stdout)) is not None:
            head, _, body = raw.partition(b"\n")
            request_id, outcome = json.loads(head)
            with self._lock:
                future = self._waiting.pop(request_id, None)
            if future is None:
                continue
            if outcome == "ok":
                future.set_result(json.loads(body))
            elif outcome == "timeout":
                future.set_exception(SandboxTimeout(body.decode(errors="replace")))
            else:
                future.set_exception(SandboxCrash(body.decode(errors="replace")))
        with self._lock:  # the helper is gone: nobody will answer the checks still waiting
            waiting, self._waiting = self._waiting, {}
        for future in waiting.values():
            future.set_exception(SandboxCrash("the sandbox helper exited"))

    def run(self, function: str, args: tuple, timeout: float) -> Any:
        """The JSON value `function(*args)` returned in a child process; raises SandboxTimeout or SandboxCrash."""
        future: Future = Future()
        with self._lock:
            proc = self._ensure()
            request_id = next(self._ids)
            self._waiting[request_id] = future
            try:
                _write(proc.stdin, pickle.dumps((request_id, function, args, timeout), protocol=pickle.HIGHEST_PROTOCOL))
            except (BrokenPipeError, OSError):
                self._waiting.pop(request_id, None)
                raise SandboxCrash("the sandbox helper is not running") from None
        try:
            return future.result(timeout + 10)  # the helper kills the child at `timeout`; this is a safety net
        except TimeoutError:
            with self._lock:
                self._waiting.pop(request_id, None)
            raise SandboxTimeout(f"no answer in {timeout + 10:.0f} s") from None

    def close(self) -> None:
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


# -- the helper process ----------------------------------------------------------------------------------------
def _child(function: str, args: tuple, out_fd: int) -> None:
    """In the forked child: limit memory, run the check, write its JSON answer, exit without cleanup."""
    import resource

    code = 0
    try:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
        module, _, name = function.partition(":")
        result = json.dumps(getattr(importlib.import_module(module), name)(*args), default=str).encode()
        with os.fdopen(out_fd, "wb") as out:
            out.write(result)
    except BaseException:  # noqa: BLE001 (anything: the parent is told the child crashed)
        code = 1
    os._exit(code)


def serve(preload: list[str]) -> None:
    """The helper's loop: requests on stdin, one forked child per request, answers on stdout."""
    # answers go on a private copy of stdout; anything a module prints goes to stderr and cannot break the framing
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    for module in preload:
        importlib.import_module(module)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    requests = sys.stdin.fileno()
    running: dict[int, tuple[int, int, float, list[bytes]]] = {}  # read fd -> (request id, pid, deadline, chunks)

    def reply(request_id: int, outcome: str, body: bytes) -> None:
        _write(answers, json.dumps([request_id, outcome]).encode() + b"\n" + body)

    def finish(fd: int, outcome: str | None) -> None:
        request_id, pid, _deadline, chunks = running.pop(fd)
        os.close(fd)
        if outcome == "timeout":
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        if outcome is None:
            ok = os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and chunks
            outcome = "ok" if ok else "crash"
        body = b"".join(chunks) if outcome == "ok" else f"child status {status}".encode()
        reply(request_id, outcome, body)

    stdin_open = True
    while stdin_open or running:
        now = time.monotonic()
        for fd in [fd for fd, item in running.items() if item[2] <= now]:
            finish(fd, "timeout")
        wait = min((item[2] for item in running.values()), default=now + 60) - now
        readable, _, _ = select.select(([requests] if stdin_open else []) + list(running), [], [], max(0.0, wait))
        for ready in readable:
            if ready == requests:
                raw = _read_fd(requests)
                if raw is None:
                    stdin_open = False
                    continue
                request_id, function, args, timeout = pickle.loads(raw)  # noqa: S301 (from our own parent process)
                read_fd, write_fd = os.pipe()
                pid = os.fork()
                if pid == 0:
                    os.close(read_fd)
                    _child(function, args, write_fd)
                os.close(write_fd)
                running[read_fd] = (request_id, pid, time.monotonic() + timeout, [])
            else:
                chunk = os.read(ready, 1 << 16)
                if chunk:
                    running[ready][3].append(chunk)
                else:
                    finish(ready, None)


if __name__ == "__main__":
    serve(sys.argv[1:])
