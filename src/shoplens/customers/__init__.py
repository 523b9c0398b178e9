"""Customers: who comes back, who is leaving, what they are worth, and who each customer is.

    from shoplens.customers import BetaGeoModel, customer_features, RepurchaseModel, churn_report, user_profile
    rfm = rfm_summary(transactions, as_of="1997-09-30")                  # frequency, recency, T, monetary_value
    bg = BetaGeoModel().fit(rfm.frequency, rfm.recency, rfm["T"])         # BG/NBD by maximum likelihood
    table, summary = churn_report(transactions, as_of, horizon_days=90, budget=100)   # early warning
    profile = user_profile("u00042", events, items)                       # JSON-ready profile
"""

from shoplens.customers.btyd import BetaGeoModel, BTYDInputError, GammaGammaModel, ParetoNBDModel, check_rfm
from shoplens.customers.churn import (
    RepurchaseModel,
    churn_report,
    early_warning,
    out_of_fold_churn,
    threshold_for_precision,
    value_if_retained,
)
from shoplens.customers.features import (
    CleaningReport,
    TransactionDataError,
    clean_transactions,
    customer_features,
    holdout_counts,
    purchases_from_events,
    rfm_summary,
)
from shoplens.customers.profiles import item_text_vectors, user_interests, user_profile
from shoplens.customers.segments import (
    SEGMENT_ORDER,
    embedding_clusters,
    rfm_segments,
    segment_table,
    user_taste_vectors,
)

__all__ = [
    "BTYDInputError",
    "BetaGeoModel",
    "CleaningReport",
    "GammaGammaModel",
    "ParetoNBDModel",
    "RepurchaseModel",
    "SEGMENT_ORDER",
    "TransactionDataError",
    "check_rfm",
    "churn_report",
    "clean_transactions",
    "customer_features",
    "early_warning",
    "embedding_clusters",
    "holdout_counts",
    "item_text_vectors",
    "out_of_fold_churn",
    "purchases_from_events",
    "rfm_segments",
    "rfm_summary",
    "segment_table",
    "threshold_for_precision",
    "user_interests",
    "user_profile",
    "user_taste_vectors",
    "value_if_retained",
]
