"""What long work shows on stderr: a line per stage, a bar for counted work, and how much the user asked to see.

Stage lines (:func:`stage`) are log records of the ``dualuse`` logger at
INFO: the command line prints them on stderr, a notebook or a script sees them
once it configures :mod:`logging`.  A counted bar (:class:`Progress`) is a
tqdm bar (``tqdm.auto``: a widget in Jupyter) on a terminal or in a notebook,
and plain lines, one per tenth of the work, when stderr is a file or a pipe.
:func:`set_verbosity` holds what the user chose: ``QUIET`` (errors only),
``NORMAL`` or ``VERBOSE`` (debug logging, the solver's own log included).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

LOG = logging.getLogger("dualuse")

#: Errors only.
QUIET = 0
#: Stage lines and progress.
NORMAL = 1
#: Debug logging, HiGHS's log included.
VERBOSE = 2

_VERBOSITY = {"level": NORMAL, "inner": 0}


def set_verbosity(level: int) -> None:
    """Set how much is shown: :data:`QUIET`, :data:`NORMAL` or :data:`VERBOSE`."""
    _VERBOSITY["level"] = level


def verbosity() -> int:
    """How much is shown: :data:`QUIET`, :data:`NORMAL` or :data:`VERBOSE`."""
    return _VERBOSITY["level"]


@contextmanager
def stage(name: str, detail: str = "") -> Iterator[None]:
    """Log the start of a stage (``name``, with ``detail``) and, at its end, its wall time [s].

    Inside :func:`inner_stages` the lines are debug records, shown only with -v.
    """
    level = logging.DEBUG if _VERBOSITY["inner"] else logging.INFO
    LOG.log(level, "%s%s ...", name, f" ({detail})" if detail else "")
    start = time.perf_counter()
    yield
    LOG.log(level, "%s: done in %s", name, _seconds(time.perf_counter() - start))


@contextmanager
def inner_stages() -> Iterator[None]:
    """Stages of a larger step (the explanation's re-solves) logged at debug level meanwhile."""
    _VERBOSITY["inner"] += 1
    try:
        yield
    finally:
        _VERBOSITY["inner"] -= 1


def _seconds(value: float) -> str:
    return f"{value:.2f} s" if value < 10 else f"{value:.1f} s" if value < 100 else _clock(value)


class Progress:
    """Counted work on stderr: done/total, elapsed, ETA, and how many have no plan (infeasible or failed).

    ``enabled`` None: shown unless the verbosity is :data:`QUIET`; a bar on a
    terminal or in a notebook, plain lines elsewhere.
    """

    def __init__(self, total: int, done: int = 0, enabled: bool | None = None, label: str = "sweep",
                 stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = verbosity() > QUIET if enabled is None else enabled
        self.total, self.done, self.failed, self.label = total, done, 0, label
        self.start_done = done
        self.start = time.monotonic()
        self.last = 0.0
        self.said = -1
        self.bar = _tqdm_bar(self) if self.enabled and total and _interactive(self.stream) else None
        self.draw(force=True)

    def update(self, failed: bool = False) -> None:
        """One more item done (``failed``: without a result)."""
        self.done += 1
        self.failed += failed
        if self.bar is not None:
            if failed:
                self.bar.set_postfix_str(f"no plan {self.failed}", refresh=False)
            self._sync()
            return
        self.draw(force=self.done == self.total)

    def _sync(self) -> None:
        """The tqdm bar at ``done`` of ``total`` (a caller may have moved either, as a front does)."""
        self.bar.total = self.total
        self.bar.n = self.done
        self.bar.refresh()

    def draw(self, force: bool = False) -> None:
        """A plain line when a tenth more of the work is done (or ``force``)."""
        if not self.enabled or self.total == 0 or self.bar is not None:
            return
        tenth = 10 * self.done // self.total
        if tenth == self.said and not force:
            return
        self.said = tenth
        elapsed = time.monotonic() - self.start
        solved = self.done - self.start_done
        remaining = self.total - self.done
        eta = _clock(elapsed / solved * remaining) if solved else "--:--"
        fail = f"  no plan {self.failed}" if self.failed else ""
        self.stream.write(f"{self.label}: {self.done}/{self.total}  elapsed {_clock(elapsed)}  ETA {eta}{fail}\n")
        self.stream.flush()

    def close(self) -> None:
        """End the bar (a last line when not all was done)."""
        if self.bar is not None:
            self._sync()
            self.bar.close()
            self.bar = None
            return
        if self.enabled and self.total and self.done < self.total:
            self.said = -1
            self.draw(force=True)


def _tqdm_bar(progress: Progress) -> Any:
    """A tqdm bar (``tqdm.auto``: a widget in a notebook) for ``progress``, or None without tqdm."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=progress.total, initial=progress.done, desc=progress.label, file=progress.stream,
                unit="run", dynamic_ncols=True, leave=True)


def _interactive(stream: IO[str]) -> bool:
    """A terminal, or a Jupyter kernel (whose stderr is no terminal but draws a tqdm widget)."""
    return _is_terminal(stream) or "ipykernel" in sys.modules


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
