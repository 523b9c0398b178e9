"""Review understanding: polarity, aspects with their sentiment, keywords, star ratings, product summaries.

    from shoplens.reviews import SentimentClassifier, AspectExtractor, analyze_reviews
    SentimentClassifier().fit(texts, labels).predict_frame(new_texts)
    analyze_reviews(reviews_df, item="i00042")["top_negative"]
"""

from shoplens.reviews.aspects import SEED_ASPECTS, AspectExtractor, Mention, split_clauses
from shoplens.reviews.keywords import jieba_keywords, keyphrases
from shoplens.reviews.rating import RatingPredictor
from shoplens.reviews.sentiment import SentimentClassifier
from shoplens.reviews.summary import analyze_reviews, analyze_workspace

__all__ = [
    "SEED_ASPECTS",
    "AspectExtractor",
    "Mention",
    "RatingPredictor",
    "SentimentClassifier",
    "analyze_reviews",
    "analyze_workspace",
    "jieba_keywords",
    "keyphrases",
    "split_clauses",
]
