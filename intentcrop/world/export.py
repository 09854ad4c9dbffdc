"""`intentcrop world export`: the world written out in the formats of real datasets, so the same training and
evaluation code runs on both.

  intentcrop world export --format gaicd --out DIR --scenes N --seed S [--overwrite]

`EXPORTERS` maps a format name to its exporter, `exporter(out, scenes, seed, overwrite) -> report dict`; add one
with `@register_exporter("name")`. An exporter plans every file first through `ExportWriter`, which refuses,
before anything is written, a folder holding any of those files unless `overwrite` (files are written atomically:
intentcrop.io.atomic).

Cases (`export_cases`): the benchmark's (`intentcrop.world.bench`: `benchmark_cases(N, S)` plus a quarter as
many relation and position cases), each without a ratio and with the benchmark's ratio for it, plus one free-form
case per scene (no intent: the whole scene's taste).

gaicd format -- the loader `intentcrop.datasets.load_gaicd` reads it, `intentcrop eval gaicd --data DIR` runs on it:

  DIR/images/world-{seed}.png            the scene (one file per scene, shared by its rows)
  DIR/queries/world-{seed}-{i}.png       the intent's query image (a crop of a single target), when it has one
  DIR/masks/world-{seed}-{i}.png         the intent's subject mask (0/255 PNG, the targets' pixels)
  DIR/annotations.jsonl                  one row per case and ratio:
    filename, width, height, crops_xyxy, mos     GAICD's fields (the world annotator's candidates and MOS)
    split                                        "world"
    text                                         the referring text; null for a free-form row
    annotators                                   [{"name", "box": [x1, y1, x2, y2], "mos"}, ...] (4-8)
    intent                                       "referring" or "free-form"
    kind, targets, distractors                   the referral's kind and object indices (scene.objects order)
    ratio                                        the asked ratio ("16:9") or null
    query_image, subject_mask                    paths relative to DIR (referring rows; a query image only for
                                                 a single target)
    scene                                        {"seed", "objects": [{"shape", "colour", "size", "box"}],
                                                 "labels" where the scene has them (Scene.labels)}

cadb / aadb formats -- the loaders `intentcrop.datasets.load_cadb` / `load_aadb` read them (formats in
intentcrop.datasets.composition). Their scenes are N composed scenes (`intentcrop.world.composition`,
seeds `composed_seeds(N, S)`, the six composition classes in turn), one image each at DIR/images/composed-{seed}.png:
  cadb: composition_labels.jsonl rows {filename, width, height, composition: [class], split: "world",
        scene: Scene.to_dict() without pixels}
  aadb: attribute_scores.jsonl rows {filename, width, height, attributes: {name: 2 * label - 1} (the world's
        [0, 1] labels mapped onto AADB's [-1, 1]), score: 1 + 4 * mean(color_harmony, lighting, depth_of_field,
        object_emphasis, 1 - clutter), split: "world", scene}
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PIL import Image

from intentcrop.errors import IntentCropError
from intentcrop.io.atomic import write_bytes_atomic

Exporter = Callable[[Path, int, int, bool], dict[str, Any]]
EXPORTERS: dict[str, Exporter] = {}


def register_exporter(name: str) -> Callable[[Exporter], Exporter]:
    def register(fn: Exporter) -> Exporter:
        if name in EXPORTERS:
            raise ValueError(f"exporter {name!r} is registered twice")
        EXPORTERS[name] = fn
        return fn

    return register


class ExportError(IntentCropError):
    """An export cannot be written (files there already, bad arguments)."""


@dataclass
class ExportWriter:
    """Files of one export, planned first and written together: nothing is written when any planned file is there
    already (unless overwrite), so a user's folder is never half replaced."""

    out: Path
    overwrite: bool = False
    files: dict[str, bytes] = field(default_factory=dict)  # relative path -> content

    def add(self, relative: str, data: bytes) -> str:
        if relative in self.files and self.files[relative] != data:
            raise ExportError(f"two different files planned at {relative}")
        self.files[relative] = data
        return relative

    def add_image(self, relative: str, image: "Image.Image | np.ndarray") -> str:
        pil = Image.fromarray(image) if isinstance(image, np.ndarray) else image
        buffer = io.BytesIO()
        pil.save(buffer, format="PNG")
        return self.add(relative, buffer.getvalue())

    def add_jsonl(self, relative: str, rows: list[dict[str, Any]]) -> str:
        return self.add(relative, "".join(json.dumps(r) + "\n" for r in rows).encode("utf-8"))

    def write(self) -> list[Path]:
        if self.out.exists() and not self.out.is_dir():
            raise ExportError(f"{self.out} is not a folder")
        taken = [r for r in self.files if (self.out / r).exists() or (self.out / r).is_symlink()]
        if taken and not self.overwrite:
            shown = ", ".join(taken[:3]) + (f" and {len(taken) - 3} more" if len(taken) > 3 else "")
            raise ExportError(f"{self.out} already holds {shown}; pass --overwrite to replace them")
        written = []
        for relative, data in self.files.items():
            path = self.out / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(path, data, overwrite=self.overwrite)
            written.append(path)
        return written


