"""Stopping a run on SIGINT or SIGTERM within seconds, HiGHS's C code included.

Python handles a signal only between bytecodes of its main thread, and a
solve spends its time in HiGHS's C code: a SIGINT there waited for the whole
solve.  Inside :func:`stop_on_signals` (the command line's whole run), SIGINT
and SIGTERM raise :class:`Interrupted` in the main thread, and
:func:`run_interruptible` runs HiGHS in a second thread while the main thread
waits in short steps, so that the signal is handled at once: it then asks
HiGHS to stop through its interrupt callbacks (simplex, interior point,
branch and bound), waits for it to return, and lets :class:`Interrupted`
unwind the run, whose ``finally`` blocks remove its temporaries.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: How long the main thread waits at a time for HiGHS's thread [s]: the delay before a signal is handled.
_STEP_S = 0.1
#: How long an interrupted HiGHS may take to return before the run unwinds without it [s].
_GRACE_S = 5.0

_NAMES = {signal.SIGINT: "SIGINT", signal.SIGTERM: "SIGTERM"}


class Interrupted(BaseException):
    """The run was stopped by SIGINT or SIGTERM; exits 128 + the signal's number (130, 143), as a shell does.

    A :class:`BaseException`, as :class:`KeyboardInterrupt` is, so that no
    ``except Exception`` on its way turns it into an ordinary failure.
    """

    def __init__(self, signum: int, message: str | None = None) -> None:
        self.signum = signum
        self.exit_code = 128 + signum
        super().__init__(message or f"stopped by {_NAMES.get(signum, f'signal {signum}')}")


class _State:
    """Whether signals are handled here, and which one asked the run to stop."""

    def __init__(self) -> None:
        self.armed = False
        self.signum = 0


_STATE = _State()


def stop_requested() -> int:
    """The signal that asked the run to stop, or 0."""
    return _STATE.signum


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """While inside, SIGINT and SIGTERM raise :class:`Interrupted` in the main thread and stop HiGHS.

    Outside the main thread (where no handler can be set) this does nothing.
    The handlers that were there before are restored on leaving.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        _STATE.signum = signum
        raise Interrupted(signum)

    previous = {s: signal.signal(s, handler) for s in _NAMES}
    _STATE.armed, _STATE.signum = True, 0
    try:
        yield
    finally:
        _STATE.armed = False
        for s, old in previous.items():
            signal.signal(s, old)


def run_interruptible(h: Any) -> None:
    """``h.run()``, stopped within seconds by SIGINT or SIGTERM inside :func:`stop_on_signals`.

    Elsewhere (a library call, a worker process, another thread) it is
    ``h.run()`` itself, with no callback to slow it.
    """
    if not _STATE.armed or threading.current_thread() is not threading.main_thread():
        h.run()
        return

    def interrupt(event: Any) -> None:
        if _STATE.signum:
            event.interrupt()

    hooks = (h.cbSimplexInterrupt, h.cbIpmInterrupt, h.cbMipInterrupt)
    for hook in hooks:
        hook.subscribe(interrupt)
    failure: list[BaseException] = []

    def work() -> None:
        try:
            h.run()
        except BaseException as exc:  # noqa: BLE001 - raised again in the calling thread
            failure.append(exc)

    solver = threading.Thread(target=work, name="highs", daemon=True)
    solver.start()
    try:
        while solver.is_alive():
            solver.join(_STEP_S)
    except Interrupted:
        solver.join(_GRACE_S)
        raise
    finally:
        if not solver.is_alive():
            for hook in hooks:
                hook.unsubscribe(interrupt)
    if failure:
        raise failure[0]
