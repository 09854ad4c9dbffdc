"""The crop-quality scorer (SCORERS "quality", breakdown keys "quality.*"): a model learned from human crops
(FCDB), run in numpy; the offline pipeline "default" ranks by it alone.

The model ranks candidate crops of one image from the hand-crafted features in
`intentcrop.score.features`. Two shapes are supported, both trained by `intentcrop train quality`
(see `intentcrop.train.quality`) with a listwise ranking loss:

- "additive": a generalised additive model, score = sum_j f_j(z_j), each f_j piecewise linear
  (hinges at fixed knots) on the standardised feature z_j. Each feature's share of a crop's score
  is exact, which is what the explanation reports.
- "mlp": one hidden tanh layer over the standardised features; shares are gradient x (z - mean z).

On top of the learned score, one rule no photo editor breaks is applied as a fixed prior, not
learned: a border must not slice a face (`face_rule`, -options.face_cut_penalty per unit of
`face_cut_depth`). Only ~3% of FCDB images show a detectable face, too few for the ranker to learn
that reliably; the rule is booked under the feature's name, so explanations stay exact.

The model file is an .npz holding the weights, feature names, normalisation, knots and a JSON
`meta` record (seed, command, cross-validation numbers). The packaged file is
`intentcrop/data/crop_quality.npz`; `QualityScorer(model_path=...)` (CLI `--model PATH`) loads another.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from intentcrop import defaults
from intentcrop.core.candidates import Candidates
from intentcrop.core.context import CropContext
from intentcrop.errors import ModelNotAvailableError
from intentcrop.models.registry import QUALITY
from intentcrop.registry import SCORERS
from intentcrop.score.features import FEATURE_NAMES, FEATURE_PHRASES, features_for

DEFAULT_MODEL_PATH = Path(__file__).resolve().parents[1] / "data" / "crop_quality.npz"
MODEL_FORMAT = 1
VALUE_PREFIX = "value."  # breakdown keys holding a feature's raw value (contributions use the bare name)


def hinge_basis(z: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """(N, F) standardised features -> (N, F, 1 + K) piecewise-linear basis [z, relu(z - k_1), ...]."""
    return np.concatenate([z[:, :, None], np.maximum(z[:, :, None] - knots[None, :, :], 0.0)], axis=2)


@dataclass
class CropQualityModel:
    kind: str  # "linear", "additive" or "mlp"
    feature_names: tuple[str, ...]
    mean: np.ndarray  # (F,) feature normalisation
    std: np.ndarray  # (F,)
    params: dict[str, np.ndarray]  # additive: knots (F,K), weights (F,1+K); mlp: w1 (F,H), b1 (H,), w2 (H,)
    meta: dict[str, Any] = field(default_factory=dict)

    # -- inference ---------------------------------------------------------------------------
    def standardise(self, features: np.ndarray) -> np.ndarray:
        return (np.asarray(features, dtype=np.float64) - self.mean) / self.std

    def contributions(self, features: np.ndarray) -> np.ndarray:
        """(N, F) each feature's part of each candidate's score (before centring)."""
        z = self.standardise(features)
        if self.kind in ("linear", "additive"):
            return (hinge_basis(z, self.params["knots"]) * self.params["weights"][None]).sum(axis=2)
        if self.kind == "mlp":
            hidden = np.tanh(z @ self.params["w1"] + self.params["b1"])
            grad = ((1 - hidden**2) * self.params["w2"]) @ self.params["w1"].T  # (N, F) d score / d z
            return grad * (z - z.mean(axis=0))
        raise ModelNotAvailableError(f"unknown crop-quality model kind {self.kind!r}")

    def score_and_contributions(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(score(features), contributions(features)), the additive model's basis computed once (same numbers)."""
        if self.kind in ("linear", "additive"):
            terms = hinge_basis(self.standardise(features), self.params["knots"]) * self.params["weights"][None]
            return terms.sum(axis=(1, 2)), terms.sum(axis=2)
        return self.score(features), self.contributions(features)

    def score(self, features: np.ndarray) -> np.ndarray:
        z = self.standardise(features)
        if self.kind in ("linear", "additive"):
            return (hinge_basis(z, self.params["knots"]) * self.params["weights"][None]).sum(axis=(1, 2))
        if self.kind == "mlp":
            return np.tanh(z @ self.params["w1"] + self.params["b1"]) @ self.params["w2"]
        raise ModelNotAvailableError(f"unknown crop-quality model kind {self.kind!r}")

    # -- files ---------------------------------------------------------------------------------
    def save(self, path: "str | Path") -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {f"param_{k}": np.asarray(v, dtype=np.float64) for k, v in self.params.items()}
        with open(path, "wb") as fh:  # a file handle keeps numpy from appending ".npz" to other names
            np.savez_compressed(
                fh,
                format=np.array(MODEL_FORMAT),
                kind=np.array(self.kind),
                feature_names=np.array(self.feature_names),
                mean=self.mean,
                std=self.std,
                meta=np.array(json.dumps(self.meta, sort_keys=True)),
                **arrays,
            )
        return path

    @classmethod
    def load(cls, path: "str | Path") -> "CropQualityModel":
        path = Path(path)
        if not path.exists():
            raise ModelNotAvailableError(
                f"crop-quality model {path} does not exist; train one with `intentcrop train quality "
                "--data FCDB_DIR --out model.npz` or use the packaged default (no --model)"
            )
        try:
            with np.load(path, allow_pickle=False) as data:
                fmt = int(data["format"])
                if fmt != MODEL_FORMAT:
                    raise ModelNotAvailableError(f"crop-quality model {path} has format {fmt}, expected {MODEL_FORMAT}")
                names = tuple(str(n) for n in data["feature_names"])
                model = cls(
                    kind=str(data["kind"]),
                    feature_names=names,
                    mean=np.asarray(data["mean"], dtype=np.float64),
                    std=np.asarray(data["std"], dtype=np.float64),
                    params={k[len("param_"):]: np.asarray(data[k], dtype=np.float64) for k in data.files
                            if k.startswith("param_")},
                    meta=json.loads(str(data["meta"])),
                )
        except ModelNotAvailableError:
            raise
        except Exception as exc:  # zip/npz/json errors: say which file is broken
            raise ModelNotAvailableError(f"crop-quality model {path} could not be read: {exc}") from exc
        unknown = [n for n in names if n not in FEATURE_NAMES]
        if unknown:
            raise ModelNotAvailableError(
                f"crop-quality model {path} uses features this version does not compute: {', '.join(unknown)}"
            )
        return model

    def feature_index(self) -> np.ndarray:
        """Columns of `features.FEATURE_NAMES` that this model reads, in its order."""
        return np.array([FEATURE_NAMES.index(n) for n in self.feature_names], dtype=np.int64)


