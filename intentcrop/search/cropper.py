"""Searcher "cropper_refine": Cropper's iterative refinement (Lee et al., 2024).

For L rounds (option cropper_rounds), per ratio group: the R best candidates so far (by the pipeline's scorers:
aesthetics, content, area) are shown to the VLM, each cropped out with "Score is {score}" (the combined score
mapped to 0..1), with the request for a similar crop with a high score (intentcrop.propose.cropper_prompts);
R answers are read, enforced (ratio, subject) and scored, and join the pool. Each candidate carries the round
that made it ("cropper.round" in its breakdown; its source is "cropper:roundN").

The final choice (option cropper_selection, the paper's Table 8): "best" keeps every round's candidates, so the
best-scored crop over all rounds wins; "last" keeps only the last round that produced any.

A round whose requests all fail ends the refinement: the candidates so far stand, with a warning.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from intentcrop.core.candidates import Candidates
from intentcrop.core.context import CropContext
from intentcrop.errors import StageFailedError
from intentcrop.propose.cropper import SESSION_KEY, as_candidates, ask
from intentcrop.propose.cropper_prompts import refinement_prompt
from intentcrop.registry import SEARCHERS


def display_scores(scores: np.ndarray) -> np.ndarray:
    """Combined scores as the 0..1 numbers the prompt shows: a logistic of the z-score within the pool."""
    scores = np.asarray(scores, np.float64)
    std = scores.std()
    z = (scores - scores.mean()) / std if std > 1e-12 else np.zeros_like(scores)
    return 1.0 / (1.0 + np.exp(-z))


def _same_group(ratios: np.ndarray, ratio: float | None) -> np.ndarray:
    return np.isnan(ratios) if ratio is None else np.isclose(ratios, ratio)


@SEARCHERS.register("cropper_refine")
class CropperRefine:
    def search(self, ctx: CropContext, candidates: Candidates,
               score_fn: Callable[[Candidates], Candidates]) -> Candidates:
        session = ctx.cache.get(SESSION_KEY)
        if session is None:  # another proposer: nothing to refine with
            return candidates
        options = ctx.options
        pool = candidates
        stopped = False
        for round_no in range(1, options.cropper_rounds + 1):
            if stopped:
                break
            new_parts = []
            for rs in session.sessions:
                group = np.flatnonzero(_same_group(pool.ratio, rs.ratio))
                if len(group) == 0:
                    continue
                order = group[np.argsort(-pool.scores[group], kind="stable")][:options.cropper_candidates]
                shown = display_scores(pool.scores[group])[np.searchsorted(group, order)]
                parts = refinement_prompt(rs.query, [pool[int(i)].boxes()[0] for i in order], list(shown))
                try:
                    boxes, failures = ask(session.client, parts, ctx.width, ctx.height,
                                          options.cropper_candidates, options)
                except StageFailedError as exc:
                    session.warnings.append(f"refinement stopped after round {round_no - 1}: {exc}")
                    stopped = True
                    break
                session.warnings += [f"a VLM request failed: {f}" for f in failures[:1]]
                new = as_candidates(boxes, rs, ctx.width, ctx.height, round_no)
                rs.rounds.append(new)
                new_parts.append(new)
            if not new_parts:
                break
            merged = Candidates.merge([Candidates(pool.xyxy, breakdown={"cropper.round": pool.breakdown["cropper.round"]},
                                                  source=pool.source, ratio=pool.ratio)] + new_parts)
            _, first = np.unique(np.round(merged.xyxy, 1), axis=0, return_index=True)  # a box seen before keeps
            merged = merged[np.sort(first)]  # its first round
            pool = score_fn(merged)  # re-scored together: the scorers z-score within the pool
        if options.cropper_selection == "last":
            rounds = pool.breakdown["cropper.round"]
            keep = np.zeros(len(pool), dtype=bool)
            for rs in session.sessions:
                group = _same_group(pool.ratio, rs.ratio)
                if group.any():
                    keep |= group & (rounds == rounds[group].max())
            pool = pool[np.flatnonzero(keep)]
        ctx.cache.setdefault("warnings", []).extend(dict.fromkeys(session.warnings))
        return pool
