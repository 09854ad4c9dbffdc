"""Batches that survive kills: the manifest of `intentcrop crop --out DIR` makes a re-run skip finished images,
complete half-done ones without --overwrite, exit 0 when everything is done, and never touch a file it did not
write; a real process killed with SIGKILL midway resumes to exactly a clean run's files."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from intentcrop.cli.batch import MANIFEST_NAME
from intentcrop.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
ARGS = ["--ratio", "16:9", "--ratio", "1:1", "-k", "1"]


def _images(folder: Path, n: int, size=(320, 240)) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        rng = np.random.default_rng(i)
        image = Image.fromarray((rng.random((size[1], size[0], 3)) * 60 + 80).astype(np.uint8))
        x, y = int(rng.integers(10, size[0] - 90)), int(rng.integers(10, size[1] - 90))
        ImageDraw.Draw(image).ellipse([x, y, x + 80, y + 80], fill=(200, 40, 40))
        path = folder / f"img{i:02d}.jpg"
        image.save(path, quality=90)
        paths.append(path)
    return paths


def _outputs(folder: Path) -> dict[str, bytes]:
    return {f.name: f.read_bytes() for f in sorted(folder.iterdir()) if not f.name.startswith(".")}


def _stamps(folder: Path) -> dict[str, tuple[int, int]]:
    return {f.name: (f.stat().st_ino, f.stat().st_mtime_ns) for f in folder.iterdir() if not f.name.startswith(".")}


def _manifest(folder: Path) -> list[dict]:
    records = []
    for line in (folder / MANIFEST_NAME).read_text().splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:  # a line cut short by the kill
            pass
    return records


def test_rerun_skips_done_images_and_exits_0(tmp_path, capsys):
    images = _images(tmp_path / "in", 3)
    out = tmp_path / "out"
    assert main(["crop", *map(str, images), *ARGS, "--out", str(out)]) == 0
    stamps = _stamps(out)
    assert len(stamps) == 6
    capsys.readouterr()
    assert main(["crop", *map(str, images), *ARGS, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert err.count("skipped: already done") == 3 and "error" not in err
    assert _stamps(out) == stamps  # nothing rewritten
    assert main(["crop", *map(str, images), *ARGS, "--out", str(out), "--overwrite"]) == 0  # redone
    assert "skipped" not in capsys.readouterr().err
    assert all(_stamps(out)[name] != stamps[name] for name in stamps)


def test_debug_folder_batch_is_resumable_too(tmp_path, capsys):
    images = _images(tmp_path / "in", 2)
    debug = tmp_path / "why"
    assert main(["crop", *map(str, images), "-k", "1", "--debug", str(debug)]) == 0
    assert sorted(_outputs(debug)) == ["img00_debug.png", "img01_debug.png"]
    capsys.readouterr()
    assert main(["crop", *map(str, images), "-k", "1", "--debug", str(debug)]) == 0
    assert capsys.readouterr().err.count("skipped: already done") == 2


def test_half_done_image_is_completed_without_overwrite(tmp_path, capsys):
    images = _images(tmp_path / "in", 2)
    clean = tmp_path / "clean"
    assert main(["crop", *map(str, images), *ARGS, "--out", str(clean)]) == 0
    out = tmp_path / "out"
    assert main(["crop", *map(str, images), *ARGS, "--out", str(out)]) == 0
    # As if killed after img01's first crop: its "done" line and its second file are gone.
    lines = (out / MANIFEST_NAME).read_text().splitlines(keepends=True)
    done_b = [i for i, line in enumerate(lines) if '"done"' in line and "img01" in line]
    (out / MANIFEST_NAME).write_text("".join(line for i, line in enumerate(lines) if i not in done_b)
                                     + '{"event": "fi')  # and a line cut short by the kill
    (out / "img01_1x1_crop1.jpg").unlink()
    kept = _stamps(out)
    capsys.readouterr()
    assert main(["crop", *map(str, images), *ARGS, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "img00.jpg: skipped: already done" in err and "img01.jpg: skipped" not in err and "error" not in err
    assert _outputs(out) == _outputs(clean)
    now = _stamps(out)
    assert now["img00_16x9_crop1.jpg"] == kept["img00_16x9_crop1.jpg"]
    assert now["img01_16x9_crop1.jpg"] == kept["img01_16x9_crop1.jpg"]  # ours, complete, same bytes: kept
    lines = (out / MANIFEST_NAME).read_text().splitlines()
    assert '{"event": "fi' in lines  # the cut line stays on its own line: the records after it are whole
    assert all(isinstance(json.loads(line), dict) for line in lines if line != '{"event": "fi')
    assert main(["crop", *map(str, images), *ARGS, "--out", str(out)]) == 0  # the cut line did not spoil it
    assert capsys.readouterr().err.count("skipped: already done") == 2


def test_file_it_did_not_write_is_never_touched(tmp_path, capsys):
    images = _images(tmp_path / "in", 2)
    out = tmp_path / "out"
    out.mkdir()
    unrelated = out / "img01_1x1_crop1.jpg"
    unrelated.write_bytes(b"someone else's file")
    assert main(["crop", *map(str, images), *ARGS, "--out", str(out)]) == 1
    assert "img01_1x1_crop1.jpg already exists" in capsys.readouterr().err
    # A half-done img01 (a file it wrote, the other name taken by someone else): still refused, untouched.
    (out / "img01_16x9_crop1.jpg").unlink(missing_ok=True)
    assert main(["crop", *map(str, images), *ARGS, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "img00.jpg: skipped: already done" in err and "img01_1x1_crop1.jpg already exists" in err
    assert unrelated.read_bytes() == b"someone else's file"
    # Our own file whose content someone changed is not ours any more: refused too.
    assert main(["crop", *map(str, images), *ARGS, "--out", str(out), "--overwrite"]) == 0
    mine = out / "img01_16x9_crop1.jpg"
    mine.write_bytes(b"edited by hand")
    (out / "img01_1x1_crop1.jpg").unlink()
    capsys.readouterr()
    assert main(["crop", *map(str, images), *ARGS, "--out", str(out)]) == 1
    assert "img01_16x9_crop1.jpg already exists" in capsys.readouterr().err
    assert mine.read_bytes() == b"edited by hand"


def test_changed_input_or_options_are_not_skipped(tmp_path, capsys):
    images = _images(tmp_path / "in", 1)
    out = tmp_path / "out"
    assert main(["crop", str(images[0]), *ARGS, "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["crop", str(images[0]), *ARGS, "--quality", "40", "--out", str(out)]) == 1
    assert "already exists" in capsys.readouterr().err
    os.utime(images[0], ns=(1, 1))  # the input changed (its mtime)
    assert main(["crop", str(images[0]), *ARGS, "--out", str(out)]) == 1
    assert "already exists" in capsys.readouterr().err


def test_planted_manifest_symlink_is_refused_not_followed(tmp_path, capsys):
    images = _images(tmp_path / "in", 1)
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (out / MANIFEST_NAME).symlink_to(victim)
    assert main(["crop", str(images[0]), *ARGS, "--out", str(out)]) == 2
    assert "manifest" in capsys.readouterr().err
    assert victim.read_text() == "keep me" and _outputs(out) == {}


def test_leftover_temp_files_are_cleaned_only_when_ours(tmp_path):
    images = _images(tmp_path / "in", 1)
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (out / ".intentcrop-abc12345.tmp").write_bytes(b"half a jpeg")  # a killed run's
    (out / ".intentcrop-link0000.tmp").symlink_to(victim)  # not a regular file: left alone
    (out / ".intentcrop-notes.txt").write_text("not a temp name")
    assert main(["crop", str(images[0]), *ARGS, "--out", str(out)]) == 0
    names = {f.name for f in out.iterdir()}
    assert ".intentcrop-abc12345.tmp" not in names
    assert {".intentcrop-link0000.tmp", ".intentcrop-notes.txt"} <= names and victim.read_text() == "keep me"


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_kill_and_resume_with_a_real_process(tmp_path):
    images = _images(tmp_path / "in", 12, size=(640, 480))
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}

    def command(out: Path, *extra: Path) -> list[str]:
        return [sys.executable, "-m", "intentcrop.cli.main", "crop", *map(str, images), *map(str, extra), *ARGS,
                "--out", str(out)]

    clean = tmp_path / "clean"
    subprocess.run(command(clean), env=env, check=True, capture_output=True, timeout=300)
    expected = _outputs(clean)
    assert len(expected) == 24

    out = tmp_path / "out"
    proc = subprocess.Popen(command(out), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        # Killed once some images are done and the next one is under way (an odd count: half a set).
        if out.is_dir() and sum(not f.name.startswith(".") for f in out.iterdir()) >= 5:
            break
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the batch finished before it could be killed"
    done_before = {Path(r["input"]).name for r in _manifest(out) if r.get("event") == "done"}
    stamps = _stamps(out)
    assert 1 <= len(done_before) < 12

    resumed = subprocess.run(command(out), env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert "error" not in resumed.stderr
    skipped = {line.split(": ")[1] for line in resumed.stderr.splitlines() if "skipped: already done" in line}
    assert {Path(s).name for s in skipped} == done_before  # finished images not redone ...
    for name in (f"{Path(i).stem}_{r}_crop1.jpg" for i in done_before for r in ("16x9", "1x1")):
        assert _stamps(out)[name] == stamps[name]  # ... their files untouched (same inode, same mtime)
    assert _outputs(out) == expected  # every image's outputs, byte-identical to a clean run's
    assert not [f for f in out.iterdir() if f.name.endswith((".tmp", ".partial"))]

    again = subprocess.run(command(out), env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and again.stderr.count("skipped: already done") == 12

    # A file it did not write, with an output's name, is still refused (and the rest still skipped).
    extra = _images(tmp_path / "extra", 1)[0].rename(tmp_path / "extra" / "other.jpg")
    (out / "other_1x1_crop1.jpg").write_bytes(b"not ours")
    last = subprocess.run(command(out, extra), env=env, capture_output=True, text=True, timeout=300)
    assert last.returncode == 1 and last.stderr.count("skipped: already done") == 12
    assert "other_1x1_crop1.jpg already exists" in last.stderr
    assert (out / "other_1x1_crop1.jpg").read_bytes() == b"not ours"
    print(f"killed after {len(done_before)} of 12 images done, {len(stamps)} files present; resumed: "
          f"{len(skipped)} skipped, {12 - len(skipped)} completed")