FACE_RULE_FEATURE = "face_cut_depth"


def face_rule(all_features: np.ndarray, penalty: "float | None" = None) -> np.ndarray:
    """(N,) the fixed prior added to the learned score: -penalty x how deep a border cuts into a face.

    `all_features` has every column of `features.FEATURE_NAMES`. A face halved by a border (depth 0.5)
    costs penalty / 2 log-odds against a candidate that keeps it whole or leaves it out (penalty None:
    `defaults.DEFAULTS.face_cut_penalty`)."""
    penalty = defaults.DEFAULTS.face_cut_penalty if penalty is None else penalty
    return -penalty * np.asarray(all_features, dtype=np.float64)[:, FEATURE_NAMES.index(FACE_RULE_FEATURE)]


_MODEL_CACHE: dict[str, CropQualityModel] = {}


def load_model(path: "str | Path | None" = None) -> CropQualityModel:
    """The packaged model (path None) or a user's own file, loaded once per process."""
    resolved = str(Path(path).resolve()) if path is not None else str(DEFAULT_MODEL_PATH)
    model = _MODEL_CACHE.get(resolved)
    if model is None:  # two threads may both load it; setdefault hands both the first one kept
        model = _MODEL_CACHE.setdefault(resolved, CropQualityModel.load(resolved))
    return model


