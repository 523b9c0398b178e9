"""ShopLens: understand what each e-commerce user is interested in, and act on it."""

from shoplens.data.vocab import Vocab
from shoplens.workspace import Workspace

__all__ = ["Workspace", "Vocab"]
__version__ = "0.1.0"
