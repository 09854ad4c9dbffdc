"""FastAPI app. A bad request gets a 4xx with a message naming the problem; it never takes the process down.

Under load (every bound is a `create_app` argument and an `intentcrop serve` flag):

* upload size -- a `Content-Length` over `max_upload_bytes` is answered 413 before a byte of the body is read;
  a chunked body is counted as it streams and refused with 413 the moment it passes the cap (nothing is spooled
  to disk: the body is held in memory, at most the cap, only for the requests admitted below);
* body timeout -- a body not complete `body_timeout` seconds after the request began is answered 408 (a
  stalled or trickling client cannot hold a connection open without limit);
* admission -- at most `max_concurrent` requests are cropped at once and `max_queue` more wait (their bodies
  included); one more is answered 503 with `Retry-After` at once, before its body is read;
* processing timeout -- a crop not done `request_timeout` seconds after it started is answered 504; its thread
  runs to the end and keeps its slot meanwhile, so the queue sees the true load;
* cropping runs in a thread pool, so the event loop stays free for the health check and the refusals above.
  The detectors and models it uses are safe to share between threads (one face cascade per thread, backends and
  encoders made once under a lock, tokenizer calls serialised).
"""


import asyncio
import base64
import json
import re
import threading
import time
import warnings
import weakref
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from intentcrop import __version__, defaults
from intentcrop.core.intent import check_text, parse_size
from intentcrop.errors import ImageLoadError, IntentCropError, InvalidIntentError, ModelNotAvailableError

MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # a photo larger than this is not a photo
MAX_K = 20  # crops per ratio one request may ask for (k, or the option k): a UI shows a handful
# return_images: the crops sent back hold at most this many pixels together (40 MP: e.g. 20 crops of 2 MP, or one
# 6000x6000 size); each is resized, encoded and base64-ed in memory, so a larger request (size=9999x9999 at k=20)
# would cost minutes and gigabytes. Refused with a 400 before any work when size x k says so, else before encoding.
MAX_RETURNED_PIXELS = 40_000_000


def _returned_pixels(result: Any, image_size: tuple[int, int]) -> int:
    """How many pixels `result.crop(image)` has: the exact output size, else the crop box within the image."""
    if result.output_size is not None:
        return int(result.output_size[0]) * int(result.output_size[1])
    x1, y1, x2, y2 = result.box.clip(*image_size).as_int_tuple()
    return max(0, x2 - x1) * max(0, y2 - y1)


MAX_CONCURRENT = 2  # crops at once: cropping is CPU-bound, more parallel work than cores only adds memory
MAX_QUEUE = 16  # requests admitted to wait for a slot (bodies included); one more gets a 503 with Retry-After
BODY_TIMEOUT = 30.0  # seconds from the request's start to its body's last byte, else 408
REQUEST_TIMEOUT = 120.0  # seconds one crop may run once it has a slot, else 504
RETRY_AFTER = 1  # seconds, the Retry-After of a 503 for a full queue


async def _send_error(send: Any, status: int, detail: str, headers: tuple = ()) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close"), *headers]})
    await send({"type": "http.response.body", "body": body})


