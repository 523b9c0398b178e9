"""Public datasets: readers for the folders under $SHOPLENS_DATA and for public file formats.

    from shoplens.datasets import load, list_datasets, load_sequences, read_format
"""

from shoplens.datasets.formats import FORMATS, PublicDataset, read_format
from shoplens.datasets.public import DATASETS, DatasetInfo, DatasetNotFound, list_datasets, load, load_sequences

__all__ = [
    "DATASETS",
    "FORMATS",
    "DatasetInfo",
    "DatasetNotFound",
    "PublicDataset",
    "list_datasets",
    "load",
    "load_sequences",
    "read_format",
]
