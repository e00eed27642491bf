"""The optional parts of dualuse: the core solve runs without them, and each part that needs one says which
``pip install 'dualuse[...]'`` line to run, with exit code 2.

One subprocess blocks the optional libraries (a finder first on ``sys.meta_path`` makes every import of them
fail as if they were not installed) and runs the commands in-process, one after another.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyogrio
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "dualuse"

#: The libraries of the extras, and what a missing one must not stop.
OPTIONAL = ("matplotlib", "distributed", "dask", "rasterio", "exactextract", "pyarrow")

_SCRIPT = r"""
import contextlib, io, json, sys
blocked, out_path, runs = sys.argv[1].split(","), sys.argv[2], json.loads(sys.argv[3])
class NotInstalled:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, NotInstalled)
from dualuse.cli import cli
results = []
for args in runs:
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            cli.main(args=args, prog_name="dualuse")
            code = 0
        except SystemExit as exc:
            code = exc.code or 0
    results.append({"code": code, "stdout": stdout.getvalue(), "stderr": stderr.getvalue()})
loaded = sorted(name for name in blocked if name in sys.modules)
with open(out_path, "w") as fh:
    json.dump({"results": results, "loaded": loaded}, fh)
"""


def _imports_of(path: Path) -> set[str]:
    """The top-level packages that a module imports, anywhere in its body."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.split(".")[0])
    return found


def _modules_importing(package: str, under: Path) -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for p in under.rglob("*.py") if package in _imports_of(p))


def test_no_module_outside_the_solver_path_imports_scipy() -> None:
    """scipy is no dependency: no module of dualuse/ outside solve/ imports it, and nor does the benchmark
    region writer that the tests use (the tests and the benchmark floor build scipy matrices: ``[test]``)."""
    outside = [p for p in _modules_importing("scipy", PACKAGE) if not p.startswith("dualuse/solve/")]
    assert outside == []
    assert "scipy" not in _imports_of(ROOT / "benchmarks" / "bench_structured.py")


def _blocked() -> tuple[str, ...]:
    """The optional libraries, and scipy too once no module of dualuse imports it."""
    return OPTIONAL + (() if _modules_importing("scipy", PACKAGE) else ("scipy",))


@pytest.fixture(scope="module")
def without_extras(tmp_path_factory: pytest.TempPathFactory, example_region: Path) -> tuple[Path, list[dict]]:
    """Solve, sweep on Dask, sweep with plots, prepare and report, with every optional library blocked."""
    folder = tmp_path_factory.mktemp("no_extras")
    plan = folder / "plan.gpkg"
    sweep_file = folder / "sweep.toml"
    sweep_file.write_text('[grid]\nbudget_usd = [1e7, 2e7]\n')
    runs = [
        ["solve", str(example_region), "-o", str(plan), "--json"],
        ["sweep", str(example_region), str(sweep_file), "-o", str(folder / "dask"), "--dask-local", "1",
         "--no-plots", "--json"],
        ["sweep", str(example_region), str(sweep_file), "-o", str(folder / "plots"), "--json"],
        ["prepare", str(folder / "aoi.gpkg"), "-o", str(folder / "region.gpkg"), "--cell-ha", "100",
         "--pvout", "pv.tif", "--productivity", "p.tif", "--soc", "soc.tif", "--land-cover", "lc.tif"],
        ["report", str(plan), "--json"],
    ]
    out = folder / "results.json"
    subprocess.run([sys.executable, "-c", _SCRIPT, ",".join(_blocked()), str(out), json.dumps(runs)],
                   env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True, capture_output=True, timeout=300)
    found = json.loads(out.read_text())
    assert found["loaded"] == []
    return plan, found["results"]


def test_the_core_solve_needs_no_extra(without_extras: tuple[Path, list[dict]], example_region: Path,
                                       tmp_path: Path) -> None:
    plan, results = without_extras
    solved = results[0]
    assert solved["code"] == 0, solved["stderr"]
    assert json.loads(solved["stdout"])["status"] == "optimal"
    # written without Arrow, the plan reads back as the same table as one written with it
    from dualuse.run import solve_region

    again = tmp_path / "plan.gpkg"
    solve_region(example_region, again)
    for layer in ("plan", "communities"):
        a = pyogrio.read_dataframe(plan, layer=layer)
        b = pyogrio.read_dataframe(again, layer=layer)
        pd.testing.assert_frame_equal(a.drop(columns="geometry"), b.drop(columns="geometry"))
        assert a.geometry.geom_equals(b.geometry).all()


@pytest.mark.parametrize(("run", "extra"), [(1, "dask"), (2, "report"), (3, "prepare"), (4, "report")],
                         ids=["sweep --dask-local", "sweep plots", "prepare", "report"])
def test_a_missing_extra_names_its_pip_line_and_exits_2(without_extras: tuple[Path, list[dict]], run: int,
                                                       extra: str) -> None:
    result = without_extras[1][run]
    assert result["code"] == 2, result["stderr"]
    line = f"pip install 'dualuse[{extra}]'"
    assert line in result["stderr"] and "internal error" not in result["stderr"]
    assert result["stderr"].count("\n") == 1  # one message, no traceback
    if result["stdout"]:  # --json: the failure as one object
        payload = json.loads(result["stdout"])
        assert payload["error"] == "MissingExtraError" and payload["install"] == line
