"""Cropper's visual prompt retrieval: example banks (`bank`) and the per-task selection of in-context examples
(`select`): the top S examples by Q(query, example), and for each its top T crops by G."""

from intentcrop.retrieve.bank import ExampleBank, build_bank, load_bank
from intentcrop.retrieve.embed import FeatureEmbedder, make_embedder
from intentcrop.retrieve.select import retrieve

__all__ = ["ExampleBank", "build_bank", "load_bank", "FeatureEmbedder", "make_embedder", "retrieve"]
