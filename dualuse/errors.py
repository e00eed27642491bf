"""Typed failures, each with the exit code the CLI gives it.

Every failure a user can cause is a :class:`DualuseError` whose message names
what is wrong and how to fix it; the CLI prints that message and exits with
``exit_code``, never a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class DualuseError(Exception):
    """Base class: a failure with a message meant for the user."""

    exit_code: int = 1

    def to_dict(self) -> dict[str, Any]:
        """The failure as JSON-ready data."""
        return {"error": type(self).__name__, "message": str(self)}


class UsageError(DualuseError):
    """Bad options or parameters (exit 2)."""

    exit_code = 2


class InputError(DualuseError):
    """Bad input data: names the file, layer, column, offending rows and the fix (exit 2)."""

    exit_code = 2

    def __init__(
        self,
        problem: str,
        *,
        path: str | None = None,
        layer: str | None = None,
        column: str | None = None,
        ids: Sequence[Any] = (),
        count: int | None = None,
        fix: str | None = None,
    ) -> None:
        self.problem = problem
        self.path = path
        self.layer = layer
        self.column = column
        self.ids = list(ids)
        self.count = len(self.ids) if count is None else count
        self.fix = fix
        super().__init__(self._format())

    def _format(self) -> str:
        where = []
        if self.path:
            where.append(f"file {self.path}")
        if self.layer:
            where.append(f"layer '{self.layer}'")
        if self.column:
            where.append(f"column '{self.column}'")
        text = ", ".join(where) + ": " + self.problem if where else self.problem
        if self.ids:
            shown = ", ".join(str(i) for i in self.ids[:5])
            more = f" and {self.count - 5} more" if self.count > 5 else ""
            text += f" (rows: {shown}{more})"
        if self.fix:
            text += f". Fix: {self.fix}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": "InputError",
            "message": str(self),
            "path": self.path,
            "layer": self.layer,
            "column": self.column,
            "ids": [_plain(i) for i in self.ids[:20]],
            "count": self.count,
            "fix": self.fix,
        }


class OutputError(DualuseError):
    """The output cannot be written where asked (exit 2)."""

    exit_code = 2


class InfeasibleError(DualuseError):
    """The scenario has no feasible plan (exit 3); ``explanation`` says why in policy terms."""

    exit_code = 3

    def __init__(self, message: str, explanation: list[dict[str, Any]] | None = None) -> None:
        self.explanation = explanation or []
        super().__init__(message)

    def to_dict(self) -> dict[str, Any]:
        return {"error": "InfeasibleError", "status": "infeasible", "message": str(self),
                "explanation": self.explanation}


class TimeLimitError(DualuseError):
    """The time limit passed before any plan was found (exit 4)."""

    exit_code = 4


class UnboundedError(DualuseError):
    """The model is unbounded: a modelling error in a user's catalogue or constraint (exit 5)."""

    exit_code = 5


#: The optional parts of dualuse: extra -> the modules it installs (``pip install 'dualuse[extra]'``).
EXTRAS: dict[str, tuple[str, ...]] = {
    "dask": ("distributed",),
    "prepare": ("rasterio", "exactextract"),
    "report": ("matplotlib",),
    "arrow": ("pyarrow",),
}


class MissingExtraError(UsageError):
    """An optional part of dualuse is used without the libraries it needs (exit 2)."""

    def __init__(self, extra: str, purpose: str, module: str) -> None:
        self.extra = extra
        self.module = module
        self.install = f"pip install 'dualuse[{extra}]'"
        super().__init__(f"{purpose} needs {module}, which is not installed; install it with: {self.install}")

    def to_dict(self) -> dict[str, Any]:
        return {"error": "MissingExtraError", "message": str(self), "extra": self.extra, "module": self.module,
                "install": self.install}


def require_extra(extra: str, purpose: str) -> None:
    """Import the modules of an optional part of dualuse, or raise :class:`MissingExtraError`.

    Parameters
    ----------
    extra : a key of :data:`EXTRAS`: ``dask``, ``prepare`` or ``report``
    purpose : what needs it, as the message starts ("dualuse report", "a sweep on Dask")
    """
    import importlib

    for module in EXTRAS[extra]:
        try:
            importlib.import_module(module)
        except ImportError:
            raise MissingExtraError(extra, purpose, module) from None


def has_extra(extra: str) -> bool:
    """Whether the modules of an optional part of dualuse can be imported."""
    try:
        require_extra(extra, "")
    except MissingExtraError:
        return False
    return True


def _plain(value: Any) -> Any:
    """A numpy scalar as a plain Python value, for JSON."""
    return value.item() if hasattr(value, "item") else value