class RequestLimits:
    """Pure ASGI middleware, in front of FastAPI's form parsing: for every request that carries a body it
    admits at most `max_admitted` at once (else 503 + Retry-After, body unread), refuses a `Content-Length` over
    `max_body_bytes` (413, body unread), reads the body counting bytes (413 the moment a chunked body passes the
    cap) within `body_timeout` seconds of the request's start (else 408), and hands the app the whole body."""

    def __init__(self, app: Any, max_body_bytes: int, body_timeout: float, max_admitted: int,
                 retry_after: int = RETRY_AFTER) -> None:
        self.app, self.max_body_bytes, self.body_timeout = app, int(max_body_bytes), float(body_timeout)
        self.max_admitted, self.retry_after = int(max_admitted), int(retry_after)
        self.admitted = 0
        self._lock = threading.Lock()  # one loop in uvicorn; a TestClient may call from several threads

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                await _send_error(send, 400, f"Content-Length {length[:40].decode('latin-1')!r}: not a number")
                return
            if declared > self.max_body_bytes:
                await _send_error(send, 413, f"request body of {declared} bytes: larger than the "
                                  f"{self.max_body_bytes} bytes this service accepts")
                return
        with self._lock:
            full = self.admitted >= self.max_admitted
            if not full:
                self.admitted += 1
        if full:
            await _send_error(send, 503, f"busy: {self.max_admitted} requests are being cropped or waiting; "
                              f"retry in {self.retry_after} s", ((b"retry-after", str(self.retry_after).encode()),))
            return
        try:
            deadline = time.monotonic() + self.body_timeout
            chunks, size, more = [], 0, True
            while more:
                try:
                    message = await asyncio.wait_for(receive(), max(0.0, deadline - time.monotonic()))
                except (asyncio.TimeoutError, TimeoutError):
                    await _send_error(send, 408, f"the request body did not arrive within {self.body_timeout:g} s")
                    return
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self.max_body_bytes:
                    await _send_error(send, 413, f"request body: larger than the {self.max_body_bytes} bytes "
                                      "this service accepts")
                    return
                if chunk:
                    chunks.append(chunk)
                more = message.get("more_body", False)
            chunks.reverse()  # handed on as they came (no joined copy), each let go once the app has it

            replayed = False

            async def replay() -> dict:
                nonlocal replayed
                if not replayed:
                    body = chunks.pop() if chunks else b""
                    replayed = not chunks
                    return {"type": "http.request", "body": body, "more_body": not replayed}
                return await receive()  # after the body: the disconnect, when it comes

            await self.app(scope, replay, send)
        finally:
            with self._lock:
                self.admitted -= 1


IMAGE_FORMATS = {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}
MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif")
STATIC_DIR = Path(__file__).with_name("static")


def _wanted_image_format(accept: str | None) -> str | None:
    """The image format an `Accept` header asks for before JSON (None: JSON). `image/*` alone gives JPEG."""
    for part in (accept or "").split(","):
        media = part.split(";", 1)[0].strip().lower()
        if media in ("application/json", "*/*", "application/*"):
            return None
        if media.startswith("image/"):
            return {"image/png": "PNG", "image/webp": "WEBP"}.get(media, "JPEG")
    return None


def resolve_under(root: Path, relative: str) -> Path:
    """`relative` inside the folder `root`, or InvalidIntentError: no absolute path, no `..`, no symlink that
    leads out of the folder (the resolved path must lie in the resolved root), only image files."""
    if not relative or relative.startswith(("/", "\\")) or "\x00" in relative:
        raise InvalidIntentError(f"path {relative[:200]!r}: give a path inside the image folder")
    parts = relative.replace("\\", "/").split("/")
    if any(p in ("..", "") for p in parts[:-1]) or parts[-1] in ("..", "."):
        raise InvalidIntentError(f"path {relative[:200]!r}: '..' and empty parts are refused")
    base = root.resolve()
    target = (base / relative).resolve()
    if not target.is_relative_to(base):
        raise InvalidIntentError(f"path {relative[:200]!r}: outside the image folder")
    if target.suffix.lower() not in IMAGE_SUFFIXES:
        raise InvalidIntentError(f"path {relative[:200]!r}: not an image file name ({', '.join(IMAGE_SUFFIXES)})")
    if not target.is_file():
        raise FileNotFoundError(relative)
    return target


