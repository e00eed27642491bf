"""A user's input file: that it exists and is a file, and the first line of a library's complaint about it."""

from __future__ import annotations

import os

from dualuse.errors import InputError


def require_file(path: str, option: str) -> None:
    """Refuse a path that does not exist or is a folder, naming the option that gave it."""
    if not os.path.exists(path):
        raise InputError("no such file", path=path, fix=f"check the path given to {option}")
    if os.path.isdir(path):
        raise InputError("is a folder, not a file", path=path, fix=f"give {option} a file")


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (at most 200 characters), or its class name."""
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]
