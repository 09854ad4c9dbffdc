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
import threading
import time
import weakref
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


def create_app(max_upload_bytes: int = MAX_UPLOAD_BYTES, max_concurrent: int = MAX_CONCURRENT, max_k: int = MAX_K,
               max_returned_pixels: int = MAX_RETURNED_PIXELS, max_queue: int = MAX_QUEUE,
               body_timeout: float = BODY_TIMEOUT, request_timeout: float = REQUEST_TIMEOUT):
    """The service. max_upload_bytes: the largest upload (the whole body may hold 1 MB more, for the form's
    other fields); max_concurrent: crops at once; max_queue: requests that may wait beyond those (more: 503);
    body_timeout: seconds for a request's body to arrive (else 408); request_timeout: seconds a crop may run
    (else 504)."""
    from fastapi import FastAPI, File, Form, HTTPException, UploadFile
    from fastapi.concurrency import run_in_threadpool

    import intentcrop
    from intentcrop.io.image import encode_image, load_image, read_metadata

    for name, value in (("max_upload_bytes", max_upload_bytes), ("max_concurrent", max_concurrent),
                        ("body_timeout", body_timeout), ("request_timeout", request_timeout)):
        if not value > 0:
            raise ValueError(f"create_app: {name}={value!r} must be positive")
    if max_queue < 0:
        raise ValueError(f"create_app: max_queue={max_queue!r} must be 0 or more")

    app = FastAPI(title="intentcrop", version=__version__,
                  description="Crop images the way a person means them to be cropped.")
    # The image, a query image and the form's small fields: two uploads at the cap, plus 1 MB of the rest.
    app.add_middleware(RequestLimits, max_body_bytes=2 * max_upload_bytes + 1024 * 1024, body_timeout=body_timeout,
                       max_admitted=max_concurrent + max_queue)
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

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__}

    async def _read(upload: UploadFile | None, name: str) -> bytes | None:
        if upload is None:
            return None
        data = await upload.read(max_upload_bytes + 1)
        if len(data) > max_upload_bytes:
            raise HTTPException(413, f"{name}: larger than {max_upload_bytes} bytes")
        if not data:
            raise HTTPException(400, f"{name}: empty upload")
        return data

    @app.post("/crop")
    async def crop(
        image: UploadFile = File(..., description="the picture to crop"),
        text: str | None = Form(None, description="what the crop must show"),
        query_image: UploadFile | None = File(None, description="a picture of the thing to keep"),
        subject: str | None = Form(None, description="box 'x1,y1,x2,y2' in image pixels that must stay in"),
        ratio: str | None = Form(None, description="aspect ratios, comma-separated: '16:9,1:1'"),
        size: str | None = Form(None, description="exact output size WxH"),
        k: int | None = Form(None, description=f"crops per ratio, 1..{max_k} (default: the option k)"),
        method: str | None = Form(None, description="named pipeline: default, subject or vlm (default: by intent)"),
        options: str | None = Form(None, description='JSON object of tunables, e.g. {"grid_bins": 10}'),
        return_images: bool = Form(False, description="include the cropped pictures, base64-encoded (at most "
                                   f"{max_returned_pixels} pixels in all)"),
        image_format: str = Form("jpeg", pattern="^(jpeg|png|webp)$"),
    ) -> dict[str, Any]:
        data = await _read(image, "image")
        query = await _read(query_image, "query_image")
        try:
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

            def work() -> dict[str, Any]:
                pil = load_image(data)
                output = intentcrop.crop(
                    pil, text=text, query_image=load_image(query) if query else None, subject=subject_box,
                    ratio=ratios, size=size, k=k, method=method, options=call_options, return_output=True,
                )
                body = output.to_dict()
                returned = sum(_returned_pixels(r, output.image_size) for r in output.results)
                if return_images and returned > max_returned_pixels:
                    raise InvalidIntentError(
                        f"return_images: the {len(output.results)} crops hold {returned} pixels; the most is "
                        f"{max_returned_pixels}: ask for fewer crops or ratios, a smaller size, or leave out "
                        "return_images for the boxes alone")
                if return_images:
                    fmt = image_format.upper()
                    metadata = read_metadata(data)  # the upload's colour profile and EXIF (orientation 1)
                    for crop_dict, result in zip(body["crops"], output.results):
                        crop_dict["image"] = base64.b64encode(
                            encode_image(result.crop(pil), fmt, metadata=metadata)).decode()
                        crop_dict["image_format"] = image_format
                return body

            return await run_limited(work)
        except (ImageLoadError, InvalidIntentError, ValueError) as exc:
            raise HTTPException(400, str(exc)) from None
        except ModelNotAvailableError as exc:
            raise HTTPException(503, str(exc)) from None
        except IntentCropError as exc:
            raise HTTPException(422, str(exc)) from None

    return app


def schema_json() -> str:
    return json.dumps(create_app().openapi(), indent=2)