def export_cases(n_scenes: int, seed: int) -> list[tuple[int, Any, str | None]]:
    """(case index, case, ratio label or None) of the benchmark's cases, in its order and with its ratios; the
    ratios no crop holding the targets can meet are left out, as the benchmark leaves them out."""
    from intentcrop.core.intent import parse_ratio
    from intentcrop.world.bench import RATIOS, RELATION_SHARE, ratio_can_hold_targets
    from intentcrop.world.referring import benchmark_cases, position_cases, relation_cases

    extra = int(round(n_scenes * RELATION_SHARE))
    cases = benchmark_cases(n_scenes, seed=seed) + relation_cases(extra, seed=seed) + position_cases(extra, seed=seed)
    out = []
    for ci, case in enumerate(cases):
        for ratio in (None, RATIOS[ci % len(RATIOS)]):
            if ratio is None or ratio_can_hold_targets(case, parse_ratio(ratio)):
                out.append((ci, case, ratio))
    return out


def gaicd_rows(n_scenes: int, seed: int, writer: ExportWriter) -> list[dict[str, Any]]:
    """The gaicd rows (module docstring), with their images planned in `writer`."""
    from intentcrop.core.intent import parse_ratio
    from intentcrop.world.annotate import annotate_case

    rows: list[dict[str, Any]] = []
    free_done: set[int] = set()
    for index, case, ratio in export_cases(n_scenes, seed):
        scene = case.scene
        filename = writer.add_image(f"images/world-{scene.seed}.png", scene.image).split("/", 1)[1]
        r = None if ratio is None else parse_ratio(ratio)
        scene_fields = {"seed": scene.seed, "objects": [o.to_dict() for o in scene.objects]}
        if getattr(scene, "labels", None):  # composition / attribute labels, where the scene has them
            scene_fields["labels"] = scene.labels

        def row(annotation, **fields) -> dict[str, Any]:
            return {"filename": filename, "width": scene.width, "height": scene.height, "split": "world",
                    "crops_xyxy": annotation.crops_xyxy.astype(int).tolist(),
                    "mos": [round(float(m), 2) for m in annotation.mos], "annotators": annotation.annotators,
                    "ratio": ratio, **fields, "scene": scene_fields}

        if scene.seed not in free_done:  # each scene's free-form row comes before its first referring row
            free_done.add(scene.seed)
            rows.append(row(annotate_case(scene=scene, seed=seed), text=None, intent="free-form", kind=None,
                            targets=list(range(len(scene.objects))), distractors=[]))
        extra: dict[str, Any] = {}
        query = case.query_image()
        if query is not None:
            extra["query_image"] = writer.add_image(f"queries/world-{scene.seed}-{index}.png", query)
        extra["subject_mask"] = writer.add_image(f"masks/world-{scene.seed}-{index}.png", case.subject())
        rows.append(row(annotate_case(case, r, seed=seed), text=case.referral.text, intent="referring",
                        kind=case.referral.kind, targets=list(case.targets),
                        distractors=list(case.referral.distractors), **extra))
    return rows


