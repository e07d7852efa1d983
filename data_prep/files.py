"""File helpers shared by every data-preparation module.

Everything that writes goes through :func:`atomic_write`, so an interrupted run never leaves a
half-written file under its final name, and everything read from the outside world is verified
with :func:`verify_checksum` before use.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

from tqdm.auto import tqdm


class DataPrepError(RuntimeError):
    """A problem with input data, reported with the file and how to fix it."""


def file_digest(path: str | os.PathLike, algorithm: str = "md5", chunk_size: int = 1 << 20) -> str:
    """Hex digest of a file, read in chunks so memory stays bounded."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_checksum(path: str | os.PathLike, expected: str, algorithm: str = "md5") -> None:
    """Raise :class:`DataPrepError` naming ``path`` when it is missing or its digest differs."""
    path = Path(path)
    if not path.is_file():
        raise DataPrepError(f"{path}: file not found. Download it again or point --source at the folder holding it.")
    actual = file_digest(path, algorithm)
    if actual != expected.lower():
        raise DataPrepError(
            f"{path}: {algorithm} is {actual}, expected {expected}. The file is corrupt or truncated: "
            "delete it and download it again."
        )


def _default_mode(path: str) -> None:
    """mkstemp creates files readable by the owner only; give them the usual umask permissions."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator:
    """Open a temporary file beside ``path``; rename it onto ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    _default_mode(tmp)
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (for libraries that open files themselves, like h5py);
    it is renamed onto ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    _default_mode(tmp)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def download(url: str, dest: str | os.PathLike, expected: str | None, algorithm: str = "md5", timeout: float = 60.0) -> Path:
    """Download ``url`` to ``dest`` (atomically) and verify its checksum.

    ``expected=None`` is only for archives whose publisher gives no checksum: the caller must then
    verify every member it uses (as OPPORTUNITY's loader does against its per-file sha256).
    """
    dest = Path(dest)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, atomic_write(dest) as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name) as bar:
                for chunk in iter(lambda: response.read(1 << 20), b""):
                    out.write(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise DataPrepError(
            f"{url}: download failed ({error}). If this machine has no network, download the file "
            "elsewhere and pass it, or the folder holding it, with --source."
        ) from error
    if expected is None:
        return dest
    try:
        verify_checksum(dest, expected, algorithm)
    except DataPrepError:
        dest.unlink(missing_ok=True)
        raise
    return dest


def _check_member(name: str, target: Path) -> Path:
    resolved = (target / name).resolve()
    if resolved != target and target not in resolved.parents:
        raise DataPrepError(f"archive member {name!r} would be written outside {target}; refusing to extract it.")
    return resolved


def safe_extract(archive: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Extract a .zip or .tar(.gz) archive, refusing members (or links) that would land outside ``target``."""
    archive, target = Path(archive), Path(target).resolve()
    target.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for member in zf.namelist():
                _check_member(member, target)
            zf.extractall(target)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            for member in tf.getmembers():
                _check_member(member.name, target)
                if member.issym() or member.islnk():
                    _check_member(os.path.join(os.path.dirname(member.name), member.linkname), target)
            tf.extractall(target, filter="data")
    else:
        raise DataPrepError(f"{archive}: not a zip or tar archive (corrupt or truncated?). Download it again.")
    return target


def copy_verified(source: str | os.PathLike, dest: str | os.PathLike, expected: str, algorithm: str = "md5") -> Path:
    """Verify ``source`` then copy it atomically to ``dest``."""
    verify_checksum(source, expected, algorithm)
    with open(source, "rb") as src, atomic_write(dest) as out:
        shutil.copyfileobj(src, out)
    return Path(dest)
