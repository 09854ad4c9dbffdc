"""A tiny vision-language model for Cropper, trained on the generated world by our own code.

Architecture: transformers `LlavaForConditionalGeneration` (a CLIP vision tower, a projector, a Llama decoder),
the standard image-text-to-text layout that `AutoModelForImageTextToText`, `transformers serve`, vLLM and
llama.cpp know. Its processor is a `LlavaProcessor` (CLIP image processor + a word/character tokenizer built
here, no download) with a chat template that renders OpenAI-style content parts, so the saved folder is served
by `transformers serve FOLDER` and read through /v1/chat/completions like any hosted model.

Training data: Cropper-format prompts (intentcrop.propose.cropper_prompts) over world scenes, with 0..S
in-context examples, answered with the best crop as a tuple on the 1..1000 grid.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

IMAGE_TOKEN = "<image>"
SPECIALS = ["<pad>", "<unk>", "<s>", "</s>", IMAGE_TOKEN]
# words: a token each; anything else: one character per token (digits above all, so numbers are spelled out)
PRETOKEN = r"<image>|<s>|</s>|[A-Za-z]+|\s|."
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'user' %}USER: {% elif message['role'] == 'assistant' %}ASSISTANT: "
    "{% else %}SYSTEM: {% endif %}"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}<image>\n"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}\n{% endif %}{% endfor %}{% endif %}"
    "{% if message['role'] == 'assistant' %}{{ eos_token }}{% endif %}\n{% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT: {% endif %}"
)


@dataclass
class TinyVLMConfig:
    # small enough that 2 shared CPU cores train it in ~30 minutes (docs/experiments.md, Cropper)
    image_size: int = 80
    patch_size: int = 16
    vision_width: int = 64
    vision_layers: int = 2
    text_width: int = 96
    text_layers: int = 2
    text_heads: int = 4
    max_positions: int = 2048


def vocabulary(extra_words: "list[str] | None" = None) -> list[str]:
    """Specials, printable ASCII characters, and the words of Cropper's prompts and the world's texts."""
    from intentcrop.propose import cropper_prompts as P
    from intentcrop.world import vocabulary as V

    text = " ".join([P.TASK, P.EXAMPLES_INTRO, P.SUBJECT, P.RATIO, P.TEXT, P.QUERY, P.REFINE_CANDIDATE,
                     P.REFINE_REQUEST, "USER ASSISTANT SYSTEM"])
    for name in dir(V):
        if name.startswith("_"):
            continue
        value = getattr(V, name)
        if isinstance(value, (list, tuple, dict)):
            for item in (value if not isinstance(value, dict) else list(value) + list(value.values())):
                if isinstance(item, str):
                    text += " " + item
    words = sorted(set(re.findall(r"[A-Za-z]+", text + " " + " ".join(extra_words or []))))
    chars = [chr(c) for c in range(32, 127)] + ["\n"]
    return SPECIALS + [c for c in chars if c not in SPECIALS] + [w for w in words if len(w) > 1]


def build_tokenizer(vocab: "list[str] | None" = None) -> Any:
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = vocab or vocabulary()
    tok = Tokenizer(models.WordLevel({t: i for i, t in enumerate(vocab)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(PRETOKEN), behavior="isolated")
    tok.decoder = decoders.Fuse()  # spaces are tokens of their own: decoding is concatenation
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                   unk_token="<unk>", extra_special_tokens={"image_token": IMAGE_TOKEN},
                                   chat_template=CHAT_TEMPLATE)


def build_processor(config: TinyVLMConfig, tokenizer: Any = None) -> Any:
    from transformers import CLIPImageProcessor, LlavaProcessor

    image_processor = CLIPImageProcessor(
        size={"height": config.image_size, "width": config.image_size}, do_center_crop=False,
        crop_size={"height": config.image_size, "width": config.image_size},
        image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])
    return LlavaProcessor(image_processor=image_processor, tokenizer=tokenizer or build_tokenizer(),
                          patch_size=config.patch_size, vision_feature_select_strategy="default",
                          chat_template=CHAT_TEMPLATE, image_token=IMAGE_TOKEN, num_additional_image_tokens=1)


def build_model(config: TinyVLMConfig, tokenizer: Any, seed: int = 0) -> Any:
    import torch
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaForConditionalGeneration

    torch.manual_seed(seed)
    vision = CLIPVisionConfig(hidden_size=config.vision_width, intermediate_size=config.vision_width * 4,
                              num_hidden_layers=config.vision_layers, num_attention_heads=4,
                              image_size=config.image_size, patch_size=config.patch_size, projection_dim=64)
    text = LlamaConfig(vocab_size=len(tokenizer), hidden_size=config.text_width,
                       intermediate_size=config.text_width * 3, num_hidden_layers=config.text_layers,
                       num_attention_heads=config.text_heads, num_key_value_heads=config.text_heads,
                       max_position_embeddings=config.max_positions, tie_word_embeddings=True,
                       bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                       pad_token_id=tokenizer.pad_token_id)
    llava = LlavaConfig(vision_config=vision, text_config=text,
                        image_token_id=tokenizer.convert_tokens_to_ids(IMAGE_TOKEN),
                        vision_feature_select_strategy="default", vision_feature_layer=-1,
                        projector_hidden_act="gelu", image_seq_length=(config.image_size // config.patch_size) ** 2,
                        tie_word_embeddings=True)
    model = LlavaForConditionalGeneration(llava)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    # sampling by default: a server's temperature > 0 then samples (transformers serve turns sampling off for a
    # temperature of 0, never on), and Cropper asks greedily once and sampled R - 1 times per round
    model.generation_config.do_sample = True
    model.generation_config.max_new_tokens = 48
    return model


def save(model: Any, processor: Any, folder: "str | Path", training: "dict | None" = None) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    if training is not None:
        (folder / "training.json").write_text(json.dumps(training, indent=2) + "\n")
    return folder


def build_untrained(folder: "str | Path", config: "TinyVLMConfig | None" = None, seed: int = 0) -> Path:
    """A randomly initialised model with its processor, saved (for the serving check and for tests)."""
    config = config or TinyVLMConfig()
    tokenizer = build_tokenizer()
    processor = build_processor(config, tokenizer)
    return save(build_model(config, tokenizer, seed), processor, folder, {"config": asdict(config), "steps": 0})


# -- training on the world ----------------------------------------------------------------------------------
TRAIN_SEED_OFFSET = 3_000_000_000  # scenes apart from the benchmark's, the tests' and the other models'
CROP_MARGIN = 0.15  # the answer: the targets' tight box grown by this share of its size per side


def target_crop(scene: Any, targets: "list[int]", margin: float = CROP_MARGIN) -> Any:
    """The crop a world text asks for: the targets' tight box with room around it, inside the scene."""
    from intentcrop.world.referring import tight_box

    box = tight_box(scene, targets)
    return box.expand(margin).clip(scene.width, scene.height)


