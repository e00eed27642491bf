"""Shared fixtures: small regions made once per session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests/helpers.py

from dualuse.prepare.example import write_example  # noqa: E402


@pytest.fixture(scope="session")
def example_region(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 300-parcel example region (same generator as the bundled one)."""
    path = tmp_path_factory.mktemp("example") / "region.gpkg"
    write_example(path, parcels=300, seed=7)
    return path
