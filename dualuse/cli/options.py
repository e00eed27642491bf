"""What the commands share: the options that name a run's inputs and executor, and JSON output."""

from __future__ import annotations

import json
import logging
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from dualuse.errors import UsageError


def want_json(flag: bool) -> None:
    """Record that this command speaks JSON, so a failure is printed as JSON on stdout too."""
    ctx = click.get_current_context().find_root()
    ctx._dualuse_json = flag  # type: ignore[attr-defined]


def scenario_options(scenario_help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The options that say which layer, scenario and catalogue a command runs on."""
    options = [
        click.option("--layer", default=None, help="parcel layer of REGION  [default: parcels]"),
        click.option("--scenario", "scenario_file", type=click.Path(dir_okay=False), default=None,
                     help=scenario_help),
        click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
                     help="override a scenario parameter; repeatable (see `dualuse parameters`)"),
        click.option("--catalogue", type=click.Path(dir_okay=False), default=None,
                     help="land-use catalogue TOML  [default: models/landuses.toml]"),
    ]

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def executor_options(command: Any) -> Any:
    """--workers, --scheduler and --dask-local: where the solves run."""
    command = click.option("--dask-local", "dask_local", type=click.IntRange(min=1), default=None, metavar="N",
                           help="start a local Dask cluster of N single-threaded workers")(command)
    command = click.option("--scheduler", default=None, metavar="ADDRESS",
                           help="run on an existing Dask cluster, e.g. tcp://host:8786")(command)
    command = click.option("--workers", type=click.IntRange(min=1), default=None, metavar="N",
                           help="local worker processes, one solver thread each  [default: one per core]")(command)
    return command


def json_default(value: Any) -> Any:
    """JSON for what :func:`json.dumps` cannot write: numpy scalars as numbers, NaN as null, the rest as text."""
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, float) and value != value:
        return None
    return str(value)


#: The version of the layout of every ``--json`` object; raised when a key changes meaning or goes away.
JSON_SCHEMA_VERSION = 1


def strict(value: Any) -> Any:
    """``value`` with every NaN or infinite float (numpy's included) as None, so that the JSON is strict."""
    if isinstance(value, dict):
        return {str(k): strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def emit_json(payload: dict[str, Any], indent: int | None = None) -> None:
    """Print one strict JSON object on stdout (no NaN, no Infinity), led by ``schema_version``."""
    text = json.dumps({"schema_version": JSON_SCHEMA_VERSION, **strict(payload)}, default=json_default,
                      allow_nan=False, indent=indent)
    click.echo(text)


def stderr(text: str) -> None:
    """One line of log on stderr (none with -q)."""
    if not quiet():
        click.echo(text, err=True)


# --------------------------------------------------------------------------- -q, -v and the log on stderr


class _StderrHandler(logging.Handler):
    """Log records as lines on whatever ``sys.stderr`` is when they are emitted."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:  # noqa: BLE001 - logging must never end the run
            self.handleError(record)


def configure_logging(level: int) -> None:
    """Show the ``dualuse`` log on stderr at ``level`` (:data:`~dualuse.progress.QUIET` and the others)."""
    from dualuse.progress import LOG, QUIET, VERBOSE, set_verbosity

    set_verbosity(level)
    handler = next((h for h in LOG.handlers if isinstance(h, _StderrHandler)), None)
    if handler is None:
        handler = _StderrHandler()
        LOG.addHandler(handler)
    LOG.propagate = False
    verbose = level >= VERBOSE
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s" if verbose else "%(message)s"))
    LOG.setLevel(logging.DEBUG if verbose else logging.ERROR if level == QUIET else logging.INFO)


def _verbosity_callback(level: int) -> Callable[[click.Context, click.Parameter, bool], None]:
    def callback(ctx: click.Context, param: click.Parameter, value: bool) -> None:
        if not value:
            return
        chosen = ctx.meta.get("dualuse_verbosity")
        if chosen is not None and chosen != level:
            raise click.UsageError("give -q (only errors) or -v (debug log), not both")
        ctx.meta["dualuse_verbosity"] = level
        configure_logging(level)

    return callback


def common_options(command: Any) -> Any:
    """-q/--quiet and -v/--verbose, the same on every command.

    Quiet: only errors on stderr (no progress, stage lines or warnings);
    verbose: debug logging, HiGHS's own log included.  The result on stdout
    is the same either way.
    """
    from dualuse.progress import QUIET, VERBOSE

    command = click.option("-v", "--verbose", is_flag=True, expose_value=False, callback=_verbosity_callback(VERBOSE),
                           help="debug log on stderr, HiGHS's log included")(command)
    command = click.option("-q", "--quiet", is_flag=True, expose_value=False, callback=_verbosity_callback(QUIET),
                           help="only errors on stderr: no progress, log or warnings")(command)
    return command


def quiet() -> bool:
    """Whether the user asked for errors only (-q)."""
    from dualuse.progress import QUIET, verbosity

    return verbosity() == QUIET


def note(text: str) -> None:
    """A warning or note on stderr, unless -q."""
    if not quiet():
        click.echo(text, err=True)


# --------------------------------------------------------------------------- files written


def overwrite_option(command: Any) -> Any:
    """--overwrite: replace an output file that exists (refused otherwise)."""
    return click.option("--overwrite", is_flag=True,
                        help="replace the output file if it exists (refused otherwise)")(command)


def check_overwrite(path: str | os.PathLike[str] | None, overwrite: bool, option: str = "-o",
                    inputs: tuple[str | None, ...] = ()) -> None:
    """Refuse to replace an existing file without --overwrite (exit 2); and remove the temporaries that
    killed runs left in its folder (:func:`dualuse.files.remove_stale_in`).  An output that is one of
    ``inputs`` is left to the writer, which refuses it whatever --overwrite says."""
    from dualuse.files import remove_stale_in

    if path is None:
        return
    target = Path(path)
    if any(source and Path(source).resolve() == target.resolve() for source in inputs):
        return
    if target.parent.resolve().is_dir():
        remove_stale_in(target.parent.resolve())
    if target.is_file() and not overwrite:
        raise UsageError(f"{option} {target}: the file exists and is left untouched; add --overwrite to replace "
                         f"it, or choose another {option} PATH")


def overlap_option(command: Any) -> Any:
    """--overlap-tolerance: the share of the region's area that overlapping parcels may count twice."""
    return click.option("--overlap-tolerance", "overlap_tolerance", type=click.FloatRange(0.0, 1.0), default=None,
                        metavar="SHARE",
                        help="share of the region's area that overlapping or duplicate parcels may count twice "
                             "(a warning); more is refused  [default: 0.01]")(command)


def explain_options(command: Any) -> Any:
    """--no-explain and --explain-time-limit: whether and how long an infeasible scenario is explained."""
    command = click.option("--explain-time-limit", "explain_time_limit", type=click.FloatRange(min=0), default=None,
                           metavar="SECONDS",
                           help="time budget of the explanation of an infeasible scenario; when it runs out the "
                                "explanation says what it found so far; 0: no limit  [default: 5 x the solve's "
                                "time, at least 10 s]")(command)
    command = click.option("--no-explain", "no_explain", is_flag=True,
                           help="do not explain an infeasible scenario (its re-solves can take many times the "
                                "solve)")(command)
    return command