def world_pool(n_scenes: int, first_seed: int) -> list[Any]:
    """World cases (scene + referral) from scenes first_seed + i: every referral of each scene."""
    import numpy as np

    from intentcrop.world.referring import WorldCase, referrals
    from intentcrop.world.scenes import generate_scene

    cases = []
    for i in range(n_scenes):
        seed = first_seed + i
        rng = np.random.default_rng(seed)
        scene = generate_scene(seed, n_objects=int(rng.integers(3, 9)))
        cases += [WorldCase(scene, r) for r in referrals(scene)]
    return cases


def _example(case: Any, rng: Any) -> Any:
    from intentcrop.propose.cropper_prompts import Example

    return Example(image=case.scene.image, crops=[target_crop(case.scene, case.targets)], scores=[1.0],
                   text=case.referral.text)


def training_sample(rng: Any, pool: list[Any], max_examples: int, refine_share: float = 0.3) -> tuple[list, str]:
    """One Cropper-format prompt over a random world case with 0..max_examples in-context examples (cases
    sharing a word of its text first, as text-conditioned retrieval would pick them) and, for `refine_share`
    of the samples, a refinement round of jittered candidates scored by their IoU with the answer."""
    from intentcrop.core.box import Box
    from intentcrop.propose.cropper_prompts import Query, format_tuple, initial_prompt, refinement_prompt

    case = pool[int(rng.integers(len(pool)))]
    words = set(case.referral.text.split()) - {"the", "and", "two", "three"}
    n_examples = int(rng.integers(0, max_examples + 1))
    near = [c for c in pool if c is not case and words & set(c.referral.text.split())]
    chosen = []
    for _ in range(n_examples):
        source = near if near and rng.random() < 0.8 else pool
        chosen.append(source[int(rng.integers(len(source)))])
    query = Query(image=case.scene.image, text=case.referral.text, examples=[_example(c, rng) for c in chosen])
    answer_box = target_crop(case.scene, case.targets)
    w, h = case.scene.width, case.scene.height
    if rng.random() < refine_share:
        crops, scores = [], []
        for _ in range(int(rng.integers(1, 4))):
            jitter = rng.normal(0, 0.12, 4) * [w, h, w, h]
            x1, y1, x2, y2 = np.asarray(answer_box.to_xyxy()) + jitter
            box = Box(min(x1, x2), min(y1, y2), max(x1, x2) + 2, max(y1, y2) + 2).clip(w, h)
            if box.width < 2 or box.height < 2:
                continue
            crops.append(box)
            scores.append(box.iou(answer_box))
        if crops:
            return refinement_prompt(query, crops, scores), format_tuple(answer_box, 1.0, w, h)
    return initial_prompt(query), format_tuple(answer_box, 1.0, w, h)


