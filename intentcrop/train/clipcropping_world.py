"""CLIPCropping's training data: the world's composed scenes, or cadb / aadb / gaicd folders.

World seeds (apart from the CLIP's, the exports' (700_000_000+) and the benchmark's):
* labels: composed scenes LABEL_SEED + i (training) and LABEL_SEED + VAL_OFFSET + i (validation), the composition
  forced to cycle through the five CKE classes (the world's sixth, symmetric, is not one of the paper's five);
* crops: the free-form world annotation (intentcrop.world.annotate: ~90 GAIC-style candidates with MOS) of composed
  scenes CROP_SEED + i and ordinary scenes (generate_scene) CROP_SEED + i, alternating; validation likewise from
  CROP_SEED + VAL_OFFSET; `held_out_cases` (the measurement's) from CROP_SEED + TEST_OFFSET.
A folder's rows with split "val", "validation" or "test" validate; without any, its last tenth does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from intentcrop.train.clipcropping import CropCase, LabelSample

LABEL_SEED = 810_000_000
CROP_SEED = 820_000_000
VAL_OFFSET, TEST_OFFSET = 50_000, 90_000
WORLD = "world"
_VAL_SPLITS = ("val", "validation", "test")
WORLD_CLASSES = ("center", "thirds", "horizontal", "vertical", "curved")  # the world's names of the five


def world_attribute_targets(attributes: dict[str, float]) -> np.ndarray:
    """The five AKE targets in 0..1 from AADB-like attributes (world names in 0..1, or AADB's in [-1, 1] when
    `aadb` maps them first): ATTRIBUTE_SOURCES' first name found, '-name' inverted."""
    from intentcrop.models.clipcropping import AESTHETIC_ELEMENTS, ATTRIBUTE_SOURCES

    out = np.full(len(AESTHETIC_ELEMENTS), np.nan)
    for i, element in enumerate(AESTHETIC_ELEMENTS):
        for source in ATTRIBUTE_SOURCES[element.name]:
            name, invert = source.lstrip("-"), source.startswith("-")
            if name in attributes and attributes[name] is not None:
                value = float(attributes[name])
                out[i] = 1.0 - value if invert else value
                break
    return out


def _world_labels(n: int, first: int) -> list[LabelSample]:
    from intentcrop.models.clipcropping import COMPOSITION_ELEMENTS, COMPOSITION_LABELS
    from intentcrop.world.composition import compose_scene

    names = [e.name for e in COMPOSITION_ELEMENTS]
    out = []
    for i in range(n):
        scene = compose_scene(first + i, composition=WORLD_CLASSES[i % len(WORLD_CLASSES)])
        out.append(LabelSample(scene.image, names.index(COMPOSITION_LABELS[scene.labels["composition"]]),
                               world_attribute_targets(scene.labels["attributes"])))
    return out


def _split(rows: list, is_val: list[bool]) -> tuple[list, list]:
    if not any(is_val):
        cut = max(1, len(rows) // 10)
        return rows[:-cut], rows[-cut:]
    return [r for r, v in zip(rows, is_val) if not v], [r for r, v in zip(rows, is_val) if v]


def _open(path: Path):
    from PIL import Image

    with Image.open(path) as im:
        return im.convert("RGB")


def _cadb(folder: str) -> tuple[list[LabelSample], list[LabelSample]]:
    from intentcrop.datasets.composition import load_cadb
    from intentcrop.models.clipcropping import COMPOSITION_ELEMENTS, COMPOSITION_LABELS

    names = [e.name for e in COMPOSITION_ELEMENTS]
    rows, val = [], []
    for s in load_cadb(folder):
        if s.main_class not in COMPOSITION_LABELS:  # CADB's other classes (diagonal, pattern, ...) are not CKE's
            continue
        rows.append(LabelSample(_open(s.image_path), names.index(COMPOSITION_LABELS[s.main_class])))
        val.append(s.split in _VAL_SPLITS)
    return _split(rows, val)


def _aadb(folder: str) -> tuple[list[LabelSample], list[LabelSample]]:
    from intentcrop.datasets.composition import load_aadb

    rows, val = [], []
    for s in load_aadb(folder):
        attrs = {k: (float(v) + 1.0) / 2.0 for k, v in s.attributes.items()}  # AADB's [-1, 1] -> 0..1
        rows.append(LabelSample(_open(s.image_path), None, world_attribute_targets(attrs)))
        val.append(s.split in _VAL_SPLITS)
    return _split(rows, val)


def label_samples(composition: str, aesthetics: str, n_scenes: int, seed: int = 0
                  ) -> tuple[list[LabelSample], list[LabelSample]]:
    """(training, validation) labelled images. Both "world": composed scenes carry both labels; otherwise each
    source's images carry their own kind (the other's loss skips them)."""
    base = LABEL_SEED + seed * 1_000_000
    n_val = max(n_scenes // 5, 5)
    train: list[LabelSample] = []
    val: list[LabelSample] = []
    if composition == WORLD and aesthetics == WORLD:
        return _world_labels(n_scenes, base), _world_labels(n_val, base + VAL_OFFSET)
    for source, kind in ((composition, "composition"), (aesthetics, "aesthetics")):
        if source == WORLD:
            t, v = _world_labels(n_scenes, base), _world_labels(n_val, base + VAL_OFFSET)
            for s in t + v:  # only this kind's label from the world
                if kind == "composition":
                    s.aesthetics = None
                else:
                    s.composition = None
        else:
            t, v = _cadb(source) if kind == "composition" else _aadb(source)
        train += t
        val += v
    return train, val


def _world_case(index: int, seed: int) -> CropCase:
    from intentcrop.world.annotate import annotate_case
    from intentcrop.world.composition import compose_scene
    from intentcrop.world.scenes import generate_scene

    scene = compose_scene(seed) if index % 2 == 0 else generate_scene(seed)
    ann = annotate_case(scene=scene)
    return CropCase(scene.image, ann.crops_xyxy.astype(np.float64), ann.mos.astype(np.float64), ann.annotator_boxes)


def world_cases(n: int, first: int) -> list[CropCase]:
    return [_world_case(i, first + i) for i in range(n)]


def held_out_cases(n: int, seed: int = 0) -> list[CropCase]:
    """The measurement's cases: never trained or validated on."""
    return world_cases(n, CROP_SEED + seed * 1_000_000 + TEST_OFFSET)


def crop_cases(crops: str, n_scenes: int, seed: int = 0) -> tuple[list[CropCase], list[CropCase]]:
    """(training, validation) scored-crop cases: the world (module docstring) or a gaicd folder."""
    if crops == WORLD:
        base = CROP_SEED + seed * 1_000_000
        return world_cases(n_scenes, base), world_cases(max(n_scenes // 5, 2), base + VAL_OFFSET)
    from intentcrop.datasets.gaicd import load_gaicd

    rows, val = [], []
    for s in load_gaicd(crops):
        rows.append(CropCase(_open(s.image_path), np.asarray(s.crops_xyxy, float), np.asarray(s.mos, float),
                             s.annotator_boxes))
        val.append(s.split in _VAL_SPLITS)
    return _split(rows, val)


__all__ = ["CROP_SEED", "LABEL_SEED", "crop_cases", "held_out_cases", "label_samples", "world_attribute_targets",
           "world_cases"]
