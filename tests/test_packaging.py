"""What the distribution declares: bounds on every dependency, the license, and the newest-release report."""

from __future__ import annotations

import importlib.util
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def _newer_releases():
    spec = importlib.util.spec_from_file_location("dualuse_newer_releases", ROOT / "tools" / "newer_releases.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_every_dependency_has_a_minimum_version_and_extras_install_the_optional_parts() -> None:
    from dualuse.errors import EXTRAS

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for requirement in _newer_releases().requirements():
        assert any(s.operator in (">=", "==", "~=") for s in requirement.specifier), requirement
    extras = project["optional-dependencies"]
    for extra, modules in EXTRAS.items():  # each missing-extra message names an extra that installs its modules
        installs = set()
        for text in extras[extra]:
            requirement = Requirement(text)
            installs |= {requirement.name, *requirement.extras}
        assert set(modules) <= installs, extra
    assert set(EXTRAS) <= {Requirement(r).name for r in extras["all"]}.union(*(
        Requirement(r).extras for r in extras["all"]))
    core = {Requirement(r).name for r in project["dependencies"]}
    assert not core & {"scipy", "matplotlib", "rasterio", "exactextract", "dask", "pyarrow"}


def test_the_license_is_declared_the_pep_639_way() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["license"] == "MIT" and pyproject["project"]["license-files"] == ["LICENSE"]
    backend = Requirement(pyproject["build-system"]["requires"][0])
    assert backend.name == "setuptools" and not backend.specifier.contains("76.9")  # PEP 639 from setuptools 77
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and "Copyright (c) 2026 the dualuse authors" in text


def test_the_newest_allowed_release_and_the_ones_beyond_the_bounds() -> None:
    classify = _newer_releases().classify
    versions = [Version(v) for v in ("1.17.0", "1.16.0", "1.15.1", "1.14.0")]
    row = classify(Requirement("highspy>=1.15.1,<1.17"), versions, Version("1.15.1"))
    assert row.newest_allowed == Version("1.16.0") and row.beyond_bounds == (Version("1.17.0"),)
    row = classify(Requirement("highspy>=1.15.1"), versions, None)
    assert row.newest_allowed == Version("1.17.0") and row.beyond_bounds == ()
    assert classify(Requirement("highspy>=2"), versions, None).newest_allowed is None
