"""Vision-language model clients behind one small interface: `VLMClient.complete(parts) -> str`.

`parts` is a prompt as intentcrop.propose.cropper_prompts builds it: text strings and PIL images in reading
order, sent as one user message. Two backends:

* `OpenAIChatClient`: any OpenAI-compatible /v1/chat/completions server -- OpenAI, Gemini's OpenAI-compatible
  endpoint, vLLM, Ollama, llama.cpp server, LM Studio, `transformers serve` -- with each image as a base64 PNG
  data URL. Base URL, model and key from arguments or the environment (INTENTCROP_VLM_URL, INTENTCROP_VLM_MODEL,
  INTENTCROP_VLM_KEY, else OPENAI_API_KEY); a timeout per request, retries with exponential backoff on
  connection errors, 429 and 5xx (honouring Retry-After), and a process-wide limit on concurrent requests.
* `LocalVLMClient`: an in-process transformers image-text-to-text model (AutoModelForImageTextToText and its
  processor's chat template), loaded through intentcrop.models.loading (local folder or hub id, offline mode).

Every failure is a `VLMError` (an IntentCropError) whose message names what to set or what went wrong.
"""

from __future__ import annotations

import base64
import io
import json
import os
import random
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol, Sequence, Union

from PIL import Image

from intentcrop.errors import ModelNotAvailableError, StageFailedError

Part = Union[str, Image.Image]

ENV_URL = "INTENTCROP_VLM_URL"
ENV_MODEL = "INTENTCROP_VLM_MODEL"
ENV_KEY = "INTENTCROP_VLM_KEY"
ENV_KEY_FALLBACK = "OPENAI_API_KEY"
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_RETRIES = 3
DEFAULT_CONCURRENCY = 4
MAX_IMAGE_SIDE = 1024  # images are sent at most this long: a VLM sees a few hundred pixels; bytes cost time
RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class VLMError(StageFailedError):
    """A VLM could not be asked or did not answer: no server, no key, a refusal, a timeout, a bad reply."""


class VLMClient(Protocol):
    name: str

    def complete(self, parts: Sequence[Part], max_tokens: int = 128, temperature: float | None = None) -> str: ...


def to_messages(parts: Sequence[Part], image_url: "Any | None" = None) -> list[dict[str, Any]]:
    """One user message of content parts; images as {"type": "image_url", ...} when `image_url(image)` gives
    their URL, else as {"type": "image"} (a processor's chat template, with the images passed beside it)."""
    content: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, Image.Image):
            if image_url is None:
                content.append({"type": "image"})
            else:
                content.append({"type": "image_url", "image_url": {"url": image_url(part)}})
        elif isinstance(part, str):
            content.append({"type": "text", "text": part})
        else:
            raise VLMError(f"a prompt part must be text or a PIL image, not {type(part).__name__}")
    return [{"role": "user", "content": content}]


def data_url(image: Image.Image, max_side: int = MAX_IMAGE_SIDE) -> str:
    """The image as a base64 PNG data URL, shrunk to `max_side` on its long side."""
    image = image.convert("RGB")
    if max(image.size) > max_side:
        scale = max_side / max(image.size)
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


_LIMITS: dict[int, threading.BoundedSemaphore] = {}
_LIMITS_LOCK = threading.Lock()


def _limit(concurrency: int) -> threading.BoundedSemaphore:
    with _LIMITS_LOCK:
        if concurrency not in _LIMITS:
            _LIMITS[concurrency] = threading.BoundedSemaphore(concurrency)
        return _LIMITS[concurrency]


