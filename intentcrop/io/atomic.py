"""Atomic file writes: a file takes its final name complete or not at all, and nothing is followed or pre-planted.

`write_atomic(path, write)` writes through a temp file made by `tempfile.mkstemp` in the target's own folder
(O_CREAT | O_EXCL, a random name `.intentcrop-XXXXXXXX.tmp`: it cannot be pre-planted, and a symlink
at that name makes mkstemp pick another name rather than follow it), flushes and fsyncs it, given the mode a new file
ordinarily gets (0666 less the umask), then puts it in place:

- not overwriting: `os.link(temp, path)` then the temp is unlinked -- the link fails if anything (a file, a
  dangling symlink) already has the name, so an existing file is never replaced, with no check-then-act race.
  Where the file system has no hard links, an exists-check then `os.replace` is used instead (a small race: a
  file created between the two is replaced);
- overwriting: `os.replace(temp, path)`, which replaces a symlink at `path` itself, never its target.

The folder is fsynced afterwards (best effort), so the new name survives a power cut too. On any failure
(the encoder raising midway, a full disk, a kill is the exception: see `clean_temp_files`) the temp file is
removed. A killed process may leave a temp file behind: `clean_temp_files(folder)` removes those (our prefix
and suffix, regular files, owned by this user), never anything else.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

TEMP_PREFIX = ".intentcrop-"
TEMP_SUFFIX = ".tmp"
_TEMP_RE = re.compile(r"^" + re.escape(TEMP_PREFIX) + r"[A-Za-z0-9_]{6,}" + re.escape(TEMP_SUFFIX) + r"$")
# os.link failing with one of these means "no hard links here", not "the name is taken".
_NO_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK, errno.ENOSYS}


_umask: "int | None" = None


def _file_mode() -> int:
    """The mode an ordinary new file gets (0666 less the umask, read once): mkstemp's 0600 is widened to it."""
    global _umask
    if _umask is None:
        _umask = os.umask(0o022)
        os.umask(_umask)
    return 0o666 & ~_umask


def fsync_dir(folder: "str | os.PathLike") -> None:
    """fsync a folder so that a rename or link in it is durable (best effort: some systems cannot)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path: "str | os.PathLike", write: Callable[[BinaryIO], None], overwrite: bool = False,
                 before_commit: "Callable[[str], None] | None" = None) -> str:
    """Write a file atomically (see the module docstring); returns the written content's sha256 (hex).

    write(f) writes the content to the binary file object f (it may seek). before_commit(sha256), when given,
    runs after the content is on disk and before it takes its name (e.g. to record the write in a manifest).
    Raises FileExistsError, without touching it, when `path` exists and overwrite is False."""
    path = Path(path)
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    if not overwrite and os.path.lexists(path):
        raise FileExistsError(errno.EEXIST, "already exists (pass --overwrite to replace it)", str(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX)
    placed = False
    try:
        with os.fdopen(fd, "w+b") as f:
            if hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), _file_mode())
            write(f)
            f.flush()
            os.fsync(f.fileno())
            f.seek(0)
            digest = hashlib.sha256()
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        sha = digest.hexdigest()
        if before_commit is not None:
            before_commit(sha)
        if overwrite:
            os.replace(tmp, path)
            placed = True
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise FileExistsError(errno.EEXIST, "already exists (pass --overwrite to replace it)",
                                      str(path)) from None
            except OSError as exc:
                if exc.errno not in _NO_LINKS:
                    raise
                if os.path.lexists(path):  # no hard links here: check, then replace (a small race)
                    raise FileExistsError(errno.EEXIST, "already exists (pass --overwrite to replace it)",
                                          str(path)) from None
                os.replace(tmp, path)
                placed = True
        fsync_dir(folder)
        return sha
    finally:
        if not placed:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass


def write_bytes_atomic(path: "str | os.PathLike", data: bytes, overwrite: bool = False,
                       before_commit: "Callable[[str], None] | None" = None) -> str:
    """`write_atomic` for content already in memory; returns its sha256 (hex)."""
    return write_atomic(path, lambda f: f.write(data), overwrite=overwrite, before_commit=before_commit)


def is_temp_name(name: str) -> bool:
    return bool(_TEMP_RE.match(name))


def clean_temp_files(folder: "str | os.PathLike") -> list[Path]:
    """Remove temp files a killed run left in `folder`: names `.intentcrop-*.tmp` that are regular files (not
    symlinks, never followed) owned by this user. Returns what was removed. A run writing into the same folder
    at the same moment would lose its in-flight temp file (that write then fails cleanly): one batch per folder."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    uid = os.getuid() if hasattr(os, "getuid") else None
    for entry in entries:
        if not is_temp_name(entry.name):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode) or (uid is not None and st.st_uid != uid):
                continue
            os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def sha256_file(path: "str | os.PathLike") -> "str | None":
    """A regular file's sha256 (hex), never following a symlink; None when it is missing or not a regular file."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return None
        digest = hashlib.sha256()
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
