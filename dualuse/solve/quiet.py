"""HiGHS objects made and run with the process's stdout kept clean.

highspy 1.16 prints a banner on file descriptor 1 when a ``Highs`` object is
created, before any option can silence it, and a library's C-level output
never passes through Python's ``sys.stdout``: so every HiGHS of dualuse is made
by :func:`new_highs` and run by :func:`run_quietly`, which point descriptor 1
at descriptor 2 meanwhile.  Results and ``--json`` stay alone on stdout.
"""

from __future__ import annotations

import ctypes
import logging
import math
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import highspy
import numpy as np

from dualuse.progress import QUIET, VERBOSE, verbosity
from dualuse.solve.child import CAN_FORK
from dualuse.solve.interrupt import run_interruptible


class _Redirect:
    """File descriptor 1 pointed at 2 while any thread is inside :func:`stdout_to_stderr`."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.saved: int | None = None


_REDIRECT = _Redirect()
if CAN_FORK:  # a child forked while another thread held the lock must not inherit it held
    os.register_at_fork(after_in_child=lambda: _REDIRECT.__init__())


def _flush_c_stdout() -> None:
    """Flush C's stdio buffers, where a library's printf output waits."""
    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError, TypeError):  # no C library to ask (Windows): nothing buffered there to lose
        pass


@contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send whatever is written to file descriptor 1 (C code included) to file descriptor 2 meanwhile.

    Nested and concurrent uses share one redirection, undone when the last
    one leaves; Python's buffered stdout is flushed first, so that nothing
    printed before lands on stderr.  Output that another thread prints to
    stdout meanwhile goes to stderr too.
    """
    state = _REDIRECT
    with state.lock:
        if state.depth == 0:
            try:
                sys.stdout.flush()
                state.saved = os.dup(1)
                _point_stdout_away()
            except (OSError, ValueError, AttributeError):  # no usable stdout: nothing to keep clean
                state.saved = None
        state.depth += 1
    try:
        yield
    finally:
        with state.lock:
            state.depth -= 1
            if state.depth == 0 and state.saved is not None:
                _flush_c_stdout()
                os.dup2(state.saved, 1)
                os.close(state.saved)
                state.saved = None


def _point_stdout_away() -> None:
    """File descriptor 1 to stderr, or to the null device with -q (errors only)."""
    if verbosity() == QUIET:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 1)
        finally:
            os.close(null)
    else:
        os.dup2(2, 1)


def new_highs(options: dict[str, Any] | None = None) -> highspy.Highs:
    """A ``highspy.Highs`` with ``options`` set, made with stdout kept clean: every HiGHS of dualuse comes from here.

    With -v (:data:`~dualuse.progress.VERBOSE`) HiGHS's log goes to the ``dualuse.highs`` logger at debug
    level, whatever ``output_flag`` says.
    """
    with stdout_to_stderr():
        h = highspy.Highs()
    for key, value in (options or {}).items():
        h.setOptionValue(key, value)
    if verbosity() >= VERBOSE:
        h.setOptionValue("output_flag", True)
        h.setOptionValue("log_to_console", False)
        h.cbLogging.subscribe(_log_highs)
    return h


_HIGHS_LOG = logging.getLogger("dualuse.highs")


def _log_highs(event: Any) -> None:
    """One message of HiGHS's log as a debug record."""
    for line in str(event.message).rstrip().splitlines():
        _HIGHS_LOG.debug(line)


def run_quietly(h: highspy.Highs) -> float:
    """``h.run()`` with stdout kept clean, stopped by SIGINT or SIGTERM when the run handles them
    (:func:`~dualuse.solve.interrupt.run_interruptible`); its wall time [s]."""
    start = time.perf_counter()
    with stdout_to_stderr():
        run_interruptible(h)
    return time.perf_counter() - start



def objective_scale(cost: np.ndarray) -> int:
    """HiGHS's ``user_objective_scale`` for an LP: the power of two that brings its largest cost to [1, 2).

    The objective is a sum of unit-free KPIs over whole-region totals, so its
    coefficients are tiny (1e-8 to 1e-4 per pair at 100,000 parcels) beside
    the matrix and the bounds; interior point then needs many more
    iterations, its crossover stops imprecise and the simplex clean-up after
    it runs long.  HiGHS multiplies the costs by 2^k and reports the
    objective and the duals unscaled; primal feasibility is unaffected.
    """
    largest = float(np.max(np.abs(cost))) if len(cost) else 0.0
    if not math.isfinite(largest) or largest <= 0.0:
        return 0
    return -math.floor(math.log2(largest))
