"""The batch on a local Ray instance (Ray Data map_batches with CropActor): the same manifest as a local batch,
resumable across the two."""

import json
import shutil
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'intentcrop[ray]')")
pytest.importorskip("ray.data", reason="Ray Data is not installed (pip install 'intentcrop[ray]')")

from intentcrop.batch import MANIFEST, run_batch  # noqa: E402


def test_ray_batch_matches_the_local_one_and_resumes(tmp_path, sample_image_path):
    src = tmp_path / "in"
    src.mkdir()
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        shutil.copy(sample_image_path, src / name)
    (src / "bad.png").write_text("no")
    local_out, ray_out = tmp_path / "local", tmp_path / "ray"
    options = {"ratio": ["1:1"], "k": 1}
    local = run_batch([src / "a.jpg", src / "bad.png"], local_out, options)
    on_ray = run_batch(src, ray_out, options, ray=True, ray_concurrency=1, ray_batch_size=2)
    assert on_ray.done == 3 and [Path(i).name for i, _ in on_ray.failed] == ["bad.png"]
    assert "not an image" in on_ray.failed[0][1]
    rows = [json.loads(line) for line in (ray_out / MANIFEST).read_text().splitlines()]
    done = {Path(r["input"]).name: r for r in rows if r["event"] == "done"}
    local_rows = [json.loads(line) for line in (local_out / MANIFEST).read_text().splitlines()]
    local_a = next(r for r in local_rows if r["event"] == "done")
    assert done["a.jpg"]["crops"][0]["box"] == local_a["crops"][0]["box"]
    assert done["a.jpg"]["files"] == local_a["files"]  # same bytes
    again = run_batch(src, ray_out, options)  # resumed locally: the finished ones are skipped
    assert (again.done, again.skipped, len(again.failed)) == (0, 3, 1)
