"""HTTP service: `intentcrop serve` (needs the `serve` extra: FastAPI + uvicorn)."""

from intentcrop.serve.app import create_app

__all__ = ["create_app"]
