"""What the commands share: the options that name a run's inputs and executor, and JSON output."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import click


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
    """One line of log on stderr."""
    click.echo(text, err=True)
