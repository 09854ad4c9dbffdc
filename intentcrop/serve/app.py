"""FastAPI app. A bad request gets a 4xx with a message naming the problem; it never takes the process down."""


import base64
import json
import threading
from typing import Any

from intentcrop import __version__
from intentcrop.errors import ImageLoadError, IntentCropError, InvalidIntentError, ModelNotAvailableError

MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # a photo larger than this is not a photo


def create_app(max_upload_bytes: int = MAX_UPLOAD_BYTES, max_concurrent: int = 2):
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
        k: int | None = Form(None, ge=1, le=20, description="crops per ratio (default: the option k)"),
        method: str | None = Form(None, description="named pipeline: default, subject or vlm (default: by intent)"),
        options: str | None = Form(None, description='JSON object of tunables, e.g. {"grid_bins": 10}'),
        return_images: bool = Form(False, description="include the cropped pictures, base64-encoded"),
        image_format: str = Form("jpeg", pattern="^(jpeg|png|webp)$"),
    ) -> dict[str, Any]:
        data = await _read(image, "image")
        query = await _read(query_image, "query_image")
        try:
            subject_box = None
            if subject:
                parts = [float(v) for v in subject.split(",")]
                if len(parts) != 4:
                    raise InvalidIntentError(f"subject {subject!r}: give four numbers x1,y1,x2,y2")
                subject_box = tuple(parts)
            ratios = [r for r in (ratio or "").split(",") if r.strip()] or None
            try:
                call_options = json.loads(options) if options else None
            except ValueError:
                raise InvalidIntentError(f"options {options!r}: not a JSON object") from None

            def work() -> dict[str, Any]:
                with slots:
                    pil = load_image(data)
                    output = intentcrop.crop(
                        pil, text=text, query_image=load_image(query) if query else None, subject=subject_box,
                        ratio=ratios, size=size, k=k, method=method, options=call_options, return_output=True,
                    )
                    body = output.to_dict()
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
