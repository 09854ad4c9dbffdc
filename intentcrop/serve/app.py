"""FastAPI app. A bad request gets a 4xx with a message naming the problem; it never takes the process down."""


import base64
import json
import threading
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


def create_app(max_upload_bytes: int = MAX_UPLOAD_BYTES, max_concurrent: int = 2, max_k: int = MAX_K,
               max_returned_pixels: int = MAX_RETURNED_PIXELS):
    from fastapi import FastAPI, File, Form, HTTPException, UploadFile
    from fastapi.concurrency import run_in_threadpool

    import intentcrop
    from intentcrop.io.image import encode_image, load_image, read_metadata

    app = FastAPI(title="intentcrop", version=__version__,
                  description="Crop images the way a person means them to be cropped.")
    # Cropping is CPU-bound; more parallel requests than cores only add memory, so queue the rest.
    slots = threading.BoundedSemaphore(max_concurrent)

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
                with slots:
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

            return await run_in_threadpool(work)
        except (ImageLoadError, InvalidIntentError, ValueError) as exc:
            raise HTTPException(400, str(exc)) from None
        except ModelNotAvailableError as exc:
            raise HTTPException(503, str(exc)) from None
        except IntentCropError as exc:
            raise HTTPException(422, str(exc)) from None

    return app


def schema_json() -> str:
    return json.dumps(create_app().openapi(), indent=2)
