"""Per-product review summaries: what buyers like and dislike, with counts and example sentences.

    analysis = analyze_reviews(reviews_df, item="i00042")     # a plain dict, JSON-ready
    analysis["top_positive"]   # [{"aspect": "battery", "mentions": 12, "share": 0.8, "example": "..."}, ...]
    analyze_workspace(ws, item="i00042")                      # the same over a workspace's reviews table

Clause polarity: the opinion lexicon (negation, contrast, degree words), and where it finds no opinion, a
sentiment model trained on the same reviews with ratings as labels (4-5 stars positive, 1-2 negative) when
there are enough of both. A workspace's catalogue brands are never aspects. `workspace_extractor(ws)` is the
one extractor the CLI (`reviews WS analyze`) and the REST API (GET and POST /reviews/analyze) both use.
"""

from __future__ import annotations

import pandas as pd

from shoplens.reviews.aspects import AspectExtractor, brands_of, clause_sentiment_from_ratings
from shoplens.reviews.keywords import jieba_keywords
from shoplens.text.encoders import as_text

MAX_REVIEW_CHARS = 3000  # longer reviews are read up to here (and counted as truncated)
POLARITY_WITH_MODEL = "lexicon, and a model trained on ratings where the lexicon has no opinion"


def aspect_table(mentions: list[list], review_ids: list[str]) -> pd.DataFrame:
    """One row per aspect: mentions, positive, negative, net share, and one example clause each way."""
    rows = [
        {"review_id": rid, "aspect": m.aspect, "polarity": m.polarity, "clause": m.clause}
        for rid, found in zip(review_ids, mentions)
        for m in found
    ]
    if not rows:
        return pd.DataFrame(columns=["aspect", "mentions", "positive", "negative", "net",
                                     "positive_example", "negative_example"])
    frame = pd.DataFrame(rows)
    grouped = frame.groupby("aspect")
    table = pd.DataFrame({
        "mentions": grouped.size(),
        "positive": grouped["polarity"].apply(lambda p: int((p > 0).sum())),
        "negative": grouped["polarity"].apply(lambda p: int((p < 0).sum())),
    })
    table["net"] = (table["positive"] - table["negative"]) / table["mentions"]
    for name, sign in (("positive_example", 1), ("negative_example", -1)):
        examples = frame[frame["polarity"] == sign].groupby("aspect")["clause"].first()
        table[name] = examples.reindex(table.index).fillna("")
    return table.sort_values("mentions", ascending=False).reset_index()


def review_extractor(reviews: pd.DataFrame, brands=()) -> AspectExtractor:
    """The extractor of a set of reviews: aspect vocabulary learnt from their texts, the clause model trained on
    their ratings when both sides have enough (else the lexicon alone), `brands` kept out of the aspects."""
    texts = [as_text(t) for t in reviews["text"]]
    ratings = reviews["rating"] if "rating" in reviews else pd.Series(dtype=float)
    rated = ratings.notna().to_numpy()
    sentiment = (clause_sentiment_from_ratings([t for t, r in zip(texts, rated) if r], ratings[rated])
                 if rated.any() else None)
    return AspectExtractor(sentiment=sentiment, brands=brands).fit(texts)


def workspace_extractor(ws) -> AspectExtractor | None:
    """`review_extractor` of the workspace's reviews with its catalogue's brands; None without reviews."""
    if not ws.count("reviews"):
        return None
    items = ws.table("items") if ws.count("items") else None
    return review_extractor(ws.table("reviews"), brands=brands_of(items))


def analyze_reviews(
    reviews: pd.DataFrame,
    item: str | None = None,
    extractor: AspectExtractor | None = None,
    top: int = 5,
    keywords: int = 10,
    per_review: bool = False,
) -> dict:
    """Summary of `reviews` (canonical columns review_id, item_id, rating, text), or of one item's reviews.

    The aspect vocabulary and the clause sentiment model are learnt from ALL given reviews (more data) unless
    an `extractor` is given (e.g. the workspace's), then only the chosen item's reviews are summarised.
    per_review=True adds "reviews": one record per review with its aspects each way and its positive
    probability (null when polarity comes from the lexicon)."""
    reviews = reviews.reset_index(drop=True)
    texts = [as_text(t) for t in reviews["text"]]
    extractor = extractor if extractor is not None else review_extractor(reviews)
    chosen = reviews if item is None else reviews[reviews["item_id"].astype(str) == str(item)]
    chosen_texts = [texts[i] for i in chosen.index]
    mentions = extractor.extract_many(chosen_texts)
    table = aspect_table(mentions, chosen["review_id"].astype(str).tolist())

    def top_list(column: str, example: str) -> list[dict]:
        ranked = table[table[column] > 0].sort_values([column, "mentions"], ascending=False).head(top)
        return [
            {"aspect": r.aspect, "mentions": int(r[column]), "share": round(r[column] / r.mentions, 3),
             "example": r[example]}
            for _, r in ranked.iterrows()
        ]

    rating = chosen["rating"] if "rating" in chosen else pd.Series(dtype=float)
    summary = {
        "item": item,
        "n_reviews": int(len(chosen)),
        "mean_rating": None if rating.dropna().empty else round(float(rating.mean()), 3),
        "truncated_reviews": int(sum(len(t) > MAX_REVIEW_CHARS for t in chosen_texts)),
        "polarity_source": "lexicon" if extractor.sentiment is None else POLARITY_WITH_MODEL,
        "top_positive": top_list("positive", "positive_example"),
        "top_negative": top_list("negative", "negative_example"),
        "aspects": table.to_dict(orient="records"),
        "keywords": [w for w, _ in jieba_keywords(chosen_texts, k=keywords)] if keywords else [],
        "learnt_aspect_terms": extractor.learnt_terms,
    }
    if per_review:
        summary["reviews"] = review_scores(chosen, chosen_texts, mentions, extractor.sentiment)
    return summary


def review_scores(reviews: pd.DataFrame, texts: list[str], mentions: list[list], sentiment=None) -> list[dict]:
    """Per review: id, item, rating, positive probability (the rating-trained model, when there is one), the
    mean aspect polarity (-1..1, null without aspects) and the aspects mentioned positively / negatively."""
    positive = sentiment.predict_proba(texts)[:, 1] if sentiment is not None and texts else [None] * len(texts)
    ratings = reviews["rating"].tolist() if "rating" in reviews else [None] * len(reviews)
    return [
        {"review_id": str(rid), "item_id": str(item), "rating": rating,
         "positive_probability": None if p is None else round(float(p), 4),
         "aspect_polarity": round(sum(m.polarity for m in found) / len(found), 3) if found else None,
         "positive_aspects": sorted({m.aspect for m in found if m.polarity > 0}),
         "negative_aspects": sorted({m.aspect for m in found if m.polarity < 0})}
        for rid, item, rating, p, found in zip(reviews["review_id"], reviews["item_id"], ratings, positive, mentions)
    ]


def analyze_workspace(ws, item: str | None = None, top: int = 5, per_review: bool = False,
                      extractor: AspectExtractor | None = None) -> dict:
    """`analyze_reviews` over a workspace's `reviews` table with `workspace_extractor(ws)` (or the given one,
    e.g. the server's cached copy): what `shoplens reviews analyze WS` prints."""
    reviews = ws.table("reviews")
    if item is not None and not (reviews["item_id"].astype(str) == str(item)).any():
        raise ValueError(f"item {item!r} has no reviews in {ws.path}")
    extractor = extractor if extractor is not None else workspace_extractor(ws)
    return analyze_reviews(reviews, item=item, top=top, per_review=per_review, extractor=extractor)
