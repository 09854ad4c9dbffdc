"""Stage 4, score: registered scorers that rate candidate crops."""

from intentcrop.score.base import Scorer, zscore
from intentcrop.score import aesthetic as _aesthetic, clip as _clip, prompts as _prompts  # noqa: F401,E402 (register clip_*)
from intentcrop.score import framing as _framing, heuristic as _heuristic, quality as _quality  # noqa: F401,E402 (register framing, heuristic, quality)
from intentcrop.score import isolation as _isolation  # noqa: F401,E402 (register isolation)
from intentcrop.score import cropper as _cropper  # noqa: F401,E402 (register content, area)
from intentcrop.score import clipcrop as _clipcrop  # noqa: F401,E402 (register clipcrop)
from intentcrop.score import clipcropping as _clipcropping  # noqa: F401,E402 (register clipcropping)

__all__ = ["Scorer", "zscore"]
