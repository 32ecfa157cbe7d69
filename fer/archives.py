"""The one place that knows archive formats: zip and tar (.tar, .tar.gz/.tgz, .tar.bz2, .tar.xz).

Both readers go through here so that every archive is read in place, never extracted to disk,
and a tar is read front to back: a compressed tar cannot seek backwards without decompressing
again from the start.
"""
import lzma
import tarfile
import zipfile
import zlib
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator

from fer.errors import UserError

TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
# what a damaged zip, tar or compressed stream raises, here or while its member is being read
READ_ERRORS = (OSError, EOFError, zipfile.BadZipFile, tarfile.TarError, zlib.error, lzma.LZMAError)


def is_hidden(name: str) -> bool:
    """macOS `__MACOSX/` copies and dotfiles (`._fer2013.csv`) are not data."""
    return any(p.startswith(("__MACOSX", ".")) for p in PurePosixPath(name).parts)


def is_csv(name: str) -> bool:
    return name.lower().endswith(".csv") and not is_hidden(name)


def archive_format(path: Path) -> str | None:
    """'tar', 'zip' or None, by content first (a tar named .gz is a tar), else by name."""
    for fmt, looks_like in (("tar", tarfile.is_tarfile), ("zip", zipfile.is_zipfile)):
        try:
            if looks_like(path):
                return fmt
        except READ_ERRORS:  # e.g. a truncated .csv.gz: not an archive; its reader will say why
            pass
    name = Path(path).name.lower()
    if name.endswith(TAR_SUFFIXES):
        return "tar"  # unreadable, but meant as a tar: opening it reports the damage
    return "zip" if name.endswith(".zip") else None


@contextmanager
def _opened(path: Path):
    """The open zip or tar; damage found while it is in use becomes a one-line UserError."""
    fmt = archive_format(path)
    try:
        archive = zipfile.ZipFile(path) if fmt == "zip" else tarfile.open(path, "r:*")
    except READ_ERRORS as e:  # tarfile lists every compression it tried: too long to help
        detail = "" if "\n" in str(e) else f": {e}"
        raise UserError(f"{path}: cannot open {fmt} (truncated, corrupt or empty?){detail}") from None
    try:
        with archive:
            yield archive
    except READ_ERRORS as e:
        raise UserError(f"{path}: cannot read {fmt} (truncated or corrupt?): {e}") from None


def _files(archive) -> Iterator[tuple[str, object]]:
    """(name, member) for each regular file that is data, in archive order, read lazily."""
    if isinstance(archive, zipfile.ZipFile):
        members = ((m.filename, m) for m in archive.infolist() if not m.is_dir())
    else:
        members = ((m.name, m) for m in archive if m.isfile())
    return ((name, m) for name, m in members if not is_hidden(name))


def member_names(path: Path) -> Iterator[str]:
    """Names of the data files inside; lazy, so a caller that stops early reads no further."""
    with _opened(path) as archive:
        for name, _ in _files(archive):
            yield name


def csv_member(path: Path) -> str:
    """The one CSV inside, or a UserError naming all of them."""
    found = [n for n in member_names(path) if is_csv(n)]
    if len(found) != 1:
        listed = f" ({', '.join(found)})" if found else ""
        raise UserError(f"{path}: {len(found)} CSV files inside{listed}; expected one")
    return found[0]


@contextmanager
def open_member(path: Path, name: str):
    """A binary stream of one member, read in place (a tar's is streamed, not extracted)."""
    with _opened(path) as archive:
        if isinstance(archive, zipfile.ZipFile):
            stream = archive.open(name)
        else:
            stream = archive.extractfile(next(m for n, m in _files(archive) if n == name))
        with stream:
            yield stream


def read_members(path: Path, wanted: Callable[[str], bool]) -> dict[str, bytes]:
    """{name: bytes} of the wanted members, in one pass in archive order."""
    with _opened(path) as archive:
        if isinstance(archive, zipfile.ZipFile):
            return {n: archive.read(m) for n, m in _files(archive) if wanted(n)}
        return {n: archive.extractfile(m).read() for n, m in _files(archive) if wanted(n)}
