"""Stage 5, search: improve on the proposals by moving boxes where the scorers point."""

from intentcrop.search.consensus import ConsensusRefine
from intentcrop.search.local import LocalSearch
from intentcrop.search.cropper import CropperRefine
from intentcrop.search.cagic import CagicSearch

__all__ = ["CagicSearch", "ConsensusRefine", "CropperRefine", "LocalSearch"]
