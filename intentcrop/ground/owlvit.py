"""OWL-ViT / OWLv2 grounding (GROUNDERS "owlvit"): text or a query image -> boxes -> the region to keep.

Text, as ClipCrop does it: the full text and its noun phrases (`phrases.grounding_queries`) are each
matched against OWL-ViT's image tokens; every token predicts a box, the best tokens of every phrase are
the matches, and `fusion.fuse_matches` unions the consistent ones. A text that picks its subject by a
spatial relation ("the red circle left of the blue square", `phrases.parse_relation`) queries the subject
and the anchor instead, and `fusion.fuse_relation` keeps the subject the relation points at. A text that
places its subject in the picture ("the dog on the left", `phrases.parse_position`) queries the subject
alone, and `fusion.fuse_position` keeps the match furthest to that side. A query image uses OWL-ViT's
image-guided detection (the query's most distinctive box embedding is the query).

Coordinate frame: OWL-ViT (v1) stretches the image to its square input, so its normalised boxes are
fractions of the image's width and height; OWLv2 pads the image to a square at the bottom and right
first, so its boxes are fractions of the padded square's side, max(width, height). The frame is read
from the model's own processor (`do_pad`) and `model_boxes_to_pixels` maps either back to the upright
image's pixels (EXIF rotation was already applied by `load_image`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from intentcrop import defaults
from intentcrop.core.box import Box
from intentcrop.core.context import CropContext, Grounding
from intentcrop.errors import IntentCropError
from intentcrop.ground.fusion import (Match, fuse_matches, fuse_position, fuse_relation, phrase_count,
                                     top_boxes_per_query)
from intentcrop.ground.phrases import grounding_queries, names_size, parse_position, parse_relation, same_referent
from intentcrop.ground.refine import (CloserLook, closer_look, look_key, patch_span, pick_redetection,
                                     recheck_contenders, refine_grounding, refine_windows)
from intentcrop.ground.verify import ClipVerifier
from intentcrop.registry import GROUNDERS

STRETCHED = "stretched"  # OWL-ViT v1: boxes are fractions of the image's own width and height
PADDED_SQUARE = "padded_square"  # OWLv2: boxes are fractions of max(width, height), image at the top-left


def box_frame(image_processor: Any) -> str:
    """Which frame a processor's outputs live in: padded to a square (OWLv2) or stretched (OWL-ViT)."""
    return PADDED_SQUARE if getattr(image_processor, "do_pad", False) else STRETCHED


def model_boxes_to_pixels(cxcywh: np.ndarray, width: int, height: int, frame: str) -> np.ndarray:
    """(P, 4) normalised centre-size boxes from the model -> (P, 4) xyxy pixels of the width x height image,
    clipped to it (padding holds no image, so a box reaching into it is cut at the image's edge)."""
    cxcywh = np.asarray(cxcywh, dtype=np.float64).reshape(-1, 4)
    if frame == PADDED_SQUARE:
        sx = sy = float(max(width, height))
    elif frame == STRETCHED:
        sx, sy = float(width), float(height)
    else:
        raise ValueError(f"unknown box frame {frame!r}")
    cx, cy, w, h = cxcywh.T
    xyxy = np.stack([(cx - w / 2) * sx, (cy - h / 2) * sy, (cx + w / 2) * sx, (cy + h / 2) * sy], axis=1)
    xyxy[:, [0, 2]] = np.clip(xyxy[:, [0, 2]], 0, width)
    xyxy[:, [1, 3]] = np.clip(xyxy[:, [1, 3]], 0, height)
    return xyxy


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))