@register_exporter("gaicd")
def export_gaicd(out: Path, n_scenes: int, seed: int, overwrite: bool = False) -> dict[str, Any]:
    """The world in GAICD's format (module docstring)."""
    writer = ExportWriter(Path(out), overwrite)
    rows = gaicd_rows(n_scenes, seed, writer)
    writer.add_jsonl("annotations.jsonl", rows)
    written = writer.write()
    return {"format": "gaicd", "out": str(out), "rows": len(rows), "files": len(written),
            "images": len({r["filename"] for r in rows})}


COMPOSED_SEED_OFFSET = 700_000_000  # exported composed scenes: apart from the CLIP's training and held-out seeds


def composed_seeds(n_scenes: int, seed: int) -> list[int]:
    return [COMPOSED_SEED_OFFSET + seed * 100_000 + i for i in range(n_scenes)]


def _composed(n_scenes: int, seed: int, writer: ExportWriter) -> list[tuple[Any, dict[str, Any]]]:
    """(scene, the row fields every label format shares) of the composed scenes, images planned in `writer`."""
    from intentcrop.world.composition import COMPOSITIONS, compose_scene

    out = []
    for i, s in enumerate(composed_seeds(n_scenes, seed)):
        scene = compose_scene(s, COMPOSITIONS[i % len(COMPOSITIONS)])
        filename = writer.add_image(f"images/composed-{s}.png", scene.image).split("/", 1)[1]
        out.append((scene, {"filename": filename, "width": scene.width, "height": scene.height, "split": "world"}))
    return out


def aadb_score(attributes: dict[str, float]) -> float:
    """The overall 1..5 score of a composed scene's [0, 1] attribute labels (module docstring)."""
    good = [attributes["color_harmony"], attributes["lighting"], attributes["depth_of_field"],
            attributes["object_emphasis"], 1 - attributes["clutter"]]
    return round(1 + 4 * float(np.mean(good)), 3)


@register_exporter("cadb")
def export_cadb(out: Path, n_scenes: int, seed: int, overwrite: bool = False) -> dict[str, Any]:
    """Composed scenes with their composition class, in the cadb format (module docstring)."""
    from intentcrop.datasets.composition import CADB_FILE

    writer = ExportWriter(Path(out), overwrite)
    rows = [{**base, "composition": [scene.labels["composition"]], "scene": scene.to_dict()}
            for scene, base in _composed(n_scenes, seed, writer)]
    writer.add_jsonl(CADB_FILE, rows)
    written = writer.write()
    return {"format": "cadb", "out": str(out), "rows": len(rows), "files": len(written), "images": len(rows)}


@register_exporter("aadb")
def export_aadb(out: Path, n_scenes: int, seed: int, overwrite: bool = False) -> dict[str, Any]:
    """Composed scenes with their attribute scores, in the aadb format (module docstring)."""
    from intentcrop.datasets.composition import AADB_FILE

    writer = ExportWriter(Path(out), overwrite)
    rows = []
    for scene, base in _composed(n_scenes, seed, writer):
        attrs = scene.labels["attributes"]
        rows.append({**base, "attributes": {k: round(2 * v - 1, 3) for k, v in attrs.items()},
                     "score": aadb_score(attrs), "scene": scene.to_dict()})
    writer.add_jsonl(AADB_FILE, rows)
    written = writer.write()
    return {"format": "aadb", "out": str(out), "rows": len(rows), "files": len(written), "images": len(rows)}


def export(name: str, out: "str | Path", n_scenes: int, seed: int = 0, overwrite: bool = False) -> dict[str, Any]:
    if name not in EXPORTERS:
        raise ExportError(f"unknown export format {name!r}; known: {', '.join(sorted(EXPORTERS))}")
    if n_scenes < 1:
        raise ExportError("--scenes must be at least 1")
    return EXPORTERS[name](Path(out), int(n_scenes), int(seed), bool(overwrite))


__all__ = ["COMPOSED_SEED_OFFSET", "EXPORTERS", "ExportError", "ExportWriter", "aadb_score", "composed_seeds", "export",
           "export_aadb", "export_cadb", "export_cases", "export_gaicd", "gaicd_rows", "register_exporter"]
