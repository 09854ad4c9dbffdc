"""Proposer "cropper": Cropper's in-context proposals (Lee et al., 2024) from a vision-language model.

Per ratio group of the intent: retrieve S examples from the example bank with their T best crops
(intentcrop.retrieve), build the paper's prompt (intentcrop.propose.cropper_prompts) with the query image and its
cues (subject centre, ratio, text), ask the VLM R times (the first greedily, the others sampled), read the crops
out of the answers (intentcrop.propose.cropper_parse), and enforce the intent on them: an exact ratio (snapped
about the crop's centre) and the subject inside (grown to hold it) -- a VLM's crop is never trusted as is.

The session (client, query per ratio, settings) is left in `ctx.cache["cropper"]` for the searcher
"cropper_refine" (intentcrop.search.cropper), which runs the refinement rounds. A VLM that cannot be reached or
answers nothing usable raises a StageFailedError; the pipeline then returns the default method's crop with a
warning.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from intentcrop.core.box import Box
from intentcrop.core.candidates import Candidates
from intentcrop.core.context import CropContext
from intentcrop.errors import StageFailedError
from intentcrop.models.registry import GENERATION
from intentcrop.propose.cropper_parse import VLMAnswerError, parse_crops
from intentcrop.propose.cropper_prompts import Example, Query, initial_prompt
from intentcrop.propose.geometry import largest_ratio_window
from intentcrop.registry import PROPOSERS

SESSION_KEY = "cropper"


@dataclass
class RatioSession:
    ratio: float | None
    query: Query
    region: Box | None
    min_side: int = 16  # options.min_crop_side
    rounds: list[Candidates] = field(default_factory=list)


@dataclass
class CropperSession:
    client: Any
    sessions: list[RatioSession]
    warnings: list[str] = field(default_factory=list)


def enforce(box: Box, width: int, height: int, ratio: float | None, region: Box | None, min_side: int = 16) -> Box:
    """`box` made to meet the intent: holding `region` (grown, never shrunk, to contain it) and of exactly
    `ratio` (about its centre; as large as the region needs, at most the largest window of the ratio), inside
    the image. Where the ratio cannot hold the region inside the image the window is centred on the region."""
    box = box.clip(width, height)
    if region is not None:
        region = region.clip(width, height)
        box = box.union(region)
    w, h = max(box.width, 1.0), max(box.height, 1.0)
    if ratio is not None:
        if region is not None:  # grow the short side: the region stays inside
            w, h = (h * ratio, h) if w / h < ratio else (w, w / ratio)
        else:  # keep the area
            area = w * h
            w, h = math.sqrt(area * ratio), math.sqrt(area / ratio)
        if min(w, h) < min_side:  # a sliver is no crop: grown to the crop floor
            grow = min_side / min(w, h)
            w, h = w * grow, h * grow
        max_w, max_h = largest_ratio_window(width, height, ratio)
        if w > max_w or h > max_h:
            w, h = float(max_w), float(max_h)
        else:  # whole pixels with the ratio as exact as they allow
            h = float(max(round(h), 1))
            w = float(min(round(h * ratio), max_w))
    else:
        w, h = min(max(w, min(min_side, width)), width), min(max(h, min(min_side, height)), height)
    cx, cy = box.center
    x1, y1 = cx - w / 2, cy - h / 2
    if region is not None:  # slide so the region is inside where the window can hold it
        x1 = min(max(x1, region.x2 - w), region.x1) if w >= region.width else region.center[0] - w / 2
        y1 = min(max(y1, region.y2 - h), region.y1) if h >= region.height else region.center[1] - h / 2
    x1 = min(max(x1, 0.0), width - w)
    y1 = min(max(y1, 0.0), height - h)
    return Box(x1, y1, x1 + w, y1 + h)


def ask(client: Any, parts: list, width: int, height: int, count: int, options: Any) -> tuple[list[Box], list[str]]:
    """`count` requests (the first greedy, the rest sampled at options.cropper_temperature), all crops of all
    usable answers, and a note per failed request. Raises the first failure when no request gave a crop."""
    temps = [0.0] + [float(options.cropper_temperature)] * (count - 1)

    def one(temperature: float) -> list[Box]:
        # temperature 0 is sent as such: servers (transformers serve among them) then decode greedily
        answer = client.complete(parts, max_tokens=options.cropper_max_tokens, temperature=temperature)
        return [c.box for c in parse_crops(answer, width, height)]

    boxes: list[Box] = []
    failures: list[StageFailedError] = []
    workers = min(count, int(getattr(client, "concurrency", 1) or 1))
    with ThreadPoolExecutor(max_workers=max(workers, 1)) as pool:
        for future in [pool.submit(one, t) for t in temps]:
            try:
                boxes += future.result()
            except StageFailedError as exc:
                failures.append(exc)
    if not boxes:
        raise failures[0] if failures else VLMAnswerError("the VLM proposed no crop")
    return boxes, [str(f) for f in failures]


def as_candidates(boxes: list[Box], session: RatioSession, width: int, height: int, round_no: int) -> Candidates:
    enforced = np.array([enforce(b, width, height, session.ratio, session.region, session.min_side).to_xyxy()
                         for b in boxes])
    enforced = np.unique(np.round(enforced, 1), axis=0)
    cands = Candidates.from_xyxy(enforced, source=f"cropper:round{round_no}", ratio=session.ratio)
    cands.with_score("cropper.round", np.full(len(cands), float(round_no)))
    return cands


@PROPOSERS.register("cropper")
class CropperProposer:
    """See the module docstring. vlm_url / vlm_model / vlm_key (else the environment: INTENTCROP_VLM_URL,
    INTENTCROP_VLM_MODEL, INTENTCROP_VLM_KEY or OPENAI_API_KEY) name an OpenAI-compatible server; vlm_local a
    local image-text-to-text model folder or hub id run in-process instead. bank: an example bank folder
    (`intentcrop index build`, else INTENTCROP_CROPPER_BANK); without one the prompts are zero-shot."""

    model_arguments = {"vlm_local": GENERATION}  # `--model FOLDER` of a VLM runs it in-process, as --vlm-local

    def __init__(self, vlm_url: str | None = None, vlm_model: str | None = None, vlm_key: str | None = None,
                 vlm_local: str | None = None, bank: str | None = None, vlm_timeout: float | None = None,
                 vlm_retries: int | None = None, device: str | None = None, dtype: Any = None) -> None:
        self.settings = dict(url=vlm_url, model=vlm_model, api_key=vlm_key, local_model=vlm_local,
                             timeout_s=vlm_timeout, retries=vlm_retries, device=device, dtype=dtype)
        self.bank_path = bank or os.environ.get("INTENTCROP_CROPPER_BANK") or None
        self._client = None
        self._bank = None
        self._embedder = None

    def client(self) -> Any:
        if self._client is None:
            from intentcrop.models.vlm import make_client

            self._client = make_client(**self.settings)
        return self._client

    def bank(self) -> Any:
        if self.bank_path and self._bank is None:
            from intentcrop.retrieve.bank import load_bank
            from intentcrop.retrieve.embed import make_embedder

            self._bank = load_bank(self.bank_path)
            name = self._bank.embedder
            self._embedder = make_embedder(name.split(":", 1)[1] if name.startswith("clip:") else None)
        return self._bank

    def examples(self, ctx: CropContext, ratio: float | None, region: Box | None) -> list[Example]:
        bank = self.bank()
        S, T = ctx.options.cropper_examples, ctx.options.cropper_crops_per_example
        if bank is None or S == 0:
            return []
        from intentcrop.retrieve.select import retrieve

        query_embedding = ctx.cached("cropper.embedding", lambda: self._embedder.embed_images([ctx.image])[0])
        text = ctx.intent.text
        text_similarity = None
        if text and hasattr(self._embedder, "embed_texts"):
            texts = [t or "" for t in bank.texts]
            text_similarity = self._embedder.embed_texts(texts) @ self._embedder.embed_texts([text])[0]
        hits = retrieve(bank, query_embedding, S, T, ratio=ratio,
                        subject_centre=region.center if region is not None else None,
                        query_size=(ctx.width, ctx.height), text=text, text_similarity=text_similarity)
        out = []
        for hit in hits:
            w, h = (int(v) for v in bank.sizes[hit.index])
            centre = bank.subject_centres[hit.index]
            out.append(Example(image=bank.image(hit.index), crops=[Box(*c) for c in hit.crops],
                               scores=[float(s) for s in hit.scores],
                               subject_center=tuple(centre) if np.isfinite(centre).all() else None,
                               ratio=ratio, text=bank.texts[hit.index] if text else None))
        return out

    def propose(self, ctx: CropContext) -> Candidates:
        client = self.client()  # a missing URL / model / key fails here, before any work
        region = ctx.grounding.region if ctx.grounding is not None else None
        ratios = ctx.intent.resolve_ratios(ctx.width, ctx.height) or [None]
        session = CropperSession(client, [])
        parts_out = []
        for ratio in ratios:
            examples = self.examples(ctx, ratio, region)
            query = Query(image=ctx.image, subject_center=region.center if region is not None else None,
                          ratio=ratio, text=ctx.intent.text, examples=examples)
            rs = RatioSession(ratio, query, region, ctx.options.min_crop_side)
            boxes, failures = ask(client, initial_prompt(query), ctx.width, ctx.height,
                                  ctx.options.cropper_candidates, ctx.options)
            session.warnings += [f"a VLM request failed: {f}" for f in failures[:1]]
            cands = as_candidates(boxes, rs, ctx.width, ctx.height, 0)
            rs.rounds.append(cands)
            session.sessions.append(rs)
            parts_out.append(cands)
        ctx.cache[SESSION_KEY] = session
        return Candidates.merge(parts_out)
