"""The batch manifest of `intentcrop crop --out DIR`: re-running a killed batch skips what is done and completes
what is half done, without --overwrite, and never touches a file it did not write.

The manifest is `.intentcrop-manifest.jsonl` in the output folder, one JSON object a line, each appended and
fsynced (opened with O_NOFOLLOW: a symlink planted at its name is refused, not followed):

- `{"event": "file", "key": K, "input": PATH, "file": NAME, "sha256": H}` -- written after a crop's content is on
  disk in its temp file and *before* it takes its name, so every output file that exists under our name and was
  written by us has a line, whatever moment a kill came;
- `{"event": "done", "key": K, "input": PATH, "files": {NAME: H, ...}}` -- after all of an input's files.

K is the sha256 of what shapes the outputs: the input's absolute path, size and mtime, its output base name,
the options (every crop option, --format, --quality, --no-upscale, --debug ...; a --query-image or --subject
mask file by size and mtime too) and intentcrop's version. On a re-run, an input whose `done` entry has the
same K and whose files all exist with the recorded hashes is skipped ("skipped: already done"); otherwise its
outputs are written again, and an existing file with one of its names is replaced only when its content has the
sha256 recorded for that name under the same K (a file we wrote); any other existing file is refused as always
(use --overwrite). NAME is relative to the output folder. A line cut short by a kill is ignored.

With --overwrite nothing is skipped (every input is redone, its files replaced). Without --out DIR, a batch of
overlays into --debug DIR keeps its manifest there. --out FILE and --out - keep none (one image, written
atomically all the same). Leftover `.NAME.partial` files of older versions are not removed.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

from intentcrop.errors import IntentCropError
from intentcrop.io.atomic import fsync_dir, sha256_file

MANIFEST_NAME = ".intentcrop-manifest.jsonl"
# Arguments that do not change what is written (or are the batch itself).
_NOT_SHAPING = {"images", "out", "json", "overwrite", "run", "command", "func", "verbose", "quiet"}


def _file_stamp(value: Any) -> Any:
    """A file argument as (absolute path, size, mtime) so that a changed file changes the key."""
    if isinstance(value, str) and value and os.path.isfile(value):
        st = os.stat(value)
        return [os.path.abspath(value), st.st_size, st.st_mtime_ns]
    return value


def input_key(path: Path, stem: str, args: Any) -> "str | None":
    """The manifest key of one input under these arguments; None when the input cannot be stat'ed (the crop
    then reports the problem as usual)."""
    import intentcrop

    try:
        st = os.stat(path)
    except OSError:
        return None
    options = {k: v for k, v in sorted(vars(args).items()) if k not in _NOT_SHAPING}
    for name in ("query_image", "subject"):
        if name in options:
            options[name] = _file_stamp(options[name])
    shape = {"input": os.path.abspath(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "stem": stem,
             "options": options, "version": intentcrop.__version__}
    return hashlib.sha256(json.dumps(shape, sort_keys=True, default=str).encode()).hexdigest()


class Manifest:
    """The manifest of one output folder (see the module docstring)."""

    def __init__(self, folder: "str | os.PathLike", name: str = MANIFEST_NAME) -> None:
        self.folder = Path(folder)
        self.path = self.folder / name  # `intentcrop batch` keeps its results in manifest.jsonl
        self._written: dict[tuple[str, str], set[str]] = {}
        self._done: dict[str, dict[str, str]] = {}
        self._newline_first = False
        self._load()

    def _load(self) -> None:
        if not os.path.lexists(self.path):
            return
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError as exc:
            raise IntentCropError(f"{self.path}: cannot read the batch manifest ({exc.strerror or exc}); "
                                  "it must be a regular file") from None
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise IntentCropError(f"{self.path}: the batch manifest is not a regular file")
            data = f.read()
        self._newline_first = bool(data) and not data.endswith(b"\n")
        for line in data.splitlines():
            try:
                record = json.loads(line)
                event, key = record["event"], record["key"]
                if event == "file":
                    self._written.setdefault((key, record["file"]), set()).add(record["sha256"])
                elif event == "done":
                    self._done[key] = {str(k): str(v) for k, v in record["files"].items()}
            except (ValueError, KeyError, TypeError, AttributeError):
                continue  # a line cut short by a kill, or not ours

    def name(self, file: Path) -> str:
        return os.path.relpath(os.path.abspath(file), os.path.abspath(self.folder))

    def finished(self, key: "str | None") -> "dict[str, str] | None":
        """The files of a done input whose outputs are all still there, unchanged; else None."""
        files = self._done.get(key) if key else None
        if files is None:
            return None
        for name, sha in files.items():
            if sha256_file(self.folder / name) != sha:
                return None
        return files

    def ours(self, key: "str | None", file: Path) -> bool:
        """Whether `file` holds content this batch (under this key) recorded writing to that name."""
        shas = self._written.get((key, self.name(file))) if key else None
        return bool(shas) and sha256_file(file) in shas

    def record_file(self, key: str, input_path: Path, file: Path, sha: str) -> None:
        self._append({"event": "file", "key": key, "input": str(input_path), "file": self.name(file),
                      "sha256": sha})
        self._written.setdefault((key, self.name(file)), set()).add(sha)

    def record_done(self, key: str, input_path: Path, files: "dict[Path, str]",
                    extra: "dict[str, Any] | None" = None) -> None:
        """extra: more fields for the line (`intentcrop batch` puts the crops' geometry, scores and reasons)."""
        names = {self.name(f): sha for f, sha in files.items()}
        self._append({**(extra or {}), "event": "done", "key": key, "input": str(input_path), "files": names})
        self._done[key] = names

    def record_failed(self, key: "str | None", input_path: Path, error: str) -> None:
        """A failed input (retried by the next run: only `done` lines are skipped)."""
        self._append({"event": "failed", "key": key, "input": str(input_path), "error": error})

    def _append(self, record: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        created = not os.path.lexists(self.path)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(self.path, flags, 0o666)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise IntentCropError(f"{self.path}: the batch manifest is not a regular file")
            line = ("\n" if self._newline_first else "") + json.dumps(record, sort_keys=True) + "\n"
            os.write(fd, line.encode())
            os.fsync(fd)
            self._newline_first = False
        finally:
            os.close(fd)
        if created:
            fsync_dir(self.folder)
