"""A one-line progress bar on stderr, for any stage that works through a known number of items."""

from __future__ import annotations

import sys
import time
from typing import IO


class Progress:
    """A one-line progress bar on stderr: done/total, elapsed, ETA, and how many have no plan
    (infeasible or failed)."""

    def __init__(self, total: int, done: int = 0, enabled: bool | None = None, label: str = "sweep",
                 stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = _is_terminal(self.stream) if enabled is None else enabled
        self.total, self.done, self.failed, self.label = total, done, 0, label
        self.start_done = done
        self.start = time.monotonic()
        self.last = 0.0
        self.draw(force=True)

    def update(self, failed: bool = False) -> None:
        """One more item done (``failed``: without a result)."""
        self.done += 1
        self.failed += failed
        self.draw(force=self.done == self.total)

    def draw(self, force: bool = False) -> None:
        if not self.enabled or self.total == 0:
            return
        now = time.monotonic()
        if not force and now - self.last < 0.1:
            return
        self.last = now
        elapsed = now - self.start
        solved = self.done - self.start_done
        remaining = self.total - self.done
        eta = _clock(elapsed / solved * remaining) if solved else "--:--"
        width = 24
        filled = int(width * self.done / self.total)
        bar = "#" * filled + "." * (width - filled)
        fail = f"  no plan {self.failed}" if self.failed else ""
        self.stream.write(f"\r{self.label} [{bar}] {self.done}/{self.total}  elapsed {_clock(elapsed)}  "
                          f"ETA {eta}{fail}  ")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.total:
            if self.done < self.total:
                self.draw(force=True)
            self.stream.write("\n")
            self.stream.flush()


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
