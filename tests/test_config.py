"""Catalogue and scenario: one declaration per parameter, checked values, sources for every coefficient."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from dualuse.cli import cli
from dualuse.errors import InputError, UsageError
from dualuse.inputs.catalogue import SCALARS, TABLES, load_catalogue
from dualuse.inputs.scenario import (
    PARAMETERS,
    default_scenario_path,
    load_scenario,
    make_scenario,
    parse_sets,
)
from dualuse.vocabulary import USES


def test_default_scenario_file_holds_the_declared_defaults():
    assert load_scenario() == make_scenario({})
    text = default_scenario_path().read_text()
    assert [line.split(" = ")[0] for line in text.splitlines()] == [p.name for p in PARAMETERS]


def test_every_catalogue_coefficient_has_a_unit_and_a_source():
    """Each coefficient that does something (not zero, not the no-op default) cites where it comes from."""
    catalogue = load_catalogue()
    assert [u.name for u in catalogue.uses] == list(USES)
    for use in catalogue.uses[1:]:
        for key in [*SCALARS, *TABLES]:
            value = getattr(use, key)
            inert = (value == 0).all() if key in TABLES and key != "retention" else (
                (value == 1).all() if key == "retention" else value in (0.0, 90.0))
            if not inert:
                assert len(use.sources.get(key, "")) >= 10, f"uses.{use.name}.{key} has no source"
        assert use.name != "solar" or "cover" in use.sources
    for unit, _, _ in {**SCALARS, **TABLES}.values():
        assert unit


def test_set_overrides_are_typed_and_checked():
    scenario = load_scenario(sets=parse_sets(["budget_usd=2.5e7", "ldn_scope=region", "mtf_tier=4"]))
    assert scenario.budget_usd == 2.5e7 and scenario.ldn_scope == "region" and scenario.household_kwh_yr == 2117
    for bad, words in [("budget_usd=-1", "out of range"), ("ldn_scope=county", "land_type | region | off"),
                       ("mtf_tier=3.5", "whole number"), ("food_floor=abc", "not a number"),
                       ("nonsense=1", "valid parameters: budget_usd"), ("budget_usd", "key=value")]:
        with pytest.raises(UsageError, match=re.escape(words)):
            load_scenario(sets=parse_sets([bad]))


def test_scenario_file_overrides_and_rejects_unknown_keys(tmp_path):
    good = tmp_path / "s.toml"
    good.write_text("budget_usd = 1e7\nldn_target = 0.01\n")
    assert load_scenario(good).budget_usd == 1e7
    bad = tmp_path / "bad.toml"
    bad.write_text("budjet_usd = 1e7\n")
    result = CliRunner().invoke(cli, ["solve", "whatever.gpkg", "--scenario", str(bad),
                                      "-o", str(tmp_path / "plan.gpkg")])
    assert result.exit_code == 2 and "budjet_usd" in result.stderr and "valid parameters" in result.stderr


def test_broken_catalogue_is_named(tmp_path):
    text = load_catalogue().path
    broken = tmp_path / "c.toml"
    broken.write_text(open(text).read().replace("density_mwp_ha = 0.87", "density_mwp_ha = -1"))
    with pytest.raises(InputError, match="uses.solar.density_mwp_ha"):
        load_catalogue(broken)


def test_parameters_command_lists_every_parameter():
    out = CliRunner().invoke(cli, ["parameters", "--markdown"]).output
    for p in PARAMETERS:
        assert f"`{p.name}`" in out


def test_readme_tables_are_the_declared_ones():
    """The README's schema and parameter tables are generated from the one declaration of each."""
    from pathlib import Path

    from dualuse.inputs.scenario import parameters_markdown
    from dualuse.inputs.schema import schema_markdown

    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    for marker, table in (("schema", schema_markdown()), ("parameters", parameters_markdown())):
        block = readme.split(f"<!-- {marker}:start -->\n")[1].split(f"\n<!-- {marker}:end -->")[0]
        assert block == table, f"README {marker} table is stale: regenerate it"
    assert readme.splitlines()[3:5] == ["make demo   # sets up .venv, solves the bundled example region, writes "
                                        "plan.gpkg and prints the headline KPIs",
                                        "make test   # sets up the same .venv and runs the whole test suite"]