@dataclass
class OpenAIChatClient:
    """An OpenAI-compatible chat-completions endpoint (see the module docstring)."""

    base_url: str | None = None
    model: str | None = None
    api_key: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    retries: int = DEFAULT_RETRIES
    backoff_s: float = 0.5  # the first retry waits this long, doubling (with jitter) for each next one
    concurrency: int = DEFAULT_CONCURRENCY
    temperature: float | None = None

    def __post_init__(self) -> None:
        self.base_url = (self.base_url or os.environ.get(ENV_URL) or "").strip().rstrip("/")
        self.model = (self.model or os.environ.get(ENV_MODEL) or "").strip()
        if self.api_key is None:
            self.api_key = os.environ.get(ENV_KEY) or os.environ.get(ENV_KEY_FALLBACK)
        if not self.base_url:
            raise VLMError(f"no VLM server: give --vlm-url URL (e.g. https://api.openai.com/v1, or "
                           f"http://127.0.0.1:8000/v1 for a local server) or set {ENV_URL}")
        if not self.base_url.startswith(("http://", "https://")):
            raise VLMError(f"VLM URL {self.base_url!r} must start with http:// or https://")
        if not self.model:
            raise VLMError(f"no VLM model name: give --vlm-model NAME or set {ENV_MODEL}")
        if self.timeout_s <= 0 or self.retries < 0 or self.concurrency < 1:
            raise VLMError("VLM timeout must be > 0, retries >= 0 and concurrency >= 1")
        if not self.base_url.endswith("/v1") and "/v1/" not in self.base_url + "/":
            # most servers mount the API under /v1; a bare host is taken to mean that
            self.base_url += "/v1"

    @property
    def name(self) -> str:
        return f"{self.model} at {self.base_url}"

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def complete(self, parts: Sequence[Part], max_tokens: int = 128, temperature: float | None = None) -> str:
        try:
            import httpx
        except ImportError:
            raise VLMError("the OpenAI-compatible client needs httpx: pip install 'intentcrop[cropper]'") from None

        body: dict[str, Any] = {"model": self.model, "messages": to_messages(parts, data_url),
                                "max_tokens": int(max_tokens)}
        temperature = self.temperature if temperature is None else temperature
        if temperature is not None:
            body["temperature"] = float(temperature)
        url = f"{self.base_url}/chat/completions"
        last = "no attempt"
        with _limit(self.concurrency):
            for attempt in range(self.retries + 1):
                if attempt:
                    time.sleep(self._wait(attempt, last_retry_after))
                last_retry_after = None
                try:
                    response = httpx.post(url, json=body, headers=self._headers(), timeout=self.timeout_s)
                except httpx.TimeoutException:
                    last = f"no answer within {self.timeout_s:g} s (raise the timeout with --vlm-timeout)"
                    continue
                except httpx.HTTPError as exc:
                    last = f"cannot connect ({type(exc).__name__}: {exc})"
                    continue
                if response.status_code in (401, 403):
                    raise VLMError(f"{self.name} refused the key (HTTP {response.status_code}): set "
                                   f"{ENV_KEY} or {ENV_KEY_FALLBACK} to a valid key ({_error_text(response)})")
                if response.status_code in RETRY_STATUS:
                    last = f"HTTP {response.status_code} ({_error_text(response)})"
                    last_retry_after = response.headers.get("retry-after")
                    continue
                if response.status_code >= 400:
                    raise VLMError(f"{self.name} answered HTTP {response.status_code}: {_error_text(response)}")
                return _content(response, self.name)
        raise VLMError(f"{self.name}: {last}, after {self.retries + 1} attempt(s)")

    def _wait(self, attempt: int, retry_after: "str | None") -> float:
        if retry_after:
            try:
                return min(max(float(retry_after), 0.0), 30.0)
            except ValueError:
                pass
        return self.backoff_s * (2 ** (attempt - 1)) * (1 + 0.25 * random.random())


def _error_text(response: Any, limit: int = 200) -> str:
    try:
        data = response.json()
        message = data.get("error", data) if isinstance(data, dict) else data
        if isinstance(message, dict):
            message = message.get("message", message)
        text = str(message)
    except (ValueError, AttributeError):
        text = response.text
    text = " ".join(text.split())
    return text[:limit] or "no message"


def _content(response: Any, name: str) -> str:
    try:
        data = response.json()
    except (ValueError, json.JSONDecodeError):
        raise VLMError(f"{name} answered with something that is not JSON: {response.text[:120]!r}") from None
    try:
        content = data["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise VLMError(f"{name} answered JSON without choices[0].message.content: {str(data)[:160]}") from None
    if isinstance(content, list):  # some servers answer with content parts
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    if not isinstance(content, str):
        raise VLMError(f"{name} answered a non-text message content ({type(content).__name__})")
    return content


class LocalVLMClient:
    """An in-process transformers image-text-to-text model (AutoModelForImageTextToText + its processor)."""

    def __init__(self, model: "str | os.PathLike", device: str | None = None, max_image_side: int = MAX_IMAGE_SIDE,
                 dtype: Any = None):
        from intentcrop.models.loading import load_vlm

        self.loaded = load_vlm(model, device=device, dtype=dtype)
        self.name = f"local {self.loaded.spec.describe()}"
        self.max_image_side = max_image_side
        self._lock = threading.Lock()  # generate() on one model from several threads at once is not safe

    def complete(self, parts: Sequence[Part], max_tokens: int = 128, temperature: float | None = None) -> str:
        import torch

        processor, model = self.loaded.processor, self.loaded.model
        images = [p.convert("RGB") for p in parts if isinstance(p, Image.Image)]
        try:
            text = processor.apply_chat_template(to_messages(parts), add_generation_prompt=True, tokenize=False)
            inputs = processor(text=[text], images=[images] if images else None, return_tensors="pt")
        except Exception as exc:  # noqa: BLE001 - a processor's own errors vary by architecture
            raise VLMError(f"{self.name}: its processor could not read the prompt ({type(exc).__name__}: {exc})")
        inputs = inputs.to(model.device)
        with self._lock, torch.inference_mode():
            sample = {"do_sample": True, "temperature": float(temperature)} if temperature else {"do_sample": False}
            out = model.generate(**inputs, max_new_tokens=int(max_tokens), **sample)
        return processor.decode(out[0][inputs["input_ids"].shape[1]:], skip_special_tokens=True)


def make_client(url: str | None = None, model: str | None = None, api_key: str | None = None,
                local_model: "str | os.PathLike | None" = None, timeout_s: float | None = None,
                retries: int | None = None, device: str | None = None, dtype: Any = None) -> VLMClient:
    """A local model when `local_model` is given (on `device`, in `dtype`), else the OpenAI-compatible endpoint
    (arguments or env)."""
    if local_model is not None:
        return LocalVLMClient(local_model, device=device, dtype=dtype)
    kwargs: dict[str, Any] = {}
    if timeout_s is not None:
        kwargs["timeout_s"] = float(timeout_s)
    if retries is not None:
        kwargs["retries"] = int(retries)
    return OpenAIChatClient(url, model, api_key, **kwargs)


__all__ = ["VLMClient", "VLMError", "OpenAIChatClient", "LocalVLMClient", "make_client", "to_messages",
           "data_url", "ModelNotAvailableError"]