def merge_same_referent(queries: list[str], probs: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Fold every noun phrase that is the whole text ('the red circle' / 'red circle') into the text's own
    column (mean probability): two readings of one referent, not two things to keep. Left alone, each
    reading's best box is kept, and where they disagree the region spans the target and a look-alike."""
    same = [q for q in range(1, len(queries)) if same_referent(queries[0], queries[q])]
    if not same:
        return queries, probs
    merged = probs[:, [0] + same].mean(axis=1, keepdims=True)
    rest = [q for q in range(1, len(queries)) if q not in same]
    return [queries[0]] + [queries[q] for q in rest], np.concatenate([merged, probs[:, rest]], axis=1)


@GROUNDERS.register("owlvit")
class OwlVitGrounder:
    """model: short name ("owlvit-b32", "owlv2-b16"), hub id or folder; None -> defaults.DEFAULT grounding model."""

    name = "owlvit"

    def __init__(self, model: Any = None, device: str | None = None, dtype: Any = None,
                 max_phrases: int = defaults.GROUND_MAX_PHRASES, per_query: int = defaults.GROUND_PER_QUERY,
                 min_score: float = defaults.GROUND_MIN_SCORE,
                 min_relative_score: float = defaults.GROUND_MIN_RELATIVE_SCORE,
                 min_relative_area: float = defaults.GROUND_MIN_RELATIVE_AREA,
                 tie_score: float = defaults.GROUND_TIE_SCORE,
                 same_thing_iou: float = defaults.GROUND_SAME_THING_IOU,
                 verify: bool = False, verifier_model: Any = None,
                 verify_candidates: int = defaults.GROUND_VERIFY_CANDIDATES,
                 verify_weight: float = defaults.GROUND_VERIFY_WEIGHT,
                 refine_windows: tuple[float, ...] = defaults.GROUND_REFINE_WINDOWS,
                 refine_max_patches: float = defaults.GROUND_REFINE_MAX_PATCHES,
                 refine_min_iou: float = defaults.GROUND_REFINE_MIN_IOU, recheck: bool = True,
                 recheck_min_relative: float = defaults.GROUND_RECHECK_MIN_RELATIVE,
                 recheck_tie_score: float = defaults.GROUND_RECHECK_TIE_SCORE) -> None:
        self.model_spec, self.device, self.dtype = model, device, dtype
        self.max_phrases, self.per_query = max_phrases, per_query
        self.fusion_args = dict(min_score=min_score, min_relative_score=min_relative_score,
                                min_relative_area=min_relative_area, tie_score=tie_score,
                                same_thing_iou=same_thing_iou)
        # verify: re-score each phrase's candidates with CLIP (ground.verify); verifier_model None -> the default
        self.verifier = ClipVerifier(verifier_model, device, dtype, weight=verify_weight) if verify else None
        self.verify_candidates = int(verify_candidates)
        # refine: kept boxes spanning fewer than refine_max_patches patches are re-detected in windows around them
        # (ground.refine); no windows -> off
        if any(m < 0 for m in refine_windows):
            raise ValueError(f"refine_windows must be margins >= 0, got {tuple(refine_windows)}")
        self.refine_windows = tuple(float(m) for m in refine_windows)
        self.refine_max_patches, self.refine_min_iou = float(refine_max_patches), float(refine_min_iou)
        # recheck: when several things contend for a text naming one thing (or a query image), the closer look in
        # the same windows decides between them (ground.refine.recheck_contenders); needs refine_windows
        self.recheck = bool(recheck) and bool(self.refine_windows)
        self.recheck_min_relative, self.recheck_tie_score = float(recheck_min_relative), float(recheck_tie_score)
        self._loaded = None

    @property
    def loaded(self) -> Any:
        if self._loaded is None:
            from intentcrop.models import load_grounding_model

            self._loaded = load_grounding_model(self.model_spec, device=self.device, dtype=self.dtype)
        return self._loaded

    # -- model calls ----------------------------------------------------------------------------
    def _pixel_values(self, images: list[Any]) -> Any:
        loaded = self.loaded
        pixel_values = loaded.processor.image_processor(images=list(images), return_tensors="pt")["pixel_values"]
        return pixel_values.to(loaded.device, loaded.dtype)

    def detect_text(self, image: Any, queries: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Per-token normalised boxes (P, 4) cxcywh and per-token, per-query match probabilities (P, Q)."""
        cxcywh, probs = self.detect_text_batch([image], [queries])
        return cxcywh[0], probs[0]

    def detect_text_batch(self, images: list[Any], queries: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
        """Several images in one forward pass, image i matched against its own queries[i] (every list as long):
        boxes (B, P, 4) and probabilities (B, P, Q)."""
        import torch

        if len(queries) != len(images) or len({len(q) for q in queries}) > 1:
            raise ValueError("detect_text_batch needs one list of queries per image, all of one length")
        loaded = self.loaded
        max_len = loaded.model.config.text_config.max_position_embeddings
        tokens = loaded.processor.tokenizer([q for per_image in queries for q in per_image], padding="max_length",
                                            truncation=True, max_length=max_len, return_tensors="pt")
        with torch.inference_mode():
            out = loaded.model(input_ids=tokens["input_ids"].to(loaded.device),
                               attention_mask=tokens["attention_mask"].to(loaded.device),
                               pixel_values=self._pixel_values(images))
        return out.pred_boxes.float().cpu().numpy(), _sigmoid(out.logits.float().cpu().numpy())

    def detect_image(self, image: Any, query_image: Any) -> tuple[np.ndarray, np.ndarray]:
        """Image-guided detection: (P, 4) cxcywh boxes and (P, 1) match probabilities."""
        cxcywh, probs = self.detect_image_batch([image], query_image)
        return cxcywh[0], probs[0]

    def detect_image_batch(self, images: list[Any], query_image: Any) -> tuple[np.ndarray, np.ndarray]:
        """Image-guided detection of one query in several images: (B, P, 4) boxes, (B, P, 1) probabilities."""
        import torch

        query = self._pixel_values([query_image])
        with torch.inference_mode():
            out = self.loaded.model.image_guided_detection(pixel_values=self._pixel_values(images),
                                                           query_pixel_values=query.expand(len(images), -1, -1, -1))
        if out.logits is None:
            raise IntentCropError("the query image gave OWL-ViT no object to look for")
        return out.target_pred_boxes.float().cpu().numpy(), _sigmoid(out.logits.float().cpu().numpy())

    def look_closer(self, image: Any, items: list[tuple[Box, str]], query_image: Any = None,
                    seen: dict | None = None) -> list[CloserLook | None]:
        """A closer look at each (box, phrase): the box re-detected in windows around it (see ground.refine), all
        windows of all boxes batched; None for a box the model's grid already resolves. With a query image the
        phrase is ignored. `seen` caches the looks of one image and query, so a box is looked at once."""
        seen = {} if seen is None else seen
        config = self.loaded.model.config.vision_config
        grid = config.image_size // config.patch_size
        frame = box_frame(self.loaded.processor.image_processor)
        width, height = image.width, image.height

        todo: dict[tuple, tuple[Box, str, list[Box]]] = {}
        for box, phrase in items:
            k = look_key(box, phrase)
            if k in seen or k in todo:
                continue
            windows = refine_windows(box, self.refine_windows, width, height)
            if patch_span(box, width, height, grid, frame == PADDED_SQUARE) >= self.refine_max_patches or not windows:
                seen[k] = None  # the grid already resolves it (or it is too small to cut out)
            else:
                todo[k] = (box, phrase, windows)
        jobs = [(k, w) for k, (_, _, windows) in todo.items() for w in windows]
        found: dict[tuple, list] = {k: [] for k in todo}
        for start in range(0, len(jobs), defaults.GROUND_REFINE_BATCH):
            chunk = jobs[start:start + defaults.GROUND_REFINE_BATCH]
            crops = [image.crop(w.as_int_tuple()) for _, w in chunk]
            if query_image is not None:
                cxcywh, probs = self.detect_image_batch(crops, query_image)
            else:
                cxcywh, probs = self.detect_text_batch(crops, [[todo[k][1]] for k, _ in chunk])
            for (k, w), boxes, p in zip(chunk, cxcywh, probs):
                xyxy = model_boxes_to_pixels(boxes, int(w.width), int(w.height), frame) + np.array([w.x1, w.y1] * 2)
                found[k].append(pick_redetection(xyxy, p[:, 0], todo[k][0], self.refine_min_iou))
        for k, (box, _, _) in todo.items():
            seen[k] = closer_look(found[k], box)
        return [seen[look_key(box, phrase)] for box, phrase in items]

    def refine(self, image: Any, grounding: Grounding, query_image: Any = None, seen: dict | None = None) -> Grounding:
        """`grounding` with its small kept boxes replaced by their closer look's (see ground.refine). `seen`: the
        looks already taken at this image with this query (`look_closer`)."""
        if not self.refine_windows or not grounding.boxes:
            return grounding
        items = list(zip(grounding.boxes, grounding.phrases))
        items += [item for a in grounding.alternatives for item in zip(a.boxes, a.phrases)]
        seen = {} if seen is None else seen
        self.look_closer(image, items, query_image, seen)  # every box in one batch

        def refine_box(box: Box, phrase: str) -> Box:
            found = self.look_closer(image, [(box, phrase)], query_image, seen)[0]
            return box if found is None else found.box

        return refine_grounding(grounding, refine_box)

    # -- the stage --------------------------------------------------------------------------------
    def matches(self, cxcywh: np.ndarray, probs: np.ndarray, phrases: list[str], width: int, height: int,
                verification: "tuple[Any, Any, list[bool]] | None" = None) -> list[Match]:
        """The best boxes of every phrase. verification: (image, a function giving the (Q, D) query embeddings,
        which phrases to verify) -- more candidates are then taken per phrase and re-scored by the verifier."""
        xyxy = model_boxes_to_pixels(cxcywh, width, height, box_frame(self.loaded.processor.image_processor))
        per_query = max([self.per_query] + [phrase_count(p) for p in phrases])  # "five stars" needs five boxes
        verifying = verification is not None and self.verifier is not None and any(verification[2])
        candidates = top_boxes_per_query(xyxy, probs, max(per_query, self.verify_candidates) if verifying else per_query)
        if verifying:
            image, query_embeddings, verified = verification
            probs = self.verifier.rescore(image, xyxy, probs, candidates, query_embeddings(), verified)
            candidates = [sorted(idx, key=lambda i: -probs[i, q])[:per_query] for q, idx in enumerate(candidates)]
        out = []
        for q, indices in enumerate(candidates):
            for idx in indices:
                box = Box.from_xyxy(xyxy[idx])
                if box.area > 0:
                    out.append(Match(box, float(probs[idx, q]), phrases[q]))
        return out

    def _phrase_verification(self, image: Any, queries: list[str]) -> "tuple[Any, Any, list[bool]] | None":
        """`matches`' verification argument for phrases that each name one kind of thing (a relation's subject and
        anchor, a side's subject): CLIP checks those naming one instance. None without a verifier."""
        if self.verifier is None:
            return None
        return image, lambda: self.verifier.text_queries(queries), [phrase_count(q) == 1 for q in queries]

    def ground(self, ctx: CropContext) -> Grounding:
        """The fused matches (`fuse`), their small kept boxes then looked at again closer (`refine`; the looks
        `fuse` took to decide between contenders are reused)."""
        seen: dict = {}
        grounding = self.fuse(ctx, seen)
        query = self._query_image(ctx) if grounding.source == "query_image" else None
        return self.refine(ctx.image, grounding, query_image=query, seen=seen)

    @staticmethod
    def _query_image(ctx: CropContext) -> Any:
        from intentcrop.io.image import load_image

        return ctx.cached("query_image", lambda: load_image(ctx.intent.query_image))

    def fuse(self, ctx: CropContext, seen: dict | None = None) -> Grounding:
        """The grounding from one detection pass: matches for the text's phrases (a relation's subject and anchor, a
        side's subject) or the query image, fused into the region to keep. For a text naming one thing or a query
        image, things contending with the best are first looked at closer (`recheck`; `seen` keeps the looks)."""
        intent = ctx.intent
        relation = parse_relation(intent.text) if intent.text else None
        if relation is not None:  # "the red circle left of the blue square": find both, keep the subject
            queries = list(dict.fromkeys([relation.subject, relation.anchor]))
            cxcywh, probs = self.detect_text(ctx.image, queries)
            verification = self._phrase_verification(ctx.image, queries)
            return fuse_relation(self.matches(cxcywh, probs, queries, ctx.width, ctx.height, verification), relation,
                                 "text", **self.fusion_args)
        position = parse_position(intent.text) if intent.text else None
        if position is not None:  # "the dog on the left": find the dogs, keep the one furthest to that side
            queries = [position.subject]
            cxcywh, probs = self.detect_text(ctx.image, queries)
            verification = self._phrase_verification(ctx.image, queries)
            return fuse_position(self.matches(cxcywh, probs, queries, ctx.width, ctx.height, verification), position,
                                 "text", **self.fusion_args)
        if intent.text:
            queries = grounding_queries(intent.text, self.max_phrases)
            cxcywh, probs = self.detect_text(ctx.image, queries)
            queries, probs = merge_same_referent(queries, probs)
            source = "text"
            # CLIP judges a crop of one thing: the full text only when it names one referent (no other noun
            # phrase left after merging), a phrase only when it names one instance
            verified = [len(queries) == 1 and phrase_count(queries[0]) == 1]
            verified += [phrase_count(q) == 1 for q in queries[1:]]
            embed = lambda: self.verifier.text_queries(queries)  # noqa: E731 -- only called when verifying
        elif intent.query_image is not None:
            query = self._query_image(ctx)
            cxcywh, probs = self.detect_image(ctx.image, query)
            queries, source = ["query image"], "query_image"
            verified = [True]
            embed = lambda: self.verifier.image_query(query)  # noqa: E731
        else:
            raise IntentCropError("OWL-ViT grounding needs a text or a query image")
        verification = (ctx.image, embed, verified) if self.verifier is not None else None
        matches = self.matches(cxcywh, probs, queries, ctx.width, ctx.height, verification)
        # one thing is meant: which of the close matches is it? (not by its size: up close every thing is big)
        if self.recheck and verified[0] and not (source == "text" and names_size(queries[0])):
            query = self._query_image(ctx) if source == "query_image" else None
            rechecked = recheck_contenders(
                matches, lambda ms: self.look_closer(ctx.image, [(m.box, m.phrase) for m in ms], query, seen),
                self.recheck_min_relative, self.fusion_args["same_thing_iou"])
            if rechecked is not None:
                grounding = fuse_matches(rechecked, source, **dict(self.fusion_args, tie_score=self.recheck_tie_score))
                grounding.selection = grounding.selection or (
                    f"several things matched {queries[0]!r} closely: each was looked at again, closer, and this one "
                    "is the most likely up close")
                return grounding
        return fuse_matches(matches, source, **self.fusion_args)
