"""The ``dualuse`` command line: thin click commands that parse, call the API and print.

Results and ``--json`` go to stdout; logs and progress to stderr.  Every
:class:`~dualuse.errors.DualuseError` becomes its message on stderr (and, with
``--json``, a JSON object on stdout) and its exit code, never a traceback.
The commands live one group to a module; each imports the library it calls
when it runs, so that ``dualuse --help`` stays fast.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

import click

from dualuse import __version__
from dualuse.cli.alternatives import no_regret_command, portfolio_command
from dualuse.cli.catalogue import catalogue
from dualuse.cli.new import new
from dualuse.cli.options import configure_logging, emit_json
from dualuse.cli.prepare import prepare
from dualuse.cli.report import report
from dualuse.cli.solve import example, parameters, solve, validate
from dualuse.cli.stress import stress
from dualuse.cli.studies import pareto_command, sweep_command
from dualuse.errors import DualuseError


class _Group(click.Group):
    """A click group that turns user-facing failures into their exit codes."""

    def invoke(self, ctx: click.Context) -> Any:
        from dualuse.progress import NORMAL
        from dualuse.solve.interrupt import Interrupted

        configure_logging(NORMAL)  # until the command's -q or -v says otherwise
        try:
            return super().invoke(ctx)
        except Interrupted as exc:
            if getattr(ctx, "_dualuse_json", False):
                emit_json({"error": "Interrupted", "message": str(exc), "signal": exc.signum})
            _stopped(exc)
            ctx.exit(exc.exit_code)
        except DualuseError as exc:
            if getattr(ctx, "_dualuse_json", False):
                emit_json(exc.to_dict())
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except BrokenPipeError:  # the reader of stdout has gone (`| head`, `| true`): stop quietly, as a pipe does
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to flush at exit
            ctx.exit(128 + signal.SIGPIPE)
        except Exception as exc:  # a bug, not the user's doing: one line, the traceback on request
            if os.environ.get("DUALUSE_DEBUG"):
                raise
            if getattr(ctx, "_dualuse_json", False):
                emit_json({"error": "InternalError", "message": f"{type(exc).__name__}: {exc}"})
            click.echo(f"internal error: {type(exc).__name__}: {exc}\n(set DUALUSE_DEBUG=1 for the traceback, "
                       "and please report it with the input that caused it)", err=True)
            ctx.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(__version__, prog_name="dualuse")
def cli() -> None:
    """Choose where solar, agrivoltaics, grazing management and restoration go."""


for _command in (solve, validate, parameters, catalogue, example, sweep_command, pareto_command, report, prepare):
    cli.add_command(_command)
for _command in (portfolio_command, no_regret_command, stress, new):
    cli.add_command(_command)


def _stopped(exc: BaseException) -> None:
    """The one line said when a signal stopped the run."""
    click.echo(f"error: {exc}: the run stopped; no output was written or replaced (a results folder keeps what "
               "finished)", err=True)


def main() -> None:
    """Console entry point: SIGINT and SIGTERM stop the run within seconds (exit 130, 143)."""
    from dualuse.solve.interrupt import Interrupted, stop_on_signals

    try:
        with stop_on_signals():
            cli()
    except Interrupted as exc:  # a signal between click's parsing and the command, or after it
        _stopped(exc)
        sys.exit(exc.exit_code)
