"""Product search: bm25s keyword + embedding hybrid, filters, personalisation, query suggestions.

    from shoplens.search import build_index, search, suggest
    build_index(ws)                                    # items -> artifacts/search (incremental: update_index)
    search(ws, "无线蓝牙耳机", k=10, user="u42", filters=["price=0..300"]).items
    suggest(ws, "蓝牙")                                 # popular completions; similar_queries(ws, q) for neighbours
    SearchIndex().fit(items).fit_fusion(judgements)    # learned fusion (LambdaRank) from judged query-item pairs
    CrossEncoderReranker().fit(queries, titles, grades).save(folder); SearchIndex(reranker=folder)  # re-ranks the top
"""

from shoplens.search.dense import DenseIndex
from shoplens.search.hybrid import Filters, blend_personal, clean_query, fuse
from shoplens.search.index import SearchIndex, SearchResult
from shoplens.search.keyword import KeywordIndex, keyword_tokens
from shoplens.search.learned import LearnedFusion
from shoplens.search.rerank import CrossEncoderReranker
from shoplens.search.suggest import QuerySuggester
from shoplens.search.workspace import (
    build_index,
    build_suggestions,
    load_index,
    personal_scores,
    search,
    similar_queries,
    suggest,
    update_index,
)

__all__ = [
    "CrossEncoderReranker",
    "DenseIndex",
    "Filters",
    "KeywordIndex",
    "LearnedFusion",
    "QuerySuggester",
    "SearchIndex",
    "SearchResult",
    "blend_personal",
    "build_index",
    "build_suggestions",
    "clean_query",
    "fuse",
    "keyword_tokens",
    "load_index",
    "personal_scores",
    "search",
    "similar_queries",
    "suggest",
    "update_index",
]
