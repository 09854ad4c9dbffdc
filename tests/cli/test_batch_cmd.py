"""`intentcrop batch`: a folder or manifest into a folder, the results manifest, resume, the summary, -j N."""

import json
import shutil
from pathlib import Path

import pytest

from intentcrop.batch import MANIFEST, list_inputs, run_batch
from intentcrop.cli.main import main

OPTIONS = ["--ratio", "16:9", "-k", "1"]


@pytest.fixture
def folder(tmp_path, sample_image_path):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    shutil.copy(sample_image_path, src / "a.jpg")
    shutil.copy(sample_image_path, src / "sub" / "b.jpg")
    (src / "notes.jpg").write_text("not a picture")
    (src / "readme.txt").write_text("ignored: not an image name")
    return src


def _lines(out):
    return [json.loads(line) for line in (out / MANIFEST).read_text().splitlines()]


def test_folder_batch_writes_crops_manifest_and_summary(folder, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["batch", str(folder), "--out", str(out), *OPTIONS, "--summary-json"]) == 1  # one failed
    captured = capsys.readouterr()
    assert "done 2, failed 1, skipped 0" in captured.err and "notes.jpg: not an image" in captured.err
    assert "img" in captured.err  # the progress bar (tqdm: img/s or s/img, with the time left)
    summary = json.loads(captured.out)
    assert (summary["done"], summary["failed"], summary["skipped"]) == (2, 1, 0)
    done = [line for line in _lines(out) if line["event"] == "done"]
    assert sorted(Path(d["input"]).name for d in done) == ["a.jpg", "b.jpg"]
    for line in done:
        crop = line["crops"][0]
        assert crop["ratio"] == "16:9" and crop["explanation"] and "focal_point" in crop
        assert (out / crop["file"]).is_file() and list(line["files"]) == [crop["file"]]
    failed = [line for line in _lines(out) if line["event"] == "failed"]
    assert len(failed) == 1 and "not an image" in failed[0]["error"]


def test_resume_skips_finished_images_and_redoes_nothing(folder, tmp_path):
    out = tmp_path / "out"
    (folder / "notes.jpg").unlink()
    first = run_batch(folder, out, {"ratio": ["16:9"], "k": 1})
    assert (first.done, first.skipped) == (2, 0)
    # A kill while the second image's done line was being written: cut mid-line (its file is written, and its
    # "file" line says so; it is ours to replace).
    lines = (out / MANIFEST).read_text().splitlines(keepends=True)
    assert [json.loads(line)["event"] for line in lines] == ["file", "done", "file", "done"]
    first_done = 1
    (out / MANIFEST).write_text("".join(lines[:-1]) + lines[-1][:40])
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.jpg")}
    second = run_batch(folder, out, {"ratio": ["16:9"], "k": 1})
    assert (second.done, second.skipped, second.failed) == (1, 1, [])
    done = [line for line in _lines_tolerant(out) if line["event"] == "done"]
    assert len({d["key"] for d in done}) == len(done) == 2  # each image done once
    skipped_file = next(iter(json.loads(lines[first_done])["files"]))
    assert (out / skipped_file).stat().st_mtime_ns == before[skipped_file]  # not rewritten
    third = run_batch(folder, out, {"ratio": ["16:9"], "k": 1})
    assert (third.done, third.skipped) == (0, 2)
    changed = run_batch(folder, out, {"ratio": ["16:9"], "k": 1, "quality": 80})  # other options: new keys
    assert changed.done == 0 and changed.skipped == 0 and "--overwrite" in changed.failed[0][1]
    replaced = run_batch(folder, out, {"ratio": ["16:9"], "k": 1, "quality": 80}, overwrite=True)
    assert replaced.done == 2 and replaced.skipped == 0


def _lines_tolerant(out):
    rows = []
    for line in (out / MANIFEST).read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            pass
    return rows


def test_a_file_it_did_not_write_is_never_replaced(folder, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a_16x9_crop1.jpg").write_bytes(b"someone else's")
    summary = run_batch([folder / "a.jpg"], out, {"ratio": ["16:9"], "k": 1})
    assert summary.done == 0 and "already exists" in summary.failed[0][1]
    assert (out / "a_16x9_crop1.jpg").read_bytes() == b"someone else's"


def test_manifest_inputs(tmp_path, folder):
    listing = tmp_path / "list.jsonl"
    listing.write_text('{"filename": "a.jpg", "width": 512}\n\n{"path": "sub/b.jpg"}\n')
    assert list_inputs(listing, root=folder) == [folder / "a.jpg", folder / "sub" / "b.jpg"]
    text = tmp_path / "list.txt"
    text.write_text(f"# two images\n{folder / 'a.jpg'}\nin/sub/b.jpg\n")
    assert list_inputs(text) == [folder / "a.jpg", tmp_path / "in" / "sub" / "b.jpg"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"name": "a.jpg"}\n')
    with pytest.raises(Exception, match="bad.jsonl:1"):
        list_inputs(bad)


@pytest.mark.parametrize("argv, message", [
    (["--ratio", "wide"], "unknown aspect ratio"),
    (["-j", "0"], "-j and --limit"),
    (["--option", "nope=1"], "nope"),
])
def test_bad_options_fail_before_any_work(folder, tmp_path, capsys, argv, message):
    assert main(["batch", str(folder), "--out", str(tmp_path / "out"), "--no-progress", *argv]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out" / MANIFEST).exists()


def test_missing_source(tmp_path, capsys):
    assert main(["batch", str(tmp_path / "nope"), "--out", str(tmp_path / "out")]) == 2
    assert "no such folder or manifest" in capsys.readouterr().err


def test_worker_processes_give_the_same_results(folder, tmp_path):
    (folder / "notes.jpg").unlink()
    one = run_batch(folder, tmp_path / "one", {"ratio": ["16:9"], "k": 1})
    two = run_batch(folder, tmp_path / "two", {"ratio": ["16:9"], "k": 1}, workers=2)
    assert one.done == two.done == 2
    boxes = lambda out: sorted((Path(d["input"]).name, json.dumps(d["crops"][0]["box"]))  # noqa: E731
                               for d in _lines(out) if d["event"] == "done")
    assert boxes(tmp_path / "one") == boxes(tmp_path / "two")
    # Resumed by the other mode: the key does not depend on -j.
    assert run_batch(folder, tmp_path / "two", {"ratio": ["16:9"], "k": 1}).skipped == 2