def encode_sample(processor: Any, parts: list, answer: str) -> dict[str, Any]:
    """input_ids / attention / pixel_values / labels of one sample: the loss is on the answer tokens only."""
    import torch

    from intentcrop.models.vlm import to_messages

    images = [p.convert("RGB") for p in parts if not isinstance(p, str)]
    prompt = processor.apply_chat_template(to_messages(parts), add_generation_prompt=True, tokenize=False)
    enc = processor(text=[prompt], images=[images] if images else None, return_tensors="pt")
    tok = processor.tokenizer
    answer_ids = tok(answer, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    ids = torch.cat([enc["input_ids"][0], torch.tensor(answer_ids)])
    labels = torch.cat([torch.full_like(enc["input_ids"][0], -100), torch.tensor(answer_ids)])
    return {"input_ids": ids, "labels": labels, "pixel_values": enc.get("pixel_values")}


def collate(samples: list[dict[str, Any]], pad_id: int) -> dict[str, Any]:
    import torch

    n = max(len(s["input_ids"]) for s in samples)
    ids = torch.full((len(samples), n), pad_id, dtype=torch.long)
    labels = torch.full((len(samples), n), -100, dtype=torch.long)
    attention = torch.zeros((len(samples), n), dtype=torch.long)
    for i, s in enumerate(samples):  # left padding, as generation uses
        k = len(s["input_ids"])
        ids[i, n - k:] = s["input_ids"]
        labels[i, n - k:] = s["labels"]
        attention[i, n - k:] = 1
    pixels = [s["pixel_values"] for s in samples if s["pixel_values"] is not None]
    out = {"input_ids": ids, "labels": labels, "attention_mask": attention}
    if pixels:
        out["pixel_values"] = torch.cat(pixels)
    return out


def train(out: "str | Path", minutes: float = 25.0, max_examples: int = 2, batch_size: int = 8,
          lr: float = 2e-3, n_scenes: int = 400, seed: int = 0, config: "TinyVLMConfig | None" = None,
          log: Any = print, init: "str | Path | None" = None) -> Path:
    """Train the tiny VLM for `minutes` of wall time on world prompts, then save it (model, processor, chat
    template, training.json) to `out`."""
    import time

    import numpy as np
    import torch

    config = config or TinyVLMConfig()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    previous: dict[str, Any] = {}
    if init is not None:  # continue a saved model's training
        from transformers import AutoProcessor, LlavaForConditionalGeneration

        processor = AutoProcessor.from_pretrained(init)
        tokenizer = processor.tokenizer
        model = LlavaForConditionalGeneration.from_pretrained(init)
        previous = json.loads((Path(init) / "training.json").read_text())
    else:
        tokenizer = build_tokenizer()
        processor = build_processor(config, tokenizer)
        model = build_model(config, tokenizer, seed)
    pool = world_pool(n_scenes, TRAIN_SEED_OFFSET + seed * 100_000)
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    start = time.perf_counter()
    deadline = start + minutes * 60
    step, losses = 0, []
    model.train()
    while time.perf_counter() < deadline:
        batch = collate([encode_sample(processor, *training_sample(rng, pool, max_examples))
                         for _ in range(batch_size)], tokenizer.pad_token_id)
        frac = min((time.perf_counter() - start) / (minutes * 60), 1.0)
        for group in optimiser.param_groups:  # linear warm-up over the first 5 %, cosine decay after
            group["lr"] = lr * min(1.0, frac / 0.05) * 0.5 * (1 + np.cos(np.pi * frac))
        loss = model(**batch).loss
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        losses.append(float(loss))
        step += 1
        if step % 25 == 0:
            log(f"step {step} loss {np.mean(losses[-25:]):.3f} ({time.perf_counter() - start:.0f} s)")
    model.eval()
    if previous:
        training_before = {k: previous[k] for k in ("steps", "seconds", "lr", "max_examples") if k in previous}
    training = {"config": asdict(config), "steps": step + previous.get("steps", 0), "batch_size": batch_size, "lr": lr,
                "max_examples": max_examples, "n_scenes": n_scenes, "cases": len(pool), "seed": seed,
                "seconds": round(time.perf_counter() - start, 1),
                "final_loss": round(float(np.mean(losses[-50:])), 4) if losses else None,
                "parameters": sum(p.numel() for p in model.parameters())}
    if previous:
        training["phases"] = previous.get("phases", [training_before]) + [
            {"steps": step, "seconds": training["seconds"], "lr": lr, "max_examples": max_examples}]
        training["seconds"] = round(training["seconds"] + previous.get("seconds", 0), 1)
    return save(model, processor, out, training)


def main(argv: "list[str] | None" = None) -> int:
    """python -m intentcrop.train.cropper_vlm --out fixtures/world/vlm --minutes 30"""
    import argparse

    import torch

    ap = argparse.ArgumentParser(description="Train Cropper's tiny world VLM (LlavaForConditionalGeneration).")
    ap.add_argument("--out", required=True)
    ap.add_argument("--minutes", type=float, default=25.0)
    ap.add_argument("--max-examples", type=int, default=2, help="in-context examples per prompt: 0..this")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--scenes", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--init", help="continue training this saved model folder")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    folder = train(args.out, minutes=args.minutes, max_examples=args.max_examples, batch_size=args.batch_size,
                   lr=args.lr, n_scenes=args.scenes, seed=args.seed, log=lambda m: print(m, flush=True),
                   init=args.init)
    print(f"saved {folder}: {json.loads((folder / 'training.json').read_text())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
