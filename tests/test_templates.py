"""``dualuse new``: each template lists what it configures, with units, and loads back as the defaults."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from dualuse.cli import cli
from dualuse.inputs.catalogue import SCALARS, TABLES, load_catalogue
from dualuse.inputs.scenario import PARAMETERS, load_scenario
from dualuse.studies.spec import read_sweep


def write(kind: str, path: Path, *more: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["new", kind, "-o", str(path), *more])
    return result.exit_code, result.output


def catalogue_data(path: Path | None = None) -> dict:
    data = load_catalogue(path).to_dict()
    return {k: v for k, v in data.items() if k not in ("path", "sha256")}


def test_the_scenario_template_is_the_default_scenario_with_every_parameter_explained(tmp_path: Path) -> None:
    path = tmp_path / "scenario.toml"
    assert write("scenario", path)[0] == 0
    assert load_scenario(path) == load_scenario()
    text = path.read_text(encoding="utf-8")
    for p in PARAMETERS:
        assert re.search(rf"^{p.name} = ", text, re.M), p.name  # set, not commented out
        assert re.search(rf"^# {p.name} \[{re.escape(p.unit)}\]: ", text, re.M), p.name
    edited = path.with_name("edited.toml")
    edited.write_text(re.sub(r"^budget_usd = .*$", "budget_usd = 1.5e7", text, flags=re.M), encoding="utf-8")
    assert load_scenario(edited) == load_scenario().replace(budget_usd=1.5e7)


def test_the_catalogue_template_is_the_bundled_catalogue_with_units(tmp_path: Path) -> None:
    path = tmp_path / "landuses.toml"
    assert write("catalogue", path)[0] == 0
    assert catalogue_data(path) == catalogue_data()
    text = path.read_text(encoding="utf-8")
    for key, (unit, _, _) in {**SCALARS, **TABLES}.items():
        explained = re.findall(rf"^# \[{re.escape(unit)}\][^\n]*\n{key} = ", text, re.M)
        assert len(explained) == 5, key  # once in each use's table, under its unit and range


def test_the_sweep_template_sweeps_the_budget_around_the_default_scenario(tmp_path: Path) -> None:
    path = tmp_path / "sweep.toml"
    assert write("sweep", path)[0] == 0
    spec = read_sweep(path)
    default = load_scenario()
    assert spec.base == default and spec.named == ()
    assert spec.grid == {"budget_usd": tuple(default.budget_usd * k / 3 for k in (1, 2, 3))}
    text = path.read_text(encoding="utf-8")
    assert all(f"# {p.name} = " in text for p in PARAMETERS)


def test_an_existing_file_is_kept_without_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "scenario.toml"
    path.write_text("budget_usd = 1.0\n")
    code, output = write("scenario", path)
    assert code == 2 and "--overwrite" in output and path.read_text() == "budget_usd = 1.0\n"
    assert write("scenario", path, "--overwrite")[0] == 0
    assert load_scenario(path) == load_scenario()
    assert write("sweep", tmp_path / "missing" / "sweep.toml")[0] == 2


@pytest.mark.parametrize("kind", ["scenario", "catalogue", "sweep"])
def test_without_output_the_template_goes_to_stdout(kind: str, tmp_path: Path) -> None:
    path = tmp_path / f"{kind}.toml"
    write(kind, path)
    result = CliRunner().invoke(cli, ["new", kind])
    assert result.exit_code == 0 and result.stdout == path.read_text(encoding="utf-8")
