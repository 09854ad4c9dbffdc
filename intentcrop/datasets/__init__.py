"""Benchmark loaders: FCDB-style free-form crops and GAICD-style scored candidate crops."""

from intentcrop.datasets.base import DatasetError
from intentcrop.datasets.fcdb import FCDBDataset, FCDBSample, available_splits, load_fcdb
from intentcrop.datasets.gaicd import GAICDDataset, GAICDSample, load_gaicd

__all__ = [
    "DatasetError", "FCDBDataset", "FCDBSample", "GAICDDataset", "GAICDSample", "available_splits", "load_fcdb",
    "load_gaicd",
]
