"""Errors raised by intentcrop. Every message names the input and the problem."""


class IntentCropError(Exception):
    """Base class: anything intentcrop raises on purpose."""


class ImageLoadError(IntentCropError):
    """The image could not be read: missing, not an image, truncated, too large, empty."""


class InvalidIntentError(IntentCropError, ValueError):
    """The intent cannot be satisfied or parsed: bad ratio syntax, impossible ratio, bad subject box."""


class ModelNotAvailableError(IntentCropError):
    """A model could not be loaded (offline, missing folder, wrong format)."""


class StageFailedError(IntentCropError):
    """A model-backed stage failed in a way the default pipeline's crop can stand in for (a VLM that is down,
    timed out or answered garbage): the pipeline returns that crop with a warning instead of failing the call."""


class CropWarning(UserWarning):
    """Something the caller should know about how the crops were made (e.g. the text was not found and the
    crops are the free-form ones); `crop(..., return_output=True).warnings` holds the same messages."""
