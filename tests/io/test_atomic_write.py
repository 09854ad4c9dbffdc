"""Atomic output files: a failed write leaves nothing, no predictable temp name exists to plant or follow, an
existing file (or symlink) is never replaced without overwrite, and only our own leftovers are cleaned."""

import os
import stat

import pytest
from PIL import Image

from intentcrop.io import atomic
from intentcrop.io.atomic import clean_temp_files, sha256_file, write_atomic, write_bytes_atomic
from intentcrop.io.image import save_image


def test_encoder_failing_midway_leaves_no_file(tmp_path, monkeypatch):
    def broken_save(self, fp, format=None, **params):
        fp.write(b"\xff\xd8\xff half a JPEG")
        raise OSError("disk on fire")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError, match="disk on fire"):
        save_image(Image.new("RGB", (8, 8)), tmp_path / "out.jpg")
    assert list(tmp_path.iterdir()) == []  # neither the target nor a temp file


def test_failing_fsync_leaves_no_file(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: (_ for _ in ()).throw(OSError("EIO")))
    with pytest.raises(OSError, match="EIO"):
        write_bytes_atomic(tmp_path / "a.bin", b"data")
    assert list(tmp_path.iterdir()) == []


def test_planted_symlinks_are_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    out = tmp_path / "out"
    out.mkdir()
    # The old predictable temp name, and names of our temp pattern: none is used or followed.
    (out / ".photo.jpg.partial").symlink_to(victim)
    for name in ("aaaaaaaa", "00000000", "________"):
        (out / f".intentcrop-{name}.tmp").symlink_to(victim)
    save_image(Image.new("RGB", (8, 8)), out / "photo.jpg")
    assert victim.read_text() == "keep me" and Image.open(out / "photo.jpg").size == (8, 8)
    # A symlink at the target itself: refused without overwrite, replaced (not followed) with it.
    (out / "link.jpg").symlink_to(victim)
    with pytest.raises(FileExistsError):
        save_image(Image.new("RGB", (8, 8)), out / "link.jpg")
    save_image(Image.new("RGB", (8, 8)), out / "link.jpg", overwrite=True)
    assert victim.read_text() == "keep me" and not (out / "link.jpg").is_symlink()
    (out / "dangling.jpg").symlink_to(tmp_path / "nowhere.jpg")
    with pytest.raises(FileExistsError):
        write_bytes_atomic(out / "dangling.jpg", b"x")
    assert not (tmp_path / "nowhere.jpg").exists()


def test_existing_file_is_not_replaced_even_when_it_appears_late(tmp_path):
    target = tmp_path / "a.bin"

    def racer(sha):  # someone creates the file between our check and our link
        target.write_bytes(b"theirs")

    with pytest.raises(FileExistsError):
        write_atomic(target, lambda f: f.write(b"ours"), before_commit=racer)
    assert target.read_bytes() == b"theirs" and [p.name for p in tmp_path.iterdir()] == ["a.bin"]
    assert write_bytes_atomic(target, b"ours", overwrite=True) == sha256_file(target)
    assert target.read_bytes() == b"ours"


def test_written_file_has_the_ordinary_mode(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    write_bytes_atomic(tmp_path / "a.bin", b"x")
    assert stat.S_IMODE((tmp_path / "a.bin").stat().st_mode) == 0o666 & ~umask


def test_clean_temp_files_removes_only_ours(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (tmp_path / ".intentcrop-abcd1234.tmp").write_bytes(b"left by a kill")
    (tmp_path / ".intentcrop-zzzz9999.tmp").symlink_to(victim)
    (tmp_path / ".intentcrop-manifest.jsonl").write_text("{}\n")
    (tmp_path / "intentcrop-abcd1234.tmp").write_text("no dot: not our name")
    (tmp_path / ".intentcrop-dir0000.tmp").mkdir()
    removed = clean_temp_files(tmp_path)
    assert [p.name for p in removed] == [".intentcrop-abcd1234.tmp"]
    assert victim.read_text() == "keep me" and len(list(tmp_path.iterdir())) == 5
