"""intentcrop: crop images the way a person means them to be cropped."""

__version__ = "0.1.0"

from intentcrop.api import crop, make_intent
from intentcrop.core import Box, Candidates, CropResult, Intent, parse_ratio, parse_size
from intentcrop.core.context import CropContext, Grounding
from intentcrop.errors import ImageLoadError, IntentCropError, InvalidIntentError, ModelNotAvailableError
from intentcrop.io.image import crop_image, load_image, save_image
from intentcrop.pipeline import CropOutput, Pipeline, create_pipeline

# Importing the stage packages registers their backends.
from intentcrop import propose as _propose  # noqa: F401,E402
from intentcrop import score as _score  # noqa: F401,E402
from intentcrop import ground as _ground  # noqa: F401,E402
from intentcrop import search as _search  # noqa: F401,E402

__all__ = [
    "Box", "Candidates", "CropContext", "CropOutput", "CropResult", "Grounding", "ImageLoadError", "Intent",
    "IntentCropError", "InvalidIntentError", "ModelNotAvailableError", "Pipeline", "__version__", "crop",
    "crop_image", "create_pipeline", "load_image", "make_intent", "parse_ratio", "parse_size", "save_image",
]
