"""Files: the one atomic write, the clean-up of what a killed run left, and the checks on an output path.

Every file dualuse writes — plans, regions, sweep rows, tables, figures,
reports — goes through :func:`atomic_path` (or :func:`atomic_write` for bytes):
it is written to a temporary beside its destination, named
``.<stem>.tmp-<pid>-<random>`` (``.gpkg`` after it for a GeoPackage, since GDAL chooses its driver by
the suffix), and renamed over the destination only
once complete.  A run killed with SIGKILL leaves its temporary; the next write
beside it removes every temporary whose process is gone
(:func:`remove_stale_temporaries`, :func:`remove_stale_in`).  A write that
fails because the disk is full, read-only or forbidden is an
:class:`~dualuse.errors.OutputError` that names the output and the fix.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from dualuse.errors import DualuseError, OutputError

TEMP_MARK = ".tmp-"


def check_output_path(output: str | os.PathLike[str], inputs: tuple[str | os.PathLike[str], ...] = ()) -> Path:
    """Refuse an output that cannot or must not be written, before any work is done."""
    out = Path(output)
    if out.suffix.lower() != ".gpkg":
        raise OutputError(f"output {out}: the name must end in .gpkg")
    resolved = out.resolve()
    for source in inputs:
        if source and Path(source).resolve() == resolved:
            raise OutputError(f"output {out} is the input file: writing over the input is refused; "
                              "choose another -o PATH")
    if out.is_dir():
        raise OutputError(f"output {out} is a folder; give a file name ending in .gpkg")
    folder = resolved.parent
    if not folder.is_dir():
        raise OutputError(f"output folder {folder} does not exist; create it or choose another -o PATH")
    if not _can_create_in(folder):
        raise OutputError(f"output folder {folder} is not writable (a file cannot be created there); "
                          "choose another -o PATH")
    if is_open_elsewhere(out):
        raise OutputError(f"output {out} is open in another program (a {out.name}-wal file is beside it, as "
                          "QGIS leaves while editing): replacing it now could corrupt what that program writes; "
                          "close it there (or, if nothing has it open, open and close it once in QGIS to merge "
                          "the -wal file), or write to another -o PATH")
    if out.is_file() and out.stat().st_size > 0 and not _is_sqlite(out):
        raise OutputError(f"output {out} exists and is not a GeoPackage; it is left untouched: choose another "
                          "-o PATH, or move the file away")
    return out


def _can_create_in(folder: Path) -> bool:
    """Whether a file can be created in ``folder`` (tried, since permission bits do not bind root
    and a read-only file system does not show in them)."""
    try:
        fd, name = tempfile.mkstemp(prefix=".dualuse-write-test-", dir=folder)
    except OSError:
        return False
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(name)
    return True


def _is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def is_open_elsewhere(path: str | os.PathLike[str]) -> bool:
    """True when a GeoPackage has a live ``-wal`` file beside it (another program has it open)."""
    return Path(f"{path}-wal").exists()


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_path(destination: Path) -> Iterator[Path]:
    """A temporary file beside ``destination``, renamed over it only when the block succeeds.

    Its name ends in ``.gpkg`` for a GeoPackage (GDAL chooses its driver by the suffix) and in no suffix of the
    destination's otherwise, so that a half-written temporary never passes for one of the files beside it
    (a sweep's ``rows/*.json``).

    SIGTERM is turned into :class:`Terminated` while the block runs, so that a
    terminated run removes its temporary file and leaves the destination as
    it was.  SIGTERM is held back while the finished file is renamed, so
    the rename is never half done: a SIGTERM that arrives then ends the
    process just after it, with the new file complete.  SIGKILL cannot be
    caught: it leaves the temporary file, which the next write to the same
    destination removes (its name carries the process id, and that process
    is gone).
    """
    remove_stale_temporaries(destination)
    fd, name = tempfile.mkstemp(prefix=f".{destination.stem}{TEMP_MARK}{os.getpid()}-", suffix=_temp_suffix(destination),
                                dir=destination.resolve().parent)
    os.close(fd)
    os.unlink(name)  # a writer such as GDAL must create the file itself
    temp = Path(name)
    previous = _raise_on_sigterm(destination)
    try:
        try:
            yield temp
        except DualuseError:
            raise
        except Exception as exc:  # a writer (GDAL, SQLite, matplotlib) fails in its own words when the disk is full
            failure = _write_failure(destination, exc)
            if failure is None:
                raise
            raise failure from None
        blocked = _block_sigterm()
        try:
            os.replace(temp, destination)
            _restore_sigterm(previous)
            previous = None
        finally:
            _unblock_sigterm(blocked)
    finally:
        _restore_sigterm(previous)
        for leftover in (temp, Path(f"{temp}-journal"), Path(f"{temp}-wal"), Path(f"{temp}-shm")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


#: Errors of the file system that a user can fix, with what they mean.
_WRITE_ERRORS = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is used up",
                 errno.EFBIG: "the file is larger than the file system allows", errno.EROFS: "the file system is read-only",
                 errno.EACCES: "permission was denied", errno.EPERM: "permission was denied"}
#: Less free space than this beside a failed write means the write failed because the disk is full [bytes].
_FULL_BYTES = 1 << 20


def _write_failure(destination: Path, exc: Exception) -> OutputError | None:
    """The OutputError for a write that failed for want of space or permission, or None for any other failure."""
    folder = destination.resolve().parent
    reason = _WRITE_ERRORS.get(exc.errno) if isinstance(exc, OSError) and exc.errno is not None else None
    if reason is None:
        try:
            free = shutil.disk_usage(folder).free
        except OSError:
            return None
        if free >= _FULL_BYTES:
            return None
        reason = f"the disk is full ({free:,} bytes left)"
    kept = "the earlier file there is unchanged" if destination.exists() else "no file was left"
    return OutputError(f"cannot write {destination}: {reason}; nothing was written, {kept}. Fix: free space on the "
                       f"disk of {folder} (or fix its permissions), or choose another -o PATH")


def remove_stale_temporaries(destination: Path) -> None:
    """Remove temporaries that a killed earlier run (whose process is gone) left beside ``destination``, with
    the journal, write-ahead log or shared memory file SQLite may have left beside a GeoPackage's."""
    folder = destination.resolve().parent
    for temp in list(folder.glob(f".{destination.stem}{TEMP_MARK}*")):
        pid_text = temp.name[len(f".{destination.stem}{TEMP_MARK}"):].split("-", 1)[0]
        if pid_text.isdigit() and not process_alive(int(pid_text)):
            with contextlib.suppress(OSError):
                temp.unlink()


def process_alive(pid: int) -> bool:
    """True when a process with this id exists (a temporary's owner may still be writing)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Terminated(DualuseError):
    """Raised inside a write when the process receives SIGTERM; exits 143 (128 + SIGTERM), as a shell does."""

    exit_code = 128 + signal.SIGTERM


def _raise_on_sigterm(destination: Path) -> Any:
    if not _main_thread():
        return None

    def handler(signum: int, frame: Any) -> None:
        raise Terminated(f"terminated while writing {destination}: nothing was written, "
                         + ("the earlier file there is unchanged" if destination.exists() else "no file was left"))

    return signal.signal(signal.SIGTERM, handler)


def _block_sigterm() -> bool:
    if not _main_thread() or not hasattr(signal, "pthread_sigmask"):
        return False
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    return True


def _unblock_sigterm(blocked: bool) -> None:
    if blocked:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})


def _restore_sigterm(previous: Any) -> None:
    if previous is not None and _main_thread():
        signal.signal(signal.SIGTERM, previous)


def _main_thread() -> bool:
    import threading
    return threading.current_thread() is threading.main_thread()


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through :func:`atomic_path`, synced to disk before the rename."""
    with atomic_path(Path(path)) as temp:
        with open(temp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())


def remove_stale_in(folder: Path) -> None:
    """Remove every temporary in ``folder`` whose process is gone (what killed runs left there)."""
    for temp in list(folder.glob(f".*{TEMP_MARK}*")):
        pid_text = temp.name.split(TEMP_MARK, 1)[1].split("-", 1)[0]
        if pid_text.isdigit() and not process_alive(int(pid_text)):
            with contextlib.suppress(OSError):
                temp.unlink()


def prepare_folder(output: str | os.PathLike[str], inputs: Sequence[str] = ()) -> Path:
    """Create (or reuse) a results folder, refusing one that cannot be written."""
    folder = Path(output)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"output {folder} is a file; give a folder for the results (-o RESULTS_DIR)")
    for source in inputs:
        if source and Path(source).resolve() == folder.resolve():
            raise OutputError(f"output {folder} is an input; choose another -o RESULTS_DIR")
    parent = folder.resolve().parent
    if not parent.is_dir():
        raise OutputError(f"output folder {parent} does not exist; create it or choose another -o RESULTS_DIR")
    try:
        folder.mkdir(exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the results folder {folder} ({exc.strerror})") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"results folder {folder} is not writable; choose another -o RESULTS_DIR")
    return folder


def _temp_suffix(destination: Path) -> str:
    """The suffix of a temporary for ``destination``: ``.gpkg`` for a GeoPackage, else none."""
    return ".gpkg" if destination.suffix.lower() == ".gpkg" else ""
