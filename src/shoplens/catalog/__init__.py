"""Catalogue care: product title (+ brand) -> category path, with confidences and a human-review list.

    from shoplens.catalog import CategoryClassifier, categorize_workspace
"""

from shoplens.catalog.categorize import CategoryClassifier, categorize_workspace

__all__ = ["CategoryClassifier", "categorize_workspace"]
