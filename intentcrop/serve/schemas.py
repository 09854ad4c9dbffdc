"""The service's typed responses: what `CropOutput.to_dict()` holds, as pydantic models, so that the OpenAPI
schema names every field a client reads (and schemathesis can check the answers against it)."""

from __future__ import annotations

from typing import Optional

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow")  # a field a newer pipeline adds passes through, untyped


class ImageSize(_Model):
    width: int
    height: int


class PixelBox(_Model):
    x1: int
    y1: int
    x2: int
    y2: int
    width: int
    height: int


class FocalPoint(_Model):
    x: float = Field(description="pixels from the image's left edge")
    y: float = Field(description="pixels from the image's top edge")
    x_rel: Optional[float] = Field(None, description="x / image width, 0..1 (CSS object-position, CDN gravity)")
    y_rel: Optional[float] = Field(None, description="y / image height, 0..1")


class RelativePoint(_Model):
    x_rel: float
    y_rel: float


class Crop(_Model):
    rank: int = Field(description="place among the crops of its ratio, 1 = best")
    box: PixelBox
    score: float
    breakdown: dict[str, float] = Field(default_factory=dict, description="the score's terms")
    explanation: str = Field("", description="why this crop, in words")
    box_percent: Optional[list[float]] = Field(None, description="[x1, y1, x2, y2] in percent of the image")
    focal_point: Optional[FocalPoint] = None
    focal_point_in_crop: Optional[RelativePoint] = None
    ratio: Optional[str] = None
    output_size: Optional[ImageSize] = None
    image: Optional[str] = Field(None, description="the cropped picture, base64 (with return_images)")
    image_format: Optional[str] = None


class Match(_Model):
    box: list[float]
    score: float
    phrase: Optional[str] = None


class Rejected(_Model):
    box: list[float]
    score: float


class GroundingInfo(_Model):
    source: str
    confidence: Optional[float] = None
    region: Optional[list[float]] = None
    matches: list[Match] = Field(default_factory=list)
    rejected: list[Rejected] = Field(default_factory=list)
    alternatives: list[list[float]] = Field(default_factory=list)
    selection: str = ""


class CropResponse(_Model):
    image: ImageSize
    warnings: list[str] = Field(default_factory=list, description="e.g. the text was not found")
    crops: list[Crop]
    candidates_scored: int
    verdict: Optional[str] = None
    verdict_reason: Optional[str] = None
    timings_ms: dict[str, float] = Field(default_factory=dict)
    focal_point: Optional[FocalPoint] = None
    grounding: Optional[GroundingInfo] = None
    method: Optional[str] = Field(None, description="the named pipeline that cropped")
    debug_image: Optional[str] = Field(None, description="the debug overlay, base64 PNG (with debug)")


class Health(_Model):
    status: str
    version: str


class MethodInfo(_Model):
    name: str = Field(description="the value of the `method` field")
    summary: str = Field("", description="what the method does, in a line")
    intents: list[str] = Field(default_factory=list, description="the intents it takes: free-form, text, ...")


class Methods(_Model):
    default: Optional[str] = Field(None, description="the service's method for requests that name none "
                                   "(None: chosen by intent)")
    methods: list[MethodInfo]


class Readiness(_Model):
    ready: bool
    method: Optional[str] = Field(None, description="the service's default method (None: chosen by intent)")
    models: list[str] = Field(default_factory=list, description="the models given with --model, as loaded")
    loaded: list[str] = Field(default_factory=list, description="the model-backed stages loaded in this process")
    error: Optional[str] = None
    image_root: bool = Field(False, description="whether the GET /crop/... form over a local folder is on")
    url_sources: bool = Field(False, description="whether images may be fetched from URLs")


class ErrorBody(BaseModel):
    detail: "str | list[dict]" = Field(description="what is wrong, in words (FastAPI's own 422: a list of "
                                       "field errors)")