class ServiceState:
    """What /ready reports: the models the service was started with, and whether they are loaded."""

    def __init__(self, models: list[str], method: str | None, device: str | None) -> None:
        self.models, self.method, self.device = models, method, device
        self.ready = not models  # without --model nothing is loaded up front: ready at once
        self.error: str | None = None
        self._usable: dict[str, list[str]] = {}

    def warm_up(self) -> None:
        """Load the models once (one small text crop), so that the first request does not pay for it."""
        import intentcrop
        from PIL import Image

        try:
            usable = self.models_for(self.method or "vlm")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "not found" on a blank picture: expected
                intentcrop.crop(Image.new("RGB", (96, 96), (120, 160, 200)), text="a red circle", k=1,
                                method=self.method or "vlm", device=self.device,
                                model=(usable if len(usable) > 1 else usable[0]) if usable else None)
            self.ready = True
        except IntentCropError as exc:
            self.error = str(exc)
        except Exception as exc:  # noqa: BLE001 -- a broken model folder: say so in /ready, keep serving the rest
            self.error = f"{type(exc).__name__}: {exc}"

    def models_for(self, method: str) -> list[str]:
        """The service's models that `method` uses (the free-form method uses none of the vision-language ones:
        a text crop and a plain crop go to one service)."""
        if method not in self._usable:
            from intentcrop.models.routing import model_overrides
            from intentcrop.pipeline import PIPELINE_CONFIGS

            usable = []
            for model in self.models:
                try:
                    model_overrides(dict(PIPELINE_CONFIGS[method]), [model])
                except ModelNotAvailableError as exc:
                    if "uses no model" not in str(exc):
                        raise
                    continue
                usable.append(model)
            self._usable[method] = usable
        return self._usable[method]

    def loaded(self) -> list[str]:
        from intentcrop.pipeline import _SHARED_BACKENDS

        return sorted({f"{key[0]}:{key[1]}" for key in list(_SHARED_BACKENDS)})


