"""Batches: a folder or manifest of images cropped into a folder, in worker processes or on Ray
(`intentcrop batch`; the Ray Data building block is `crop_dataset`)."""

from intentcrop.batch.runner import MANIFEST, Summary, list_inputs, run_batch
from intentcrop.batch.work import JOB_DEFAULTS, CropJob


def __getattr__(name):  # the Ray parts import ray only when used
    if name in ("CropActor", "crop_dataset", "result_of", "run_on_ray"):
        from intentcrop.batch import ray_data

        return getattr(ray_data, name)
    raise AttributeError(name)


__all__ = ["CropJob", "JOB_DEFAULTS", "MANIFEST", "Summary", "list_inputs", "run_batch", "CropActor",
           "crop_dataset", "result_of"]
