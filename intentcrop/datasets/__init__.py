"""Benchmark loaders: FCDB-style free-form crops, GAICD-style scored candidate crops, CADB-style composition
labels and AADB-style attribute scores."""

from intentcrop.datasets.base import DatasetError
from intentcrop.datasets.composition import (AttributeSample, CompositionSample, LabelDataset, load_aadb,
                                             load_cadb)
from intentcrop.datasets.fcdb import FCDBDataset, FCDBSample, available_splits, load_fcdb
from intentcrop.datasets.gaicd import GAICDDataset, GAICDSample, load_gaicd

__all__ = [
    "AttributeSample", "CompositionSample", "DatasetError", "LabelDataset", "load_aadb", "load_cadb", "FCDBDataset", "FCDBSample", "GAICDDataset", "GAICDSample", "available_splits", "load_fcdb",
    "load_gaicd",
]