def create_app(max_upload_bytes: int = MAX_UPLOAD_BYTES, max_concurrent: int = MAX_CONCURRENT, max_k: int = MAX_K,
               max_returned_pixels: int = MAX_RETURNED_PIXELS, max_queue: int = MAX_QUEUE,
               body_timeout: float = BODY_TIMEOUT, request_timeout: float = REQUEST_TIMEOUT,
               models: "list[str] | None" = None, method: str | None = None, device: str | None = None,
               image_root: "str | Path | None" = None, url_policy: Any = None, warm_up: bool = True):
    """The service. max_upload_bytes: the largest upload (the whole body may hold 1 MB more, for the form's
    other fields); max_concurrent: crops at once; max_queue: requests that may wait beyond those (more: 503);
    body_timeout: seconds for a request's body to arrive (else 408); request_timeout: seconds a crop may run
    (else 504). models: model folders or hub ids for the model-backed stages (`--model`, as `crop(model=)`),
    loaded at start-up (in a thread, when warm_up) -- /ready says when; method: the method used when a request
    names none (None: by intent); image_root: the folder the GET /crop/... and /meta/... forms read from (None:
    those forms are off); url_policy: a `fetch.UrlPolicy` to allow image URLs (None: off)."""
    from fastapi import FastAPI, File, Form, HTTPException, Query, Request, UploadFile
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import HTMLResponse, JSONResponse, Response
    from fastapi.staticfiles import StaticFiles

    import intentcrop
    from intentcrop.io.image import encode_image, load_image, read_metadata
    from intentcrop.pipeline import PIPELINE_CONFIGS
    from intentcrop.serve.fetch import UrlFetchError, UrlRefused, fetch_url
    from intentcrop.serve.schemas import CropResponse, ErrorBody, Health, Methods, Readiness

    for name, value in (("max_upload_bytes", max_upload_bytes), ("max_concurrent", max_concurrent),
                        ("body_timeout", body_timeout), ("request_timeout", request_timeout)):
        if not value > 0:
            raise ValueError(f"create_app: {name}={value!r} must be positive")
    if max_queue < 0:
        raise ValueError(f"create_app: max_queue={max_queue!r} must be 0 or more")
    if method is not None and method not in PIPELINE_CONFIGS:
        raise ValueError(f"create_app: unknown method {method!r}; known: {', '.join(sorted(PIPELINE_CONFIGS))}")
    root = Path(image_root) if image_root is not None else None
    if root is not None and not root.is_dir():
        raise ValueError(f"create_app: image_root {str(root)!r} is not a folder")
    models = [str(m) for m in models or []]
    state = ServiceState(models, method, device)

    app = FastAPI(title="intentcrop", version=__version__, docs_url=None, redoc_url=None,
                  description="Crop images the way a person means them to be cropped. The page at / crops "
                  "interactively; POST /crop answers JSON (geometry, scores, explanations, focal point), "
                  "POST /crop.jpg|png|webp (or Accept: image/*) the best crop's bytes, and GET /crop/WxH/smart/PATH"
                  " and /meta/WxH/smart/PATH the same over a local image folder.")
    app.state.intentcrop = state
    # The image, a query image and the form's small fields: two uploads at the cap, plus 1 MB of the rest.
    app.add_middleware(RequestLimits, max_body_bytes=2 * max_upload_bytes + 1024 * 1024, body_timeout=body_timeout,
                       max_admitted=max_concurrent + max_queue)
    if models and warm_up:
        threading.Thread(target=state.warm_up, name="intentcrop-warm-up", daemon=True).start()
    elif models:
        state.ready = True  # loaded on the first request that needs them
    # One gate per event loop (uvicorn runs one; a TestClient may make one per call), made at its first request.
    slots: "weakref.WeakKeyDictionary[Any, asyncio.Semaphore]" = weakref.WeakKeyDictionary()

    async def run_limited(work: Any) -> Any:
        loop = asyncio.get_running_loop()
        slot = slots.get(loop)
        if slot is None:
            slot = slots[loop] = asyncio.Semaphore(max_concurrent)
        await slot.acquire()
        task = asyncio.ensure_future(run_in_threadpool(work))
        task.add_done_callback(lambda _: slot.release())  # the slot is free when the thread is, not before
        try:
            return await asyncio.wait_for(asyncio.shield(task), request_timeout)
        except (asyncio.TimeoutError, TimeoutError):
            task.add_done_callback(lambda t: t.cancelled() or t.exception())  # its late error is nobody's
            raise HTTPException(504, f"the crop took longer than {request_timeout:g} s") from None

    errors = {code: {"model": ErrorBody} for code in (400, 404, 408, 413, 422, 502, 503, 504)}

    @app.get("/health", response_model=Health)
    def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__}

    @app.get("/methods", response_model=Methods)
    def methods() -> dict[str, Any]:
        from intentcrop.pipeline import describe_methods

        return {"default": state.method, "methods": describe_methods()}

    @app.get("/ready", response_model=Readiness, responses={503: {"model": Readiness}})
    def ready() -> Any:
        body = {"ready": state.ready, "method": state.method, "models": state.models, "loaded": state.loaded(),
                "error": state.error, "image_root": root is not None, "url_sources": url_policy is not None}
        return JSONResponse(body, status_code=200 if state.ready else 503)

    async def _read(upload: UploadFile | None, name: str) -> bytes | None:
        if upload is None:
            return None
        data = await upload.read(max_upload_bytes + 1)
        if len(data) > max_upload_bytes:
            raise HTTPException(413, f"{name}: larger than {max_upload_bytes} bytes")
        if not data:
            raise HTTPException(400, f"{name}: empty upload")
        return data

    def _fetch(url: str) -> bytes:
        if url_policy is None:
            raise InvalidIntentError("image URLs are off on this service (start it with --allow-url HOST)")
        return fetch_url(url, url_policy)

    def _params(text, subject, ratio, size, k, options, return_images) -> dict[str, Any]:
        """The request's intent, checked before any image is decoded (a bad one is a 400 at once)."""
        subject_box = None
        if subject:
            try:
                parts = [float(v) for v in subject.split(",")]
            except ValueError:
                parts = []
            if len(parts) != 4:
                raise InvalidIntentError(f"subject {subject!r}: give four numbers x1,y1,x2,y2")
            subject_box = tuple(parts)
        ratios = [r for r in (ratio or "").split(",") if r.strip()] or None
        try:
            call_options = json.loads(options) if options else None
        except ValueError:
            raise InvalidIntentError(f"options {options!r:.200}: not a JSON object") from None
        resolved = defaults.DEFAULTS.merged(call_options)  # an unknown or mistyped option: a 400 now
        check_text(text, resolved.max_text_length)  # before the upload is decoded
        wanted_k = resolved.k if k is None else k
        if not 1 <= wanted_k <= max_k:
            raise InvalidIntentError(f"k={wanted_k}: this service returns 1..{max_k} crops per ratio")
        if return_images and size:
            w, h = parse_size(size)
            if wanted_k * w * h > max_returned_pixels:
                raise InvalidIntentError(
                    f"return_images with size={size} and k={wanted_k} would send back {wanted_k * w * h} "
                    f"pixels; the most is {max_returned_pixels}: ask for a smaller size or fewer crops, or "
                    "without return_images for the boxes alone")
        return dict(text=text, subject=subject_box, ratio=ratios, size=size, k=k, options=call_options)

    def _method_for(params: dict[str, Any], query: Any, chosen: str | None) -> str:
        from intentcrop.api import choose_method

        return chosen or state.method or choose_method(SimpleNamespace(  # the attributes it reads
            text=params.get("text"), query_image=query, subject=params.get("subject")))

    def _crop(pil: Any, query: bytes | None, params: dict[str, Any], chosen: str | None) -> Any:
        kwargs = dict(params)
        kwargs["method"] = _method_for(params, query, chosen)
        usable = state.models_for(kwargs["method"])
        if usable:
            kwargs["model"] = usable if len(usable) > 1 else usable[0]
        if state.device:
            kwargs["device"] = state.device
        return intentcrop.crop(pil, query_image=load_image(query) if query else None, return_output=True, **kwargs)

    def _body(output: Any, params: dict[str, Any], query: Any, chosen: str | None) -> dict[str, Any]:
        body = output.to_dict()
        body["method"] = _method_for(params, query, chosen)
        return body

    def _image_response(output: Any, pil: Any, metadata: dict, fmt: str, rank_index: int = 0) -> Response:
        if not output.results:
            raise InvalidIntentError("no crop was found for this request")
        if not 0 <= rank_index < len(output.results):
            raise InvalidIntentError(f"crop {rank_index + 1}: this request has {len(output.results)} crops")
        result = output.results[rank_index]
        if _returned_pixels(result, output.image_size) > max_returned_pixels:
            raise InvalidIntentError(f"the crop holds more than {max_returned_pixels} pixels")
        data = encode_image(result.crop(pil), fmt, metadata=metadata)
        d = result.to_dict()
        b = d["box"]
        headers = {"X-Crop-Box": f"{b['x1']},{b['y1']},{b['x2']},{b['y2']}", "X-Crop-Score": f"{d['score']:.6f}",
                   "X-Crop-Rank": str(d["rank"]), "X-Crops": str(len(output.results)),
                   "X-Image-Size": f"{output.image_size[0]}x{output.image_size[1]}"}
        if "ratio" in d:
            headers["X-Crop-Ratio"] = d["ratio"]
        if "focal_point" in d:
            headers["X-Focal-Point"] = f"{d['focal_point']['x']},{d['focal_point']['y']}"
        if output.warnings:  # headers are latin-1: the warning's words, its other characters replaced
            headers["X-Crop-Warning"] = " | ".join(output.warnings)[:500].encode("latin-1", "replace").decode(
                "latin-1")
        return Response(data, media_type=MEDIA_TYPES[fmt], headers=headers)

    async def _guarded(work: Any) -> Any:
        try:
            return await run_limited(work)
        except HTTPException:
            raise
        except (ImageLoadError, InvalidIntentError, UrlRefused, ValueError) as exc:
            raise HTTPException(400, str(exc)) from None
        except FileNotFoundError as exc:
            raise HTTPException(404, f"{exc.args[0] if exc.args else 'image'}: no such image") from None
        except UrlFetchError as exc:
            raise HTTPException(502, str(exc)) from None
        except ModelNotAvailableError as exc:
            raise HTTPException(503, str(exc)) from None
        except IntentCropError as exc:
            raise HTTPException(422, str(exc)) from None

    async def _post_crop(request: Request, image, url, text, query_image, subject, ratio, size, k, method_name,
                         options, return_images, image_format, debug, fmt: str | None) -> Any:
        if image is None and not url:
            raise HTTPException(422, "give the picture to crop: an 'image' upload (or a 'url', where allowed)")
        if image is not None and url:
            raise HTTPException(400, "give an 'image' upload or a 'url', not both")
        if method_name is not None and method_name not in PIPELINE_CONFIGS:
            raise HTTPException(400, f"unknown method {method_name!r}; known: {', '.join(sorted(PIPELINE_CONFIGS))}")
        data = await _read(image, "image")
        query = await _read(query_image, "query_image")
        if fmt is None:
            fmt = _wanted_image_format(request.headers.get("accept"))
        try:
            params = _params(text, subject, ratio, size, k, options, return_images and fmt is None)
        except (InvalidIntentError, ValueError) as exc:
            raise HTTPException(400, str(exc)) from None

        def work() -> Any:
            source = data if data is not None else _fetch(url)
            pil = load_image(source)
            output = _crop(pil, query, params, method_name)
            metadata = read_metadata(source)  # the upload's colour profile and EXIF (orientation 1)
            if fmt is not None:
                return _image_response(output, pil, metadata, fmt)
            body = _body(output, params, query, method_name)
            returned = sum(_returned_pixels(r, output.image_size) for r in output.results)
            if return_images and returned > max_returned_pixels:
                raise InvalidIntentError(
                    f"return_images: the {len(output.results)} crops hold {returned} pixels; the most is "
                    f"{max_returned_pixels}: ask for fewer crops or ratios, a smaller size, or leave out "
                    "return_images for the boxes alone")
            if return_images:
                out_fmt = image_format.upper()
                for crop_dict, result in zip(body["crops"], output.results):
                    crop_dict["image"] = base64.b64encode(
                        encode_image(result.crop(pil), out_fmt, metadata=metadata)).decode()
                    crop_dict["image_format"] = image_format
            if debug:
                from intentcrop.debug import draw_debug

                body["debug_image"] = base64.b64encode(encode_image(draw_debug(pil, output), "PNG")).decode()
            return body

        return await _guarded(work)

    form_fields = dict(
        image=File(None, description="the picture to crop"),
        url=Form(None, description="instead of an upload: an image URL (only where the service allows URLs)"),
        text=Form(None, description="what the crop must show"),
        query_image=File(None, description="a picture of the thing to keep"),
        subject=Form(None, description="box 'x1,y1,x2,y2' in image pixels that must stay in"),
        ratio=Form(None, description="aspect ratios, comma-separated: '16:9,1:1'"),
        size=Form(None, description="exact output size WxH"),
        k=Form(None, description=f"crops per ratio, 1..{max_k} (default: the option k)"),
        method=Form(None, description=f"named pipeline: {', '.join(sorted(PIPELINE_CONFIGS))} (default: the "
                    "service's --method, else by intent)"),
        options=Form(None, description='JSON object of tunables, e.g. {"grid_bins": 10}'),
        return_images=Form(False, description="include the cropped pictures, base64-encoded (at most "
                           f"{max_returned_pixels} pixels in all)"),
        image_format=Form("jpeg", pattern="^(jpeg|png|webp)$"),
        debug=Form(False, description="include the debug overlay (base64 PNG) as debug_image"),
    )
    f = form_fields

    @app.post("/crop", response_model=CropResponse, response_model_exclude_none=True,
              responses={**errors, 200: {"content": {t: {} for t in MEDIA_TYPES.values()},
                                         "description": "JSON, or with Accept: image/* the best crop's bytes"}})
    async def crop(
        request: Request,
        image: UploadFile | None = f["image"], url: str | None = f["url"], text: str | None = f["text"],
        query_image: UploadFile | None = f["query_image"], subject: str | None = f["subject"],
        ratio: str | None = f["ratio"], size: str | None = f["size"], k: int | None = f["k"],
        method: str | None = f["method"], options: str | None = f["options"],
        return_images: bool = f["return_images"], image_format: str = f["image_format"], debug: bool = f["debug"],
    ) -> Any:
        """Crop an uploaded picture: the crops' geometry, scores, explanations and focal points as JSON
        (`Accept: image/jpeg|png|webp|*` instead: the best crop's bytes, as POST /crop.{format} gives)."""
        return await _post_crop(request, image, url, text, query_image, subject, ratio, size, k, method, options,
                                return_images, image_format, debug, None)

    @app.post("/crop.{extension}", response_class=Response, responses={
        **errors, 200: {"content": {t: {} for t in MEDIA_TYPES.values()},
                        "description": "the best crop; its box, score, rank, ratio and focal point in X-Crop-* "
                        "and X-Focal-Point headers"}})
    async def crop_image(
        request: Request, extension: str,
        image: UploadFile | None = f["image"], url: str | None = f["url"], text: str | None = f["text"],
        query_image: UploadFile | None = f["query_image"], subject: str | None = f["subject"],
        ratio: str | None = f["ratio"], size: str | None = f["size"], k: int | None = f["k"],
        method: str | None = f["method"], options: str | None = f["options"],
    ) -> Any:
        """The best crop of an uploaded picture as a jpg, png or webp file."""
        fmt = IMAGE_FORMATS.get(extension.lower())
        if fmt is None:
            raise HTTPException(404, f"/crop.{extension[:20]}: the formats are jpg, png and webp")
        return await _post_crop(request, image, url, text, query_image, subject, ratio, size, k, method, options,
                                False, "jpeg", False, fmt)

    def _parse_spec(spec: str) -> tuple[str | None, str]:
        """thumbor's path: [WxH/][smart/]PATH -> (size or None, PATH)."""
        parts = spec.split("/")
        size_part = None
        if parts and re.fullmatch(r"\d+x\d+", parts[0]):
            size_part = parts.pop(0)
            w, h = (int(v) for v in size_part.split("x"))
            if w == 0 or h == 0:
                raise InvalidIntentError(f"{size_part}: give both sides (a 0 side is not supported)")
        if parts and parts[0] == "smart":
            parts.pop(0)
        return size_part, "/".join(parts)

    async def _get_crop(spec: str, url: str | None, ratio, k, text, method_name, rank, fmt: str | None) -> Any:
        if method_name is not None and method_name not in PIPELINE_CONFIGS:
            raise HTTPException(400, f"unknown method {method_name!r}; known: {', '.join(sorted(PIPELINE_CONFIGS))}")
        try:
            size_part, relative = _parse_spec(spec)
            if url and relative:
                raise InvalidIntentError("give a PATH or ?url=, not both")
            if not url and root is None:
                raise HTTPException(404, "the GET form is off on this service (start it with --image-root DIR)")
            if size_part and ratio:
                raise InvalidIntentError("give WxH in the path or ?ratio=, not both")
            params = _params(text, None, ratio, size_part, k, None, False)
            path = resolve_under(root, relative) if not url else None
        except (InvalidIntentError, ValueError) as exc:
            raise HTTPException(400, str(exc)) from None
        except FileNotFoundError:
            raise HTTPException(404, f"{relative[:200]}: no such image in the image folder") from None

        def work() -> Any:
            source = _fetch(url) if url else path
            pil = load_image(source)
            output = _crop(pil, None, params, method_name)
            if fmt is None:
                return _body(output, params, None, method_name)
            return _image_response(output, pil, read_metadata(source), fmt, rank - 1)

        return await _guarded(work)

    query_fields = dict(
        ratio=Query(None, description="aspect ratios, comma-separated (instead of WxH in the path)"),
        k=Query(None, description=f"crops per ratio, 1..{max_k}"),
        text=Query(None, description="what the crop must show"),
        method=Query(None, description="named pipeline"),
        url=Query(None, description="an image URL instead of PATH (only where the service allows URLs)"),
    )
    q = query_fields

    @app.get("/crop/{spec:path}", response_class=Response, responses={
        **errors, 404: {"model": ErrorBody}, 200: {"content": {t: {} for t in MEDIA_TYPES.values()},
                                                   "description": "the crop; geometry in X-Crop-* headers"}})
    async def crop_get(spec: str, ratio: str | None = q["ratio"], k: int | None = q["k"], text: str | None = q["text"],
                       method: str | None = q["method"], url: str | None = q["url"],
                       rank: int = Query(1, ge=1, le=MAX_K, description="which crop, 1 = best"),
                       format: str = Query("jpg", pattern="^(jpg|jpeg|png|webp)$")) -> Any:
        """thumbor-style: `/crop/400x300/smart/holiday/beach.jpg?text=the+dog` -- the crop of an image in the
        service's image folder (--image-root), as an image (usable in an <img> tag)."""
        return await _get_crop(spec, url, ratio, k, text, method, rank, IMAGE_FORMATS[format])

    @app.get("/meta/{spec:path}", response_model=CropResponse, response_model_exclude_none=True,
             responses={**errors, 404: {"model": ErrorBody}})
    async def meta_get(spec: str, ratio: str | None = q["ratio"], k: int | None = q["k"], text: str | None = q["text"],
                       method: str | None = q["method"], url: str | None = q["url"]) -> Any:
        """The dry run of GET /crop/...: the geometry, scores and explanations as JSON, nothing rendered
        (thumbor's /meta)."""
        return await _get_crop(spec, url, ratio, k, text, method, 1, None)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> HTMLResponse:
        return HTMLResponse((STATIC_DIR / "index.html").read_text(encoding="utf-8"))

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _mount_docs(app)
    return app


