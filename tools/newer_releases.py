"""Which release of each dependency this environment runs, the newest that pyproject.toml allows, and the
newer ones that its upper bounds keep out.

    python tools/newer_releases.py            # the table, from the registry pip is set up to use

Run by ``make test-newest`` in the environment it has just built with the newest allowed releases; an
installed release older than the newest allowed one means the registry served something else.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Release:
    """One dependency: what is allowed, installed and released."""

    name: str
    specifier: str
    installed: Version | None
    newest_allowed: Version | None
    beyond_bounds: tuple[Version, ...]


def requirements(pyproject: Path = ROOT / "pyproject.toml") -> list[Requirement]:
    """The dependencies and the extras' dependencies of the project, each once (the project's own extras
    left out)."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    texts = list(project.get("dependencies", []))
    for group in project.get("optional-dependencies", {}).values():
        texts += group
    out: dict[str, Requirement] = {}
    for text in texts:
        requirement = Requirement(text)
        if requirement.name != project["name"]:
            out.setdefault(requirement.name.lower(), requirement)
    return list(out.values())


def released_versions(name: str) -> list[Version]:
    """The final releases the registry serves for ``name`` (``pip index versions``), newest first."""
    done = subprocess.run([sys.executable, "-m", "pip", "index", "versions", name], capture_output=True,
                          text=True, check=False)
    found = re.search(r"^Available versions: (.*)$", done.stdout, re.M)
    versions = []
    for text in (found.group(1).split(", ") if found else []):
        try:
            version = Version(text.strip())
        except InvalidVersion:
            continue
        if not version.is_prerelease:
            versions.append(version)
    return sorted(versions, reverse=True)


def classify(requirement: Requirement, versions: list[Version], installed: Version | None) -> Release:
    """The newest release ``requirement`` allows, and the releases newer than it that it refuses."""
    allowed = [v for v in versions if requirement.specifier.contains(v)]
    newest = max(allowed, default=None)
    beyond = tuple(v for v in versions if newest is not None and v > newest)
    return Release(requirement.name, str(requirement.specifier), installed, newest, beyond)


def installed_version(name: str) -> Version | None:
    try:
        return Version(metadata.version(name))
    except metadata.PackageNotFoundError:
        return None


def main() -> int:
    rows = [classify(r, released_versions(r.name), installed_version(r.name)) for r in requirements()]
    print(f"{'package':16} {'allowed':18} {'installed':12} {'newest allowed':15} newer, refused by the bounds")
    behind = []
    for row in rows:
        beyond = ", ".join(str(v) for v in row.beyond_bounds) or "—"
        print(f"{row.name:16} {row.specifier:18} {str(row.installed or '—'):12} "
              f"{str(row.newest_allowed or '?'):15} {beyond}")
        if row.installed is not None and row.newest_allowed is not None and row.installed < row.newest_allowed:
            behind.append(row.name)
    if behind:
        print(f"older than the newest allowed release: {', '.join(behind)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
