"""CLIPCropping (Yuan, Li, Chen: "Aesthetic image cropping meets VLP: enhancing good while reducing bad"):
knowledge embeddings learned on a frozen CLIP, and a cropping head that scores candidate crops with them.

* CKE, composition knowledge: a CoCoOp prompt learner -- `n_ctx` learned context vectors shared by the five
  composition classes (`COMPOSITION_ELEMENTS`), shifted per image by a small meta-net of the image's CLIP
  embedding -- whose prompts "[SOS] ctx_1 .. ctx_n <class words> [EOS]" run through the CLIP's frozen text
  transformer; the class embeddings are the projected EOS states. Trained with cross-entropy over the five
  class prompts at the CLIP's logit scale (InfoNCE against the labelled class).
* AKE, aesthetic knowledge: a second prompt learner for the five aesthetic elements (`AESTHETIC_ELEMENTS`),
  each with a good and a bad prompt; an element's score is the two-way softmax of the good prompt.
* the cropping head: per candidate crop, RoIAlign of the CLIP's last-layer patch tokens over the crop (what it
  keeps) and RoDAlign over the whole image with the crop removed (what it leaves out), the crop's knowledge
  (its CLIP embedding's similarities to the CKE classes and to each AKE element's good/bad pair, the prompts
  conditioned on that embedding) and the box's geometry, fused by an MLP into a MOS-scale score.

The module holds no CLIP weights: `attach(encoder)` points it at a loaded `ClipEncoder` (the registry's CLIP it
was trained on; its text tower stays frozen). Saved as a folder, config.json (model_type "clipcropping") +
model.safetensors, like ClipCrop's decoder; routed by the models registry as the role CROP_HEAD.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from intentcrop.errors import ModelNotAvailableError
from intentcrop.models.loading import _require_torch

MODEL_TYPE = "clipcropping"


@dataclass(frozen=True)
class KnowledgeElement:
    name: str
    words: tuple[str, ...]  # the class words of its prompt(s): one (composition) or (good, bad) (aesthetics)
    praise: str  # the photographer's phrase when a crop shows it (composition) / is good on it (aesthetics)
    fault: str = ""  # aesthetics: the phrase when a crop is bad on it


COMPOSITION_ELEMENTS: tuple[KnowledgeElement, ...] = (
    KnowledgeElement("center", ("center",), "puts the subject in the centre"),
    KnowledgeElement("rule_of_thirds", ("rule of thirds",), "places the subject on a third"),
    KnowledgeElement("horizontal", ("horizontal lines",), "keeps strong horizontal lines"),
    KnowledgeElement("vertical", ("vertical lines",), "uses strong vertical lines"),
    KnowledgeElement("curved", ("a curved line",), "follows a leading curve"),
)
AESTHETIC_ELEMENTS: tuple[KnowledgeElement, ...] = (
    KnowledgeElement("color", ("harmonious colors", "clashing colors"), "has harmonious colour",
                     "its colours clash"),
    KnowledgeElement("lighting", ("dramatic lighting", "flat lighting"), "catches the light well",
                     "its light is flat"),
    KnowledgeElement("depth_of_field", ("a blurred background", "a sharp background"),
                     "isolates the subject against a soft background", "its background is busy and sharp"),
    KnowledgeElement("emphasized_object", ("one emphasized object", "many objects"), "gives the subject emphasis",
                     "no single subject stands out"),
    KnowledgeElement("interesting_content", ("a clean background", "a cluttered background"),
                     "keeps the interesting content without clutter", "keeps distracting clutter"),
)
# The world's composition classes (intentcrop.world.composition) and CADB's names behind each CKE class.
COMPOSITION_LABELS: dict[str, str] = {"center": "center", "thirds": "rule_of_thirds", "rule_of_thirds": "rule_of_thirds",
                                      "horizontal": "horizontal", "vertical": "vertical", "curved": "curved"}
# AADB-like attribute names (the world's, then AADB's own) behind each AKE element; "clutter" counts inverted.
ATTRIBUTE_SOURCES: dict[str, tuple[str, ...]] = {
    "color": ("color_harmony", "ColorHarmony"), "lighting": ("lighting", "Light"),
    "depth_of_field": ("depth_of_field", "DoF"), "emphasized_object": ("object_emphasis", "Object"),
    "interesting_content": ("Content", "content", "-clutter"),
}
ROI_SIZE, ROD_SIZE, SAMPLES = 3, 4, 2  # RoIAlign / RoDAlign output bins per side, sample points per bin side


@dataclass
class ClipCroppingConfig:
    model_type: str = MODEL_TYPE
    embed_dim: int = 64  # the CLIP's joint embedding width
    text_width: int = 64  # its text transformer's width (the context vectors')
    token_dim: int = 64  # its vision width (the patch tokens the head aligns)
    max_length: int = 16  # its text length
    n_ctx: int = 4
    meta_hidden: int = 32  # CoCoOp's meta-net: embed_dim -> meta_hidden -> a shift of each context vector
    head_hidden: int = 128
    use_cke: bool = True  # the paper's ablations: the head without composition / aesthetic knowledge
    use_ake: bool = True
    # prompt token ids: [SOS] + n_ctx placeholders + class words + [EOS], padded (config, so a folder is complete)
    bos_id: int = 0
    eos_id: int = 0
    composition_ids: list[list[int]] = field(default_factory=list)  # (5, words)
    aesthetic_ids: list[list[list[int]]] = field(default_factory=list)  # (5, 2, words)
    clip: str | None = None  # the CLIP it was trained on, as given
    clip_relative: str | None = None  # the same, relative to the saved folder (fixtures move with the repo)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ClipCroppingConfig":
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    @property
    def knowledge_dim(self) -> int:
        return len(COMPOSITION_ELEMENTS) * self.use_cke + len(AESTHETIC_ELEMENTS) * self.use_ake


def config_for(encoder: Any, **kwargs: Any) -> ClipCroppingConfig:
    """The config of a head over this ClipEncoder's CLIP: widths, text length and the prompts' token ids. Class
    words are cut to what the text length leaves after the context (a small CLIP's 16 tokens)."""
    model = encoder.loaded.model
    tok = encoder.loaded.processor.tokenizer
    tc, vc = model.config.text_config, model.config.vision_config
    n_ctx = int(kwargs.get("n_ctx", ClipCroppingConfig.n_ctx))
    max_length = int(getattr(tc, "max_position_embeddings", 77))
    room = max_length - n_ctx - 2

    def ids(words: str) -> list[int]:
        return [int(i) for i in tok(words, add_special_tokens=False)["input_ids"]][:room]

    bos = tok.bos_token_id if tok.bos_token_id is not None else tc.bos_token_id
    eos = tok.eos_token_id if tok.eos_token_id is not None else tc.eos_token_id
    return ClipCroppingConfig(embed_dim=int(encoder.embed_dim), text_width=int(tc.hidden_size),
                              token_dim=int(vc.hidden_size), max_length=max_length, bos_id=int(bos), eos_id=int(eos),
                              composition_ids=[ids(e.words[0]) for e in COMPOSITION_ELEMENTS],
                              aesthetic_ids=[[ids(w) for w in e.words] for e in AESTHETIC_ELEMENTS], **kwargs)


def encode_prompt_embeddings(clip_model: Any, embeds: Any, eos_index: Any) -> Any:
    """CLIP's text tower on token *embeddings* (P, L, W) instead of ids: position embeddings, the causal
    encoder, the final layer norm, the EOS state at `eos_index` (P,), the text projection. transformers'
    CLIPTextModel.forward only takes input_ids (it finds the EOS from them), so the same steps are run here on
    its own modules; for the embeddings of real ids this is its pooled output (tested)."""
    torch = _require_torch()
    text = clip_model.text_model
    length = embeds.shape[1]
    hidden = embeds + text.embeddings.position_embedding(text.embeddings.position_ids[:, :length])
    causal = torch.full((length, length), float("-inf"), device=embeds.device, dtype=embeds.dtype).triu(1)
    hidden = text.encoder(inputs_embeds=hidden, attention_mask=causal[None, None]).last_hidden_state
    hidden = text.final_layer_norm(hidden)
    pooled = hidden[torch.arange(hidden.shape[0], device=hidden.device), eos_index]
    return clip_model.text_projection(pooled)


def _boxes_grid(boxes: Any, bins: int, samples: int) -> Any:
    """(N, bins*samples, bins*samples, 2) grid_sample locations (-1..1, x then y) spread evenly inside each
    normalised box (N, 4: x1, y1, x2, y2 in 0..1), `samples` per bin side at the sub-bin centres."""
    torch = _require_torch()
    steps = (torch.arange(bins * samples, dtype=boxes.dtype, device=boxes.device) + 0.5) / (bins * samples)
    xs = boxes[:, 0:1] + (boxes[:, 2:3] - boxes[:, 0:1]) * steps[None]  # (N, S)
    ys = boxes[:, 1:2] + (boxes[:, 3:4] - boxes[:, 1:2]) * steps[None]
    grid = torch.stack([xs[:, None, :].expand(-1, len(steps), -1), ys[:, :, None].expand(-1, -1, len(steps))], -1)
    return grid * 2 - 1


def roi_align(grid: Any, boxes: Any, bins: int = ROI_SIZE, samples: int = SAMPLES) -> Any:
    """RoIAlign (Mask R-CNN's: bilinear samples averaged per bin) of a (C, H, W) feature map spanning the whole
    image over normalised boxes (N, 4) -> (N, C, bins, bins). Written with grid_sample, not torchvision.ops:
    torchvision is not a dependency (the CPU installs this runs on have none), and grid_sample's bilinear
    sampling with align_corners=False is exactly RoIAlign's on this layout."""
    torch = _require_torch()
    f = torch.nn.functional
    n = boxes.shape[0]
    points = f.grid_sample(grid[None].expand(n, -1, -1, -1), _boxes_grid(boxes, bins, samples), mode="bilinear",
                           padding_mode="border", align_corners=False)
    return f.avg_pool2d(points, samples)


def rod_align(grid: Any, boxes: Any, bins: int = ROD_SIZE, samples: int = SAMPLES) -> Any:
    """RoDAlign (GAIC, Zeng et al.: the image with the crop removed, aligned) -> (N, C, bins, bins): the whole
    map sampled as RoIAlign would, every sample point inside the crop set to zero, then averaged per bin. Same
    grid_sample construction as `roi_align` (no torchvision)."""
    torch = _require_torch()
    f = torch.nn.functional
    n = boxes.shape[0]
    whole = boxes.new_tensor([[0.0, 0.0, 1.0, 1.0]]).expand(n, 4)
    loc = _boxes_grid(whole, bins, samples)  # (N, S, S, 2)
    points = f.grid_sample(grid[None].expand(n, -1, -1, -1), loc, mode="bilinear", padding_mode="border",
                           align_corners=False)
    x, y = (loc[..., 0] + 1) / 2, (loc[..., 1] + 1) / 2
    b = boxes[:, :, None, None]
    inside = (x >= b[:, 0]) & (x <= b[:, 2]) & (y >= b[:, 1]) & (y <= b[:, 3])
    return f.avg_pool2d(points * (~inside).unsqueeze(1).to(points.dtype), samples)


def box_geometry(boxes: Any, aspect: float) -> Any:
    """(N, 6) per normalised box: its corners, log of its share of the image, log of its aspect (w/h in pixels,
    the image's `aspect` given). A deviation: GAIC's aligned features carry the box only through content."""
    torch = _require_torch()
    w = (boxes[:, 2] - boxes[:, 0]).clamp_min(1e-3)
    h = (boxes[:, 3] - boxes[:, 1]).clamp_min(1e-3)
    return torch.cat([boxes, torch.log(w * h)[:, None], torch.log(w / h * aspect)[:, None]], dim=1)


def _build_module(config: ClipCroppingConfig) -> Any:
    torch = _require_torch()
    nn = torch.nn

    class PromptLearner(nn.Module):
        """CoCoOp: shared context vectors plus a meta-net's per-image shift (`shift(image_embeds)`)."""

        def __init__(self) -> None:
            super().__init__()
            self.ctx = nn.Parameter(torch.randn(config.n_ctx, config.text_width) * 0.02)
            self.meta = nn.Sequential(nn.Linear(config.embed_dim, config.meta_hidden), nn.ReLU(inplace=True),
                                      nn.Linear(config.meta_hidden, config.n_ctx * config.text_width))

        def context(self, image_embeds: Any) -> Any:
            # CoCoOp shifts every context vector by one meta-token; one shift per vector (a deviation) learns the
            # small world CLIP's labels where one shared shift stayed near chance
            shift = self.meta(image_embeds).reshape(-1, config.n_ctx, config.text_width)
            return self.ctx[None] + shift  # (B, n_ctx, W)

    class Module(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.cke = PromptLearner()
            self.ake = PromptLearner()
            c = config.token_dim
            self.region = nn.Sequential(nn.Linear(c * (ROI_SIZE ** 2 + ROD_SIZE ** 2) + 6, config.head_hidden),
                                        nn.ReLU(inplace=True))
            self.knowledge = nn.Sequential(nn.Linear(max(config.knowledge_dim, 1), 32), nn.ReLU(inplace=True))
            self.score_mlp = nn.Sequential(nn.Linear(config.head_hidden + 32, config.head_hidden), nn.ReLU(inplace=True),
                                           nn.Linear(config.head_hidden, 1))

        def head(self, roi: Any, rod: Any, geometry: Any, knowledge: Any) -> Any:
            """(N,) MOS-scale scores from flattened RoI (N, C*9), RoD (N, C*16), geometry (N, 6) and the
            knowledge features (N, knowledge_dim)."""
            region = self.region(torch.cat([roi, rod, geometry], dim=1))
            if knowledge.shape[1] == 0:  # the head without either knowledge: a constant input
                knowledge = knowledge.new_zeros(knowledge.shape[0], 1)
            return 3.0 + self.score_mlp(torch.cat([region, self.knowledge(knowledge)], dim=1)).squeeze(1)

    return Module()


class ClipCropping:
    """Prompt learners (CKE, AKE) and the cropping head with their config; `module` is the torch module.
    `attach(encoder)` gives it the frozen CLIP (a `ClipEncoder`) whose text tower encodes the prompts."""

    def __init__(self, config: ClipCroppingConfig, seed: int = 0, module: Any = None) -> None:
        torch = _require_torch()
        self.config = config
        if module is None:
            torch.manual_seed(seed)
            module = _build_module(config)
        self.module = module.eval()
        self.encoder: Any = None
        self._static: dict[str, Any] = {}

    # -- the CLIP ----------------------------------------------------------------------------------
    def attach(self, encoder: Any) -> "ClipCropping":
        if int(encoder.embed_dim) != self.config.embed_dim or \
                int(encoder.vision_config.hidden_size) != self.config.token_dim:
            raise ModelNotAvailableError(
                f"this CLIPCropping head was trained on a CLIP of width {self.config.embed_dim} (vision "
                f"{self.config.token_dim}), not {encoder.loaded.spec.source} ({encoder.embed_dim}); train one for it "
                "with `intentcrop train clipcropping --clip PATH`")
        # the prompts are stored as token ids: another CLIP's tokenizer (or vocabulary size) would read other words
        here = config_for(encoder, n_ctx=self.config.n_ctx)
        vocab = int(encoder.loaded.model.config.text_config.vocab_size)
        ids = [i for s in self.config.composition_ids for i in s] + \
            [i for pair in self.config.aesthetic_ids for s in pair for i in s] + [self.config.bos_id, self.config.eos_id]
        if max(ids) >= vocab or (here.composition_ids, here.aesthetic_ids, here.bos_id, here.eos_id) != \
                (self.config.composition_ids, self.config.aesthetic_ids, self.config.bos_id, self.config.eos_id):
            raise ModelNotAvailableError(
                f"this CLIPCropping head was trained on another CLIP ({self.config.clip or 'unknown'}): "
                f"{encoder.loaded.spec.source} tokenizes its prompts differently; give the CLIP it was trained on, "
                "or train one for this CLIP with `intentcrop train clipcropping --clip PATH`")
        self.encoder = encoder
        self._static = {}
        for p in encoder.loaded.model.parameters():  # frozen: only the prompt learners and the head learn
            p.requires_grad_(False)
        return self

    def _prompt_tokens(self, sequences: list[list[int]]) -> tuple[Any, Any, Any]:
        """(P, L) padded ids of "[SOS] ctx.. words [EOS]" (the ctx slots hold [SOS]: replaced later), and each
        prompt's EOS position."""
        torch = _require_torch()
        c = self.config
        rows = [[c.bos_id] * (1 + c.n_ctx) + list(s) + [c.eos_id] for s in sequences]
        length = max(len(r) for r in rows)
        ids = torch.tensor([r + [c.eos_id] * (length - len(r)) for r in rows], dtype=torch.long)
        eos = torch.tensor([len(r) - 1 for r in rows], dtype=torch.long)
        return ids, eos, length

    def _static_embeds(self, which: str) -> tuple[Any, Any]:
        """The frozen token embeddings of a learner's prompts (P, L, W) and their EOS positions, once."""
        if which not in self._static:
            torch = _require_torch()
            seqs = self.config.composition_ids if which == "cke" else \
                [words for pair in self.config.aesthetic_ids for words in pair]
            ids, eos, _ = self._prompt_tokens(seqs)
            model = self.encoder.loaded.model
            with torch.no_grad():
                embeds = model.text_model.embeddings.token_embedding(ids.to(self.encoder.loaded.device))
            self._static[which] = (embeds.float(), eos.to(embeds.device))
        return self._static[which]

    def class_embeddings(self, which: str, image_embeds: Any) -> Any:
        """(B, P, D) unit-norm prompt embeddings conditioned on unit-norm image embeddings (B, D): "cke" gives
        the 5 composition classes, "ake" the 5 elements' good and bad prompts (good, bad, good, bad, ...)."""
        torch = _require_torch()
        if self.encoder is None:
            raise RuntimeError("attach a ClipEncoder first (ClipCropping.attach)")
        learner = getattr(self.module, which)
        static, eos = self._static_embeds(which)
        ctx = learner.context(image_embeds.float())  # (B, n, W)
        b, p, n = ctx.shape[0], static.shape[0], self.config.n_ctx
        embeds = static[None].expand(b, -1, -1, -1)
        embeds = torch.cat([embeds[:, :, :1], ctx[:, None].expand(-1, p, -1, -1), embeds[:, :, 1 + n:]], dim=2)
        model = self.encoder.loaded.model
        out = encode_prompt_embeddings(model, embeds.reshape(b * p, embeds.shape[2], -1).to(self.encoder.loaded.dtype),
                                       eos.repeat(b)).float().reshape(b, p, -1)
        return out / out.norm(dim=-1, keepdim=True).clamp_min(1e-12)

    @property
    def logit_scale(self) -> float:
        return float(self.encoder.logit_scale)

    def knowledge_logits(self, image_embeds: Any) -> tuple[Any, Any]:
        """Composition logits (B, 5) and aesthetic logits (B, 5, 2: good, bad) of unit-norm embeddings (B, D)."""
        e = image_embeds.float()
        cke = self.class_embeddings("cke", e)
        ake = self.class_embeddings("ake", e)
        scale = self.logit_scale
        comp = scale * torch_einsum(e, cke)
        aest = (scale * torch_einsum(e, ake)).reshape(e.shape[0], len(AESTHETIC_ELEMENTS), 2)
        return comp, aest

    def knowledge(self, image_embeds: Any) -> tuple[Any, Any]:
        """(composition probabilities (B, 5), each aesthetic element's good-side probability (B, 5))."""
        comp, aest = self.knowledge_logits(image_embeds)
        return comp.softmax(-1), aest.softmax(-1)[..., 0]

    def knowledge_features(self, comp: Any, good: Any) -> Any:
        """The head's knowledge input (N, knowledge_dim): the enabled halves (the ablations drop one)."""
        torch = _require_torch()
        parts = ([comp] if self.config.use_cke else []) + ([good] if self.config.use_ake else [])
        return torch.cat(parts, dim=1) if parts else comp.new_zeros(comp.shape[0], 0)

    # -- crops ------------------------------------------------------------------------------------
    def crop_features(self, image: Any, xyxy: np.ndarray) -> dict[str, Any]:
        """What the head reads of one image's boxes (original pixels), from one pooled pass of the CLIP: RoI and
        RoD of its post-layernormed last-layer patch tokens (N, C*9), (N, C*16), geometry (N, 6), each crop's
        unit-norm pooled embedding (N, D) and the whole image's (D,). Plain tensors (no autograd history)."""
        torch = _require_torch()
        enc = self.encoder
        width, height = image.size
        xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
        state = enc.image_state(image)
        grid = enc.token_grid(state)  # (C, gh, gw)
        with torch.inference_mode():
            grid = enc.loaded.model.vision_model.post_layernorm(grid.permute(1, 2, 0)).permute(2, 0, 1).float()
        whole = np.array([[0, 0, width, height]], dtype=np.float64)
        embeds = enc.pool_crops(state, np.vstack([whole, xyxy]), width, height)
        grid = grid.clone()  # out of inference mode: training reads it
        boxes = torch.as_tensor(xyxy / [width, height, width, height], dtype=torch.float32).clamp(0, 1)
        roi = roi_align(grid, boxes).flatten(1)
        rod = rod_align(grid, boxes).flatten(1)
        return {"roi": roi, "rod": rod, "geometry": box_geometry(boxes, width / height),
                "embeds": torch.as_tensor(embeds[1:]), "image": torch.as_tensor(embeds[0])}

    def score_features(self, feats: dict[str, Any], knowledge: Any) -> Any:
        return self.module.head(feats["roi"], feats["rod"], feats["geometry"], knowledge)

    def predict(self, image: Any, xyxy: np.ndarray) -> dict[str, np.ndarray]:
        """{'score': (N,) MOS-scale, 'composition': (N, 5), 'aesthetics': (N, 5) good-side probabilities} of
        boxes (N, 4) in original pixels."""
        torch = _require_torch()
        feats = self.crop_features(image, xyxy)
        with torch.no_grad():
            comp, good = self.knowledge(feats["embeds"])
            score = self.score_features(feats, self.knowledge_features(comp, good))
        return {"score": score.double().numpy(), "composition": comp.double().numpy(), "aesthetics": good.double().numpy()}

    # -- folders ----------------------------------------------------------------------------------
    def save_pretrained(self, folder: "str | os.PathLike") -> Path:
        from intentcrop.models.loading import save_model_folder

        folder = Path(folder)
        config = self.config
        if config.clip:
            try:
                config.clip_relative = os.path.relpath(Path(config.clip).resolve(), folder.resolve())
            except ValueError:  # another drive (Windows): only the path as given
                config.clip_relative = None
        return save_model_folder(folder, config.to_dict(), self.module)

    @classmethod
    def from_pretrained(cls, folder: "str | os.PathLike", device: str | None = None, dtype: Any = None
                        ) -> "ClipCropping":
        from intentcrop.models.loading import load_folder_weights, select_device

        folder = Path(folder)
        config_path = folder / "config.json"
        if not config_path.is_file():
            raise ModelNotAvailableError(f"{folder}: no config.json here; train a head with `intentcrop train "
                                         "clipcropping`")
        data = json.loads(config_path.read_text())
        if data.get("model_type") != MODEL_TYPE:
            raise ModelNotAvailableError(f"{folder}: model_type {data.get('model_type')!r} is not {MODEL_TYPE!r}")
        model = cls(ClipCroppingConfig.from_dict(data))
        load_folder_weights(folder, model.module)
        # the head stays float32 (it is tiny); the CLIP it attaches to takes the device and dtype
        model.module.to(select_device(device))
        model.folder = folder
        return model

    def trained_clip(self, folder: "str | os.PathLike | None" = None) -> str | None:
        """The CLIP this head was trained on, as a path that exists (relative to its folder first), else as
        recorded."""
        folder = Path(folder or getattr(self, "folder", "."))
        if self.config.clip_relative and (folder / self.config.clip_relative).exists():
            return str((folder / self.config.clip_relative).resolve())
        return self.config.clip


def torch_einsum(e: Any, classes: Any) -> Any:
    """(B, D) x (B, P, D) -> (B, P) cosine similarities (both unit norm)."""
    torch = _require_torch()
    return torch.einsum("bd,bpd->bp", e, classes)


def element_names() -> tuple[tuple[str, ...], tuple[str, ...]]:
    return tuple(e.name for e in COMPOSITION_ELEMENTS), tuple(e.name for e in AESTHETIC_ELEMENTS)


__all__ = ["AESTHETIC_ELEMENTS", "ATTRIBUTE_SOURCES", "COMPOSITION_ELEMENTS", "COMPOSITION_LABELS", "ClipCropping",
           "ClipCroppingConfig", "KnowledgeElement", "box_geometry", "config_for", "element_names",
           "encode_prompt_embeddings", "rod_align", "roi_align"]
