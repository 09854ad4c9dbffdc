"""Errors raised by intentcrop. Every message names the input and the problem."""


class IntentCropError(Exception):
    """Base class: anything intentcrop raises on purpose."""


class ImageLoadError(IntentCropError):
    """The image could not be read: missing, not an image, truncated, too large, empty."""


class InvalidIntentError(IntentCropError, ValueError):
    """The intent cannot be satisfied or parsed: bad ratio syntax, impossible ratio, bad subject box."""


class ModelNotAvailableError(IntentCropError):
    """A model could not be loaded (offline, missing folder, wrong format)."""
