"""The land-use catalogue: Trends.Earth's matrix by default, named alternatives, sources for every coefficient,
and ``dualuse catalogue`` printing what is loaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from trends_earth_reference import TE_CLASS_OF, land_cover_indicator

from dualuse.errors import InputError
from dualuse.inputs.catalogue import (
    SCALARS,
    TABLES,
    default_catalogue_path,
    load_catalogue,
    matrix_names,
    named_matrix,
)
from dualuse.vocabulary import LAND_TYPES

IDENTITY = {"retention": 1.0}  # per-land-type tables whose neutral value is not 0


def test_default_matrix_is_trends_earths_cell_by_cell() -> None:
    catalogue = load_catalogue()
    assert catalogue.land_cover_matrix == "trends_earth_unccd"
    assert set(TE_CLASS_OF) == set(LAND_TYPES)
    for i, src in enumerate(LAND_TYPES):
        for j, dst in enumerate(LAND_TYPES):
            assert catalogue.land_cover_transition[i, j] == land_cover_indicator(src, dst), (src, dst)


def test_the_alternative_matrix_differs_in_the_five_stated_cells() -> None:
    default, _ = named_matrix("trends_earth_unccd")
    alternative, source = named_matrix("woody_regrowth_improves")
    differ = {(LAND_TYPES[i], LAND_TYPES[j]) for i, j in zip(*np.nonzero(default != alternative))}
    assert differ == {("cropland", "shrubland"), ("grassland", "shrubland"), ("cropland", "wetland"),
                      ("grassland", "wetland"), ("shrubland", "wetland")}
    assert source and set(matrix_names()) >= {"trends_earth_unccd", "woody_regrowth_improves"}


def test_every_coefficient_that_is_not_neutral_has_a_source() -> None:
    """A value that changes anything (a non-zero scalar, a table not all neutral) names its source, or says it
    is a planning assumption; so does each use's LDN response."""
    missing = []
    for use in load_catalogue().uses:
        if use.name == "current":
            continue
        for key in SCALARS:
            if getattr(use, key) != 0 and key not in use.sources:
                missing.append(f"{use.name}.{key}")
        for key in TABLES:
            if np.any(getattr(use, key) != IDENTITY.get(key, 0.0)) and key not in use.sources:
                missing.append(f"{use.name}.{key}")
        if "response" not in use.sources:
            missing.append(f"{use.name}.response")
    assert missing == []


def _catalogue_with(tmp_path: Path, old: str, new: str) -> Path:
    text = default_catalogue_path().read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "catalogue.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_a_catalogue_names_its_matrix_or_gives_it(tmp_path: Path) -> None:
    named = load_catalogue(_catalogue_with(tmp_path, 'land_cover_transition = "trends_earth_unccd"',
                                           'land_cover_transition = "woody_regrowth_improves"'))
    assert named.land_cover_matrix == "woody_regrowth_improves"
    assert named.land_cover_transition[0, 2] == 1
    with pytest.raises(InputError, match="not one of trends_earth_unccd, woody_regrowth_improves"):
        load_catalogue(_catalogue_with(tmp_path, 'land_cover_transition = "trends_earth_unccd"',
                                       'land_cover_transition = "national"'))


def test_a_use_without_a_response_is_refused_with_the_choices(tmp_path: Path) -> None:
    with pytest.raises(InputError, match='uses.grazing.response.*"reverse"'):
        load_catalogue(_catalogue_with(tmp_path, 'response = "reduce"', 'response = "heal"'))


def test_catalogue_command_prints_json_with_units_sources_and_matrix() -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-m", "dualuse", "catalogue", "--json"], capture_output=True, text=True,
                          env=env, check=False)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["land_cover_matrix"] == "trends_earth_unccd"
    assert data["land_cover_transition"]["cropland"]["grassland"] == -1
    assert data["uses"]["restoration"]["response"] == "reverse"
    assert data["units"]["capex_usd_mwp"] == "USD/MWp"
    assert "Lopez et al. 2012" in data["uses"]["solar"]["sources"]["max_slope_deg"]
    text = subprocess.run([sys.executable, "-m", "dualuse", "catalogue"], capture_output=True, text=True, env=env,
                          check=True).stdout
    assert "LDN response: reverse" in text and "land-cover transition matrix: trends_earth_unccd" in text
