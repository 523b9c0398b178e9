"""Canonical tables: the fixed column names every part of ShopLens reads.

A table is a list of typed columns plus an optional primary key. Extra columns a
user brings are kept (their types inferred); canonical columns are checked here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Column kinds, with the DuckDB type each is stored as.
SQL_TYPES = {"str": "VARCHAR", "float": "DOUBLE", "int": "BIGINT", "ts": "TIMESTAMP", "bool": "BOOLEAN"}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # one of SQL_TYPES
    required: bool = False  # must be present in the file and non-null in every row
    min: float | None = None  # inclusive lower bound for numbers
    max: float | None = None  # inclusive upper bound for numbers
    choices: tuple[str, ...] | None = None  # allowed values, for short enums


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()  # primary key: duplicates in a file are an error, re-ingest replaces
    doc: str = ""
    column_names: tuple[str, ...] = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "column_names", tuple(c.name for c in self.columns))

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


# The closed event vocabulary. A shop's own names are mapped on ingest (value_map / --map-values, or the
# workspace's `event_names`); a name outside it is refused unless kept as a custom type on purpose.
# New names go at the end: the sequence models code an action as its position here.
EVENT_TYPES = ("view", "click", "cart", "purchase", "search", "favorite", "remove_cart", "refund", "rating")

TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (
        TableSpec(
            "items",
            (
                Column("item_id", "str", required=True),
                Column("title", "str"),
                Column("description", "str"),
                Column("category", "str"),  # a path "a > b > c"
                Column("brand", "str"),
                Column("price", "float", min=0),
                Column("created_at", "ts"),
            ),
            key=("item_id",),
            doc="the product catalogue",
        ),
        TableSpec("users", (Column("user_id", "str", required=True),), key=("user_id",), doc="user attributes"),
        TableSpec(
            "events",
            (
                Column("user_id", "str", required=True),
                Column("item_id", "str"),  # empty for searches without a click
                Column("event", "str", required=True, choices=EVENT_TYPES),
                Column("ts", "ts", required=True),
                Column("session_id", "str"),
                Column("query", "str"),
                Column("value", "float"),
                Column("event_id", "str"),  # optional client id; makes re-sending idempotent
            ),
            key=("event_id",),
            doc="behaviour: views, clicks, carts, purchases, searches",
        ),
        TableSpec(
            "reviews",
            (
                Column("review_id", "str", required=True),
                Column("user_id", "str"),
                Column("item_id", "str", required=True),
                Column("rating", "float", min=0, max=5),
                Column("text", "str"),
                Column("ts", "ts"),
            ),
            key=("review_id",),
            doc="product reviews",
        ),
        TableSpec(
            "sales",
            (
                Column("item_id", "str", required=True),
                Column("store_id", "str"),
                Column("ts", "ts", required=True),
                Column("qty", "float", required=True),  # negative = returns, allowed
                Column("price", "float", min=0),
                Column("promo", "float", min=0),
            ),
            key=("item_id", "store_id", "ts"),
            doc="sales per item, store and period (orders aggregate into this)",
        ),
        TableSpec(
            "ad_impressions",
            (
                Column("ts", "ts"),
                Column("user_id", "str"),
                Column("item_id", "str"),
                Column("ad_id", "str"),
                Column("clicked", "int", required=True, min=0, max=1),
            ),
            doc="ad impressions with click labels",
        ),
    )
}


def table_spec(kind: str) -> TableSpec:
    try:
        return TABLES[kind]
    except KeyError:
        raise ValueError(f"unknown table kind {kind!r}; expected one of {', '.join(TABLES)}") from None
