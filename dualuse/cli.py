"""The ``dualuse`` command line: thin click commands that parse, call the API and print.

Results and ``--json`` go to stdout; logs and progress to stderr.  Every
:class:`~dualuse.errors.DualuseError` becomes its message on stderr and its
exit code, never a traceback.
"""

from __future__ import annotations

import sys

import click

from dualuse import __version__
from dualuse.errors import DualuseError


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(__version__, prog_name="dualuse")
def cli() -> None:
    """Choose where solar, agrivoltaics, grazing management and restoration go."""


def main() -> None:
    """Console entry point: run the CLI, turning user-facing failures into exit codes."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except DualuseError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
