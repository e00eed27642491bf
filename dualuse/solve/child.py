"""Work in a forked child process that the parent stops at a hard deadline.

HiGHS checks its ``time_limit`` in presolve, the LP solvers and branch and
bound, but not everywhere: highspy 1.16's MIP set-up
(``HighsMipSolverData::runSetup``, the objective's clique partition) ran
10–40 s past a 1 s limit on a 20,000-parcel whole-parcel model, without a
callback that could interrupt it.  A time limit can only be held by running
such a solve where it can be stopped: :func:`run_in_child` forks, runs the
work in the child, and kills the child if it has not answered by the
deadline.  The child shares the parent's memory (copy on write), so nothing
is copied there; only the result comes back, pickled through a pipe.
"""

from __future__ import annotations

import os
import pickle
import selectors
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from dualuse.errors import DualuseError

#: Can a child be forked here (POSIX); elsewhere the work runs in the calling process.
CAN_FORK = hasattr(os, "fork")


def run_in_child(work: Callable[[], Any], deadline_s: float) -> tuple[bool, Any]:
    """Run ``work()`` in a forked child; ``(True, its result)``, or ``(False, None)`` when the child had
    not answered ``deadline_s`` seconds after the fork and was killed.

    The result must pickle.  An exception in the child is raised here as a
    :class:`~dualuse.errors.DualuseError` naming it.
    """
    for stream in (sys.stdout, sys.stderr):  # buffered output must not be written twice, or by the child
        stream.flush()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: work, answer, and leave without running the parent's exit handlers
        os.close(read_end)
        _answer(work, write_end)
    os.close(write_end)
    try:
        return _wait(pid, read_end, time.perf_counter() + deadline_s)
    finally:
        os.close(read_end)


def _answer(work: Callable[[], Any], fd: int) -> None:
    status = 0
    try:
        try:
            answer = ("ok", work())
        except BaseException as exc:  # noqa: BLE001 - every failure is reported to the parent
            answer = ("error", f"{type(exc).__name__}: {exc}")
        data = memoryview(pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))
        while data:
            data = data[os.write(fd, data):]
    except BaseException:  # noqa: BLE001 - the parent sees an answer missing
        status = 1
    finally:
        try:
            sys.stderr.flush()
        finally:
            os._exit(status)


def _wait(pid: int, fd: int, deadline: float) -> tuple[bool, Any]:
    """Wait for the child's first byte until the deadline, then read its whole answer."""
    selector = selectors.DefaultSelector()
    selector.register(fd, selectors.EVENT_READ)
    try:
        while not selector.select(max(deadline - time.perf_counter(), 0.0)):
            if time.perf_counter() >= deadline:
                _kill(pid)
                return False, None
    except BaseException:  # interrupted: the child must not outlive the parent's wait
        _kill(pid)
        raise
    finally:
        selector.close()
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    if not chunks:
        raise DualuseError(f"internal error: the solver process ended without an answer (wait status {status})")
    kind, value = pickle.loads(b"".join(chunks))
    if kind == "error":
        raise DualuseError(f"internal error in the solver process: {value}")
    return True, value


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    os.waitpid(pid, 0)
