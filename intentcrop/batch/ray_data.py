"""Batches on Ray (the `ray` extra: pip install 'intentcrop[ray]').

The Ray Data building block is `crop_dataset`: a dataset of rows {"path", "stem"} -> map_batches with
`CropActor`, a callable class that builds the crop pipeline (and loads its models) once per actor, with
`concurrency` actors of `num_cpus` / `num_gpus` each. Each output row holds "path", "stem" and "payload" (the
pickled result: the encoded crops and their geometry, or the error), so a cluster needs the inputs readable on
its workers but no shared output folder: the driver writes the files and the manifest.

    import ray, intentcrop.batch as batch
    ray.init()  # or ray.init("ray://head:10001")
    ds = ray.data.from_items([{"path": p, "stem": Path(p).stem} for p in paths])
    for row in batch.crop_dataset(ds, {"ratio": ["16:9"], "k": 1}, concurrency=4, num_gpus=0).iter_rows():
        result = batch.result_of(row)  # {"outputs": [(name, bytes)], "record": {...}} or {"error": ...}

`intentcrop batch DIR --out OUT --ray [ADDRESS]` and `run_batch(..., ray=True)` do this with the manifest,
resume and progress bar of a local batch (`run_on_ray`).
"""

from __future__ import annotations

import pickle
from typing import Any

from intentcrop.errors import IntentCropError


def _ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise IntentCropError("--ray needs Ray Data: pip install 'intentcrop[ray]'") from None
    return ray


class CropActor:
    """A Ray Data callable class: `__init__` builds the job once per actor (its models loaded on its first
    image, then kept); `__call__` crops a batch of rows."""

    def __init__(self, options: dict[str, Any], threads: int = 1) -> None:
        from intentcrop.batch.work import CropJob, init_worker

        init_worker(options, threads)  # the thread limits; and a job checked on the actor as on the driver
        self.job = CropJob(options)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list]:
        paths, stems = list(batch["path"]), list(batch["stem"])
        payloads = [pickle.dumps(self.job(str(p), str(s))) for p, s in zip(paths, stems)]
        return {"path": [str(p) for p in paths], "stem": [str(s) for s in stems], "payload": payloads}


def crop_dataset(dataset: Any, options: dict[str, Any], *, concurrency: int = 1, num_cpus: float = 1.0,
                 num_gpus: float = 0.0, batch_size: int = 4, threads: int = 1) -> Any:
    """`dataset` (rows {"path", "stem"}) mapped through `CropActor` (see the module docstring)."""
    from intentcrop.batch.work import job_options

    return dataset.map_batches(CropActor, fn_constructor_kwargs={"options": job_options(options), "threads": threads},
                               batch_size=batch_size, concurrency=concurrency, num_cpus=num_cpus, num_gpus=num_gpus,
                               batch_format="default")


def result_of(row: dict[str, Any]) -> dict[str, Any]:
    """The result a `crop_dataset` row carries."""
    return pickle.loads(row["payload"])


def run_on_ray(todo, options: dict[str, Any], writer: Any, *, address: str | None = None, concurrency: int = 1,
               num_gpus: float = 0.0, batch_size: int = 4) -> None:
    """The driver of `run_batch(ray=True)`: connect (or start a local instance), crop `todo` on actors, and
    hand each result to the writer as it streams back."""
    import os

    ray = _ray()
    started_here = False
    address = address or os.environ.get("RAY_ADDRESS") or None
    if not ray.is_initialized():
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=max(concurrency, 1), include_dashboard=False, log_to_driver=False,
                     configure_logging=False)
        started_here = True
    try:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # the batch's own bar says images/s and ETA
        by_path = {str(path): (path, key) for _, path, _, key in todo}
        # A block a batch: results stream back batch by batch (larger blocks come back, and are written, in bursts).
        dataset = ray.data.from_items([{"path": str(path), "stem": stem} for _, path, stem, _ in todo],
                                      override_num_blocks=max(1, -(-len(todo) // batch_size)))
        for row in crop_dataset(dataset, options, concurrency=concurrency, num_gpus=num_gpus,
                                batch_size=batch_size).iter_rows():
            path, key = by_path[row["path"]]
            writer.record(path, key, result_of(row))
    finally:
        if started_here:
            ray.shutdown()