def explain_contributions(
    winner: dict[str, float], all_terms: dict[str, np.ndarray], limit: int = 3
) -> list[str]:
    """Phrases for the features that most raised the winner above the average candidate.

    `winner`/`all_terms` hold, per feature, its share of the score under the bare name and the raw
    value under VALUE_PREFIX + name; a feature's gain is the winner's share minus the candidates' mean
    share, and the phrase's direction follows the raw value against its mean."""
    gains = []
    for name in FEATURE_NAMES:
        if name in winner and name in all_terms and len(all_terms[name]):
            gain = winner[name] - float(np.mean(all_terms[name]))
            if gain > 1e-9:
                gains.append((gain, name))
    gains.sort(reverse=True)
    if not gains:
        return []
    top = gains[0][0]
    phrases: list[str] = []
    for gain, name in gains:
        if len(phrases) == limit or gain < 0.15 * top:  # a factor far weaker than the main one is noise
            break
        value_key = VALUE_PREFIX + name
        more = True
        if value_key in winner and value_key in all_terms and len(all_terms[value_key]):
            more = winner[value_key] >= float(np.mean(all_terms[value_key]))
        phrase = FEATURE_PHRASES[name][0 if more else 1]
        for pair, merged in _PAIRED_PHRASES.items():  # "keeps the left side; keeps the right side" -> one phrase
            if phrase in pair:
                other = pair[1 - pair.index(phrase)]
                if other in phrases:
                    phrases[phrases.index(other)] = merged
                    phrase = None
                break
        if phrase is not None and phrase not in phrases:
            phrases.append(phrase)
    return phrases


_PAIRED_PHRASES: dict[tuple[str, str], str] = {
    (FEATURE_PHRASES["margin_left"][1], FEATURE_PHRASES["margin_right"][1]): "keeps the full width",
    (FEATURE_PHRASES["margin_top"][1], FEATURE_PHRASES["margin_bottom"][1]): "keeps the full height",
    (FEATURE_PHRASES["margin_left"][0], FEATURE_PHRASES["margin_right"][0]): "trims both sides",
    (FEATURE_PHRASES["margin_top"][0], FEATURE_PHRASES["margin_bottom"][0]): "trims the top and the bottom",
}


@SCORERS.register("quality")
class QualityScorer:
    """Ranks candidates with the learned crop-quality model; no downloaded weights."""

    name = "quality"
    model_arguments = {"model_path": QUALITY}  # the .npz `intentcrop train quality` writes

    def __init__(self, model_path: "str | Path | None" = None) -> None:
        self.model = load_model(model_path)
        self._columns = self.model.feature_index()

    def score(self, ctx: CropContext, candidates: Candidates) -> dict[str, np.ndarray]:
        all_features = features_for(ctx, candidates.xyxy)
        features = all_features[:, self._columns]
        learned, share = self.model.score_and_contributions(features)
        rule = face_rule(all_features, ctx.options.face_cut_penalty)
        total = learned + rule
        terms: dict[str, np.ndarray] = {"total": total}
        for j, name in enumerate(self.model.feature_names):  # shares add up to the total (additive models)
            terms[name] = share[:, j]
            terms[VALUE_PREFIX + name] = features[:, j]
        # The face rule is booked under its feature, so the shares still add up to the total.
        terms[FACE_RULE_FEATURE] = terms.get(FACE_RULE_FEATURE, 0.0) + rule
        terms[VALUE_PREFIX + FACE_RULE_FEATURE] = all_features[:, FEATURE_NAMES.index(FACE_RULE_FEATURE)]
        return terms

    def explain(self, winner: dict[str, float], all_terms: dict[str, np.ndarray]) -> list[str]:
        return explain_contributions(winner, all_terms)