def _mount_docs(app: Any) -> None:
    """/docs from local files: swagger-ui-bundle's copy of Swagger UI when installed (FastAPI's own page loads
    it from a CDN, blank offline), else a plain page listing the endpoints from /openapi.json."""
    from fastapi.responses import HTMLResponse
    from fastapi.staticfiles import StaticFiles

    try:
        import swagger_ui_bundle

        assets = Path(swagger_ui_bundle.swagger_ui_path)
    except ImportError:
        assets = None
    if assets is not None and (assets / "swagger-ui-bundle.js").is_file():
        app.mount("/docs-assets", StaticFiles(directory=assets), name="docs-assets")
        page = ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>intentcrop API</title>"
                "<meta name='viewport' content='width=device-width, initial-scale=1'>"
                "<link rel='stylesheet' href='/docs-assets/swagger-ui.css'></head><body><div id='swagger-ui'></div>"
                "<script src='/docs-assets/swagger-ui-bundle.js'></script>"
                "<script src='/static/docs.js'></script></body></html>")
    else:
        page = ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>intentcrop API</title>"
                "<meta name='viewport' content='width=device-width, initial-scale=1'>"
                "<link rel='stylesheet' href='/static/app.css'></head><body><main><h1>intentcrop API</h1>"
                "<p>The schema: <a href='/openapi.json'>/openapi.json</a> (pip install swagger-ui-bundle for the "
                "interactive page).</p><ul id='endpoints'></ul></main><script src='/static/docs-plain.js'></script>"
                "</body></html>")

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(page)


def app_from_environment() -> Any:
    """The app `intentcrop serve --workers N` starts in each worker process (uvicorn's factory), configured by
    the JSON in INTENTCROP_SERVE_CONFIG (create_app's arguments; url_policy as UrlPolicy's fields)."""
    import os

    from intentcrop.serve.fetch import UrlPolicy

    config = json.loads(os.environ.get("INTENTCROP_SERVE_CONFIG", "{}"))
    if config.get("url_policy") is not None:
        config["url_policy"] = UrlPolicy(**config["url_policy"])
    return create_app(**config)

def schema_json() -> str:
    return json.dumps(create_app().openapi(), indent=2)
