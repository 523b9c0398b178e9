"""The marketplace simulator: canonical tables plus the ground truth that produced them.

    from shoplens.datasets.synthetic import marketplace
    mp = marketplace(n_users=2000, n_items=500, days=180, seed=0)
    mp.tables["events"]          # canonical tables: items, users, events, reviews, sales, ad_impressions
    mp.truth.item_topics         # what a model should recover: interests, quality, elasticity, true CTR ...

How the world works (every number below is a keyword or a constant in this file):
- Catalogue. Leaf categories come from a bilingual tree ("美妆 > 护肤 > 面霜" / "Beauty > Skincare > Face
  Cream"). Brands belong to one top category and have a tier (budget / mid / premium) that sets price and
  quality. Every item has a latent topic vector: its category's vector (built top > sub > leaf, so siblings
  are close) plus a brand component and item noise. Items launched inside the window exist only from
  `created_at` on.
- Users have 1-4 interest categories with weights; the weights (and, for a `drift_rate` share of users, one
  of the categories) move linearly from `interest_start` to `interest_end` over the window. A fixed taste
  vector in topic space decides which items inside a category they like.
- Sessions arrive as a Poisson process per user (rate `activity_rate`, busier at weekends, on shopping
  festivals 6.18 / 11.11 / 12.12 and in the evening). Churning users fade out over the 4 weeks before their
  churn date and produce nothing after it. A session picks one category from the user's current interests
  (or a random one), maybe starts with a search query written from a target item's words, then views items
  of that category (chosen by popularity and taste) and walks a view > click > cart > purchase funnel
  driven by taste, quality and the price paid (promotions and elasticity included).
- Reviews follow some purchases: the rating follows item quality, the text names 1-3 aspects (物流, 电池,
  尺码 / shipping, battery, size ...) with a polarity that follows the rating and the item's weak or strong
  aspect.
- Sales are a daily item x store panel (stores "s1".."sN", each carrying part of the catalogue): expected
  demand = base x store x weekday x yearly season x festival x trend x (price paid / items.price) **
  elasticity, and qty is drawn from a gamma-Poisson (over-dispersed) around it. This panel stands for the
  whole channel; it is not the sum of the simulated users' online purchases.
- Prices: `items.price` is the list price at the start of the window. A quarter of the items change list
  price once; promotions (3-9 days, 10-40% off) are per item and shared by every store and the online
  shop, so `sales.price`, `sales.promo` and a purchase's `value` all read the same calendar.
- Ad impressions are shown during sessions; their true CTR rises with the user's current interest in the
  ad's category and taste match, and with quality, slot position, placement, device and creative.

Text language: each user and each item has a `lang` ("zh" or "en", `zh_share` of them Chinese). Items carry
both languages in `title_zh`/`title_en` and `description_zh`/`description_en`; the canonical `title` and
`description` are the ones in the item's own language. `category` is the Chinese path (`category_en` the
English one), `brand` the Latin brand name (`brand_zh` the Chinese one). Queries and reviews are written
in the user's language.

Column types: ids and texts are Python strings in the installed pandas' default string column (object
under pandas 2), timestamps naive datetime64[ns] in whole seconds, `clicked`/`position` int64, the rest
float64. Events carry no `event_id`. `truth.demand` and `truth.ad_ctr` are aligned with the rows of
`tables["sales"]` and `tables["ad_impressions"]` (same RangeIndex).

Scale: about 50 events per user over 180 days, so `marketplace_for_events(1_000_000)` (20 000 users,
5 000 items, 180 days) gives about 1M events in well under a minute. Prices are in CNY.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from shoplens.datasets import synthetic_text as text
from shoplens.datasets.synthetic_text import ASPECT_KEYS, ASPECTS, STR, VOCAB

DAY = 86_400.0
EVENTS_PER_USER = 50  # measured at the defaults over 180 days; used by marketplace_for_events
_WEEKDAY = np.array([0.92, 0.90, 0.93, 0.97, 1.05, 1.18, 1.10])  # Monday first
_HOURS = np.array([3, 1.5, 1, .8, .8, 1, 2, 4, 6, 7, 8, 9, 10, 9, 8, 8, 8.5, 9, 10, 12, 14, 15, 12, 7])
_FESTIVALS = {(6, 18): 1.8, (11, 11): 2.2, (12, 12): 1.4}  # month, day: demand multiplier
_FUNNEL = ("view", "click", "cart", "purchase", "search")


@dataclass
class Truth:
    """Ground truth behind the tables. Row order of `items`, `users`, `categories` matches the
    tables and the rows/columns of the arrays (item_topics[i] is items.item_id[i])."""

    start: pd.Timestamp
    end: pd.Timestamp  # exclusive
    categories: pd.DataFrame  # category, category_en, top, top_en, popularity, season_*, aspects
    brands: pd.DataFrame  # brand, brand_zh, top, tier, price_multiplier, quality_mean
    items: pd.DataFrame  # item_id, category, brand, lang, price, quality, elasticity, popularity, ...
    item_topics: np.ndarray  # (n_items, n_topics), unit rows
    category_topics: np.ndarray  # (n_categories, n_topics), unit rows
    users: pd.DataFrame  # user_id, lang, activity_rate, churn_at (NaT = never), active_until, ...
    user_tastes: np.ndarray  # (n_users, n_topics), unit rows
    interest_start: np.ndarray  # (n_users, n_categories), rows sum to 1
    interest_end: np.ndarray  # (n_users, n_categories); linear drift in between
    sessions: pd.DataFrame  # session_id, user_id, start, category, search, explore
    queries: pd.DataFrame  # one row per search: query, lang, category, brand (NA = none), target item_id
    review_aspects: pd.DataFrame  # review_id, aspect, aspect_zh, polarity (+1/-1), phrase
    demand: pd.Series  # expected qty, aligned with tables["sales"] rows
    ad_ctr: pd.Series  # true click probability, aligned with tables["ad_impressions"] rows

    def interest_weights(self, at) -> np.ndarray:
        """(n_users, n_categories) interest weights at time `at` (linear drift, clipped to the window)."""
        s = (pd.Timestamp(at) - self.start) / (self.end - self.start)
        s = min(max(s, 0.0), 1.0)
        return (1 - s) * self.interest_start + s * self.interest_end

    def affinity(self, user_ids, item_ids, at) -> np.ndarray:
        """True user-item affinity: interest in the item's category at `at` plus taste-topic cosine."""
        u = pd.Index(self.users["user_id"]).get_indexer(np.asarray(user_ids))
        i = pd.Index(self.items["item_id"]).get_indexer(np.asarray(item_ids))
        if (u < 0).any() or (i < 0).any():
            raise KeyError("unknown user_id or item_id")
        cat = pd.Index(self.categories["category"]).get_indexer(self.items["category"].to_numpy()[i])
        taste = np.einsum("nd,nd->n", self.user_tastes[u], self.item_topics[i])
        return self.interest_weights(at)[u, cat] + taste


@dataclass
class Marketplace:
    tables: dict[str, pd.DataFrame]
    truth: Truth
    params: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{name}={len(df):,}" for name, df in self.tables.items())
        return f"Marketplace({sizes})"


# --------------------------------------------------------------------------- helpers
def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _unit_rows(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _ids(prefix: str, n: int) -> np.ndarray:
    width = max(5, len(str(n - 1)))
    return np.strings.add(prefix, np.strings.zfill(np.arange(n).astype(STR), width)).astype(object)


def _strings(values) -> np.ndarray:
    return np.asarray(values).astype(object)


def _take(pool, index: np.ndarray) -> np.ndarray:
    """Python strings from `pool` by index, -1 giving None. Object arrays become the installed pandas'
    default string column (object in pandas 2, str in pandas 3), and repeated values share one object."""
    pool = _strings(pool)
    out = pool[np.maximum(index, 0)] if len(pool) else np.full(len(index), None, dtype=object)
    out[np.asarray(index) < 0] = None
    return out


def _timestamps(start: np.datetime64, seconds: np.ndarray) -> pd.Series:
    return pd.Series(start + (np.floor(seconds) * 1e9).astype("timedelta64[ns]"))


class _GroupSampler:
    """Draws a member of a given group with probability proportional to its weight, many at once.

    Members are laid out group by group on a line where group g occupies (g, g+1] in proportion to
    the weights, so one searchsorted answers every draw.
    """

    def __init__(self, group: np.ndarray, weight: np.ndarray, n_groups: int):
        self.members = np.lexsort((np.arange(len(group)), group))
        g, w = group[self.members], weight[self.members].astype(float)
        totals = np.bincount(g, w, minlength=n_groups)
        cum = np.cumsum(w)
        before = np.concatenate([[0.0], np.cumsum(totals)])[g]
        within = (cum - before) / np.where(totals[g] > 0, totals[g], 1.0)
        last = np.r_[g[1:] != g[:-1], True]
        within[last] = 1.0  # no rounding gap at the end of a group
        self.keys = g + within
        self.size = np.bincount(group, minlength=n_groups)

    def draw(self, groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One member per requested group; -1 for groups without members."""
        pos = np.searchsorted(self.keys, groups + rng.random(len(groups)), side="right")
        found = self.members[np.minimum(pos, len(self.members) - 1)]
        return np.where(self.size[groups] > 0, found, -1)


# --------------------------------------------------------------------------- catalogue
@dataclass
class _Catalogue:
    leaf: np.ndarray  # per category: row of the vocabulary
    top: np.ndarray  # per category: top category (vocabulary index)
    popularity: np.ndarray  # per category, sums to 1
    topics: np.ndarray  # per category
    brand_zh: np.ndarray
    brand_en: np.ndarray
    brand_top: np.ndarray
    brand_tier: np.ndarray
    cat: np.ndarray  # per item from here on
    brand: np.ndarray
    quality: np.ndarray
    price: np.ndarray  # list price at the start of the window
    elasticity: np.ndarray
    popularity_item: np.ndarray  # mean 1
    created: np.ndarray  # seconds from the window start (negative = before)
    zh: np.ndarray
    item_topics: np.ndarray
    weak_aspect: np.ndarray  # index into ASPECT_KEYS, -1 = none
    strong_aspect: np.ndarray
    texts: text.ItemText


_TIERS = ("budget", "mid", "premium")
_TIER_PRICE = np.array([0.6, 1.0, 1.9])
_TIER_QUALITY = np.array([0.42, 0.56, 0.72])


def _shop_price(p: np.ndarray) -> np.ndarray:
    """Prices the way shops write them: 199 rather than 203.4, 38.9 rather than 39.2."""
    return np.where(p >= 100, np.round(p / 10) * 10 - 1, np.maximum(np.round(p) - 0.1, 0.9))


def _catalogue(rng, n_items, n_categories, n_brands, n_topics, zh_share, days) -> _Catalogue:
    n_leaves = len(VOCAB.leaf_path_zh)
    # a subset of leaves spread over the top categories: rank leaves within their top, take low ranks first
    perm = rng.permutation(n_leaves)
    rank = np.empty(n_leaves)
    for top in np.unique(VOCAB.leaf_top):  # ten top categories
        mine = perm[VOCAB.leaf_top[perm] == top]
        rank[mine] = np.arange(len(mine))
    leaf = np.sort(np.lexsort((np.arange(n_leaves), rank))[:n_categories])
    top, n_cat = VOCAB.leaf_top[leaf], len(leaf)
    popularity = rng.gamma(2.0, 1.0, n_cat)
    popularity /= popularity.sum()

    scale = 1 / np.sqrt(n_topics)  # so a random vector has norm about 1
    top_vec = rng.normal(0, scale, (len(VOCAB.top_zh), n_topics))
    sub_vec = rng.normal(0, scale, (VOCAB.leaf_sub.max() + 1, n_topics))
    leaf_vec = rng.normal(0, scale, (n_leaves, n_topics))
    topics = _unit_rows(top_vec[top] + 0.7 * sub_vec[VOCAB.leaf_sub[leaf]] + 0.5 * leaf_vec[leaf])

    # brands: spread evenly over the top categories in use, each with a tier and a market size
    used_tops = np.unique(top)
    brand_top = rng.permutation(used_tops[np.arange(n_brands) % len(used_tops)])
    brand_tier = rng.choice(3, n_brands, p=[0.35, 0.45, 0.20])
    brand_size = rng.lognormal(0, 1.0, n_brands)
    brand_zh, brand_en = text.brand_names(n_brands, rng)
    brand_vec = rng.normal(0, scale, (n_brands, n_topics))

    # items: every category gets one, the rest follow category popularity
    cat = np.concatenate([rng.permutation(n_cat), rng.choice(n_cat, n_items - n_cat, p=popularity)])
    brand = _GroupSampler(brand_top, brand_size, len(VOCAB.top_zh)).draw(top[cat], rng)
    tier = brand_tier[brand]
    quality = np.clip(_TIER_QUALITY[tier] + rng.normal(0, 0.15, n_items), 0.02, 0.98)
    price = _shop_price(VOCAB.leaf_price[leaf[cat]] * _TIER_PRICE[tier] * rng.lognormal(0, 0.25, n_items))
    elasticity = np.clip(VOCAB.top_elasticity[top[cat]] + 0.3 * (tier == 2) + rng.normal(0, 0.35, n_items), -3, -0.5)
    pop_item = rng.lognormal(0, 1.0, n_items) * (0.5 + quality)
    pop_item /= pop_item.mean()
    launched = rng.random(n_items) < 0.12  # new items appear inside the window (cold start)
    created = np.where(launched, rng.uniform(0, 0.85 * days, n_items), rng.uniform(-720, -1, n_items)) * DAY
    item_topics = _unit_rows(topics[cat] + 0.4 * brand_vec[brand] + 0.6 * rng.normal(0, scale, (n_items, n_topics)))

    # review aspects: some items have a known weak point (e.g. battery) or strength
    aspects = VOCAB.leaf_aspects[leaf[cat]]
    n_aspects = (aspects >= 0).sum(axis=1)
    pick = (rng.random((n_items, 2)) * n_aspects[:, None]).astype(int)
    weak = np.where(rng.random(n_items) < 0.3, aspects[np.arange(n_items), pick[:, 0]], -1)
    strong = np.where(rng.random(n_items) < 0.3, aspects[np.arange(n_items), pick[:, 1]], -1)
    strong = np.where(strong == weak, -1, strong)

    return _Catalogue(
        leaf=leaf, top=top, popularity=popularity, topics=topics, brand_zh=brand_zh, brand_en=brand_en,
        brand_top=brand_top, brand_tier=brand_tier, cat=cat, brand=brand, quality=quality, price=price,
        elasticity=elasticity, popularity_item=pop_item, created=created, zh=rng.random(n_items) < zh_share,
        item_topics=item_topics, weak_aspect=weak, strong_aspect=strong,
        texts=text.item_texts(leaf[cat], brand_zh[brand], brand_en[brand], rng),
    )


# --------------------------------------------------------------------------- users
@dataclass
class _People:
    zh: np.ndarray
    activity: np.ndarray  # sessions per day
    signup: np.ndarray  # seconds from the window start
    active_from: np.ndarray
    active_until: np.ndarray  # churn time, or the window end
    churned: np.ndarray
    city_tier: np.ndarray
    price_sensitivity: np.ndarray
    age_group: np.ndarray
    device: np.ndarray
    interest_start: np.ndarray
    interest_end: np.ndarray
    drifted: np.ndarray
    slot_cat: np.ndarray  # (users, 8): 4 start slots then 4 end slots
    slot_start: np.ndarray  # (users, 8) weights at the start (end slots 0)
    slot_end: np.ndarray  # (users, 8) weights at the end (start slots 0)
    taste: np.ndarray


_DEVICES = ("app", "web", "mini_program")
_AGE_GROUPS = ("18-24", "25-34", "35-44", "45+")


def _people(rng, n_users, cat: _Catalogue, days, sessions_per_day, churn_rate, drift_rate, zh_share) -> _People:
    horizon = days * DAY
    sigma = 0.9
    activity = sessions_per_day * rng.lognormal(-sigma**2 / 2, sigma, n_users)
    newcomer = rng.random(n_users) < 0.25
    signup = np.where(newcomer, rng.uniform(0, 0.9, n_users) * horizon, -rng.uniform(1, 1095, n_users) * DAY)
    active_from = np.maximum(signup, 0.0)
    # light users churn more often: that is what makes churn predictable from behaviour
    hazard = (activity / activity.mean()) ** -0.4
    p_churn = np.clip(churn_rate * hazard / hazard.mean(), 0, 0.95)
    earliest = active_from + 7 * DAY
    churned = (rng.random(n_users) < p_churn) & (earliest < horizon)
    churn_at = earliest + rng.random(n_users) * (horizon - earliest)
    active_until = np.where(churned, churn_at, horizon)
    city_tier = rng.choice(4, n_users, p=[0.2, 0.3, 0.3, 0.2]) + 1
    price_sensitivity = np.clip(0.3 + 0.25 * (city_tier - 1) + rng.normal(0, 0.15, n_users), 0, None)

    # interests: 1-4 slots; extra slots lean to the first slot's top category (skincare fans like makeup)
    n_cat = len(cat.leaf)
    by_top = _GroupSampler(cat.top, cat.popularity, len(VOCAB.top_zh))
    slots = np.empty((n_users, 4), dtype=np.int64)
    slots[:, 0] = rng.choice(n_cat, n_users, p=cat.popularity)
    for j in range(1, 4):
        related = by_top.draw(cat.top[slots[:, 0]], rng)
        slots[:, j] = np.where(rng.random(n_users) < 0.5, related, rng.choice(n_cat, n_users, p=cat.popularity))
    active = np.arange(4) < (1 + rng.binomial(3, 0.4, n_users))[:, None]
    w_start = np.where(active, rng.gamma(1.5, 1.0, (n_users, 4)), 0.0)
    # drift: a user swaps one interest for a new one that ends up their strongest; all weights wander
    drifted = rng.random(n_users) < drift_rate
    swap = (rng.random(n_users) * active.sum(axis=1)).astype(int)
    end_slots = slots.copy()
    end_slots[drifted, swap[drifted]] = rng.choice(n_cat, drifted.sum(), p=cat.popularity)
    w_end = np.where(active, rng.gamma(1.5, 1.0, (n_users, 4)), 0.0)
    w_end[drifted, swap[drifted]] = w_end[drifted].max(axis=1) * 1.5
    w_start /= w_start.sum(axis=1, keepdims=True)
    w_end /= w_end.sum(axis=1, keepdims=True)

    def dense(slot_cat, weight):
        flat = np.repeat(np.arange(n_users), 4) * n_cat + slot_cat.ravel()
        return np.bincount(flat, weight.ravel(), minlength=n_users * n_cat).reshape(n_users, n_cat)

    interest_start, interest_end = dense(slots, w_start), dense(end_slots, w_end)
    n_topics = cat.topics.shape[1]
    taste = _unit_rows((interest_start + interest_end) / 2 @ cat.topics
                       + 0.7 * rng.normal(0, 1 / np.sqrt(n_topics), (n_users, n_topics)))
    zeros = np.zeros((n_users, 4))
    return _People(
        zh=rng.random(n_users) < zh_share, activity=activity, signup=signup, active_from=active_from,
        active_until=active_until, churned=churned, city_tier=city_tier, price_sensitivity=price_sensitivity,
        age_group=rng.choice(4, n_users, p=[0.25, 0.4, 0.22, 0.13]), device=rng.choice(3, n_users, p=[0.6, 0.15, 0.25]),
        interest_start=interest_start, interest_end=interest_end, drifted=drifted,
        slot_cat=np.hstack([slots, end_slots]), slot_start=np.hstack([w_start, zeros]),
        slot_end=np.hstack([zeros, w_end]), taste=taste,
    )


# --------------------------------------------------------------------------- prices and calendar
@dataclass
class _Calendar:
    weekday: np.ndarray  # per day: 0 = Monday
    day_of_year: np.ndarray
    festival: np.ndarray  # per day: demand multiplier (1 = ordinary day)
    list_price: np.ndarray  # (items, days)
    promo: np.ndarray  # (items, days): discount fraction

    def paid(self, item: np.ndarray, day: np.ndarray) -> np.ndarray:
        return self.list_price[item, day] * (1 - self.promo[item, day])


def _calendar(rng, start: pd.Timestamp, days: int, cat: _Catalogue) -> _Calendar:
    dates = pd.date_range(start, periods=days, freq="D")
    festival = np.ones(days)
    for (month, day), lift in _FESTIVALS.items():
        on = np.flatnonzero((dates.month == month) & (dates.day == day))
        for lead in (3, 2, 1):  # shoppers fill their carts in the days before
            before = np.clip(on - lead, 0, None)
            festival[before] = np.maximum(festival[before], 1.25)
        festival[on] = lift
    n_items = len(cat.cat)
    # promotions: episodes of 3-9 days at one discount, starting on about one day in 35
    starts = rng.random((n_items, days)) < 1 / 35
    length = rng.integers(3, 10, (n_items, days))
    depth = rng.choice([0.1, 0.15, 0.2, 0.25, 0.3, 0.4], (n_items, days))
    promo = np.zeros((n_items, days))
    for k in range(min(9, days)):
        running = starts[:, : days - k] & (length[:, : days - k] > k)
        promo[:, k:] = np.maximum(promo[:, k:], np.where(running, depth[:, : days - k], 0.0))
    # a quarter of the items get one lasting list-price change, so price varies outside promotions too
    changed = rng.random(n_items) < 0.25
    from_day = rng.integers(1, max(days, 2), n_items)
    factor = np.where(changed, rng.uniform(0.85, 1.15, n_items), 1.0)
    step = np.where(np.arange(days) >= from_day[:, None], factor[:, None], 1.0)
    list_price = _shop_price(cat.price[:, None] * step)
    return _Calendar(dates.dayofweek.to_numpy(), dates.dayofyear.to_numpy(), festival, list_price, promo)


# --------------------------------------------------------------------------- sessions and events
@dataclass
class _Sessions:
    user: np.ndarray
    start: np.ndarray  # seconds from the window start, sorted
    cat: np.ndarray  # the category the session is about
    explore: np.ndarray  # cat drawn at random rather than from the user's interests
    search: np.ndarray
    target: np.ndarray  # item the search query was written from, -1 for browsing
    query: text.Queries  # one row per search session, in session order
    n_views: np.ndarray


def _sessions(rng, people: _People, cat: _Catalogue, cal: _Calendar, items_by_cat: _GroupSampler,
              days, explore_rate, search_share) -> _Sessions:
    horizon = days * DAY
    span = people.active_until - people.active_from
    # thinning: propose at the busiest rate, keep each proposal with probability rate(t) / busiest
    busiest = _WEEKDAY.max() * cal.festival.max()
    user = np.repeat(np.arange(len(span)), rng.poisson(people.activity * span / DAY * busiest))
    t = people.active_from[user] + rng.random(len(user)) * span[user]
    hour = rng.choice(24, len(user), p=_HOURS / _HOURS.sum())
    t = np.floor(t / DAY) * DAY + (hour + rng.random(len(user))) * 3600
    inside = (t >= people.active_from[user]) & (t < people.active_until[user])
    day = np.clip(t // DAY, 0, days - 1).astype(np.int64)
    to_churn = (people.active_until[user] - t) / (28 * DAY)
    fading = np.where(people.churned[user], np.clip(0.25 + 0.75 * to_churn, 0.25, 1.0), 1.0)
    rate = _WEEKDAY[cal.weekday[day]] * cal.festival[day] * fading
    keep = inside & (rng.random(len(user)) < rate / busiest)
    order = np.argsort(t[keep], kind="stable")
    user, t = user[keep][order], t[keep][order]
    n = len(user)

    # the session's category: one interest slot, weighted by where the drift stands at time t
    s = (t / horizon)[:, None]
    weights = np.cumsum(people.slot_start[user] * (1 - s) + people.slot_end[user] * s, axis=1)
    slot = (weights < (rng.random(n) * weights[:, -1])[:, None]).sum(axis=1)
    explore = rng.random(n) < explore_rate
    category = np.where(explore, rng.choice(len(cat.leaf), n, p=cat.popularity), people.slot_cat[user, slot])

    # searches are written from a target item that already exists
    search = rng.random(n) < search_share
    target = np.where(search, items_by_cat.draw(category, rng), -1)
    for _ in range(3):
        late = search & (cat.created[target] > t)
        target[late] = items_by_cat.draw(category[late], rng)
    search &= cat.created[target] <= t
    target = np.where(search, target, -1)
    q_item = target[search]
    query = text.queries(cat.leaf[cat.cat[q_item]], cat.texts.mod[q_item], cat.brand_zh[cat.brand[q_item]],
                         cat.brand_en[cat.brand[q_item]], people.zh[user[search]], rng)
    n_views = np.minimum(rng.geometric(0.3, n), 30)
    return _Sessions(user, t, category, explore, search, target, query, n_views)


@dataclass
class _Events:
    user: np.ndarray
    item: np.ndarray  # -1 for searches
    kind: np.ndarray  # index into _FUNNEL
    ts: np.ndarray
    session: np.ndarray
    query: np.ndarray  # index into the session queries, -1 when not a search
    value: np.ndarray  # price paid for purchases, NaN otherwise
    taste_match: np.ndarray  # taste-topic cosine of user and item, NaN for searches


def _events(rng, ses: _Sessions, people: _People, cat: _Catalogue, cal: _Calendar,
            items_by_cat: _GroupSampler, everywhere: _GroupSampler, days) -> _Events:
    n_brands = len(cat.brand_en)
    view_session = np.repeat(np.arange(len(ses.user)), ses.n_views)
    n = len(view_session)
    first = np.cumsum(ses.n_views) - ses.n_views
    user, t_session = ses.user[view_session], ses.start[view_session]
    target = ses.target[view_session]
    query_brand = np.zeros(len(ses.user), dtype=bool)
    query_brand[ses.search] = ses.query.has_brand
    query_brand = query_brand[view_session]

    # each view: draw 5 candidates by popularity (from the searched brand for half the views of a
    # brand query), keep the one the user's taste prefers (Gumbel-max): exposure is personalised
    candidates = 5
    cat_brand = cat.cat * n_brands + cat.brand
    items_by_cat_brand = _GroupSampler(cat_brand, cat.popularity_item, len(cat.leaf) * n_brands)
    cand = items_by_cat.draw(np.repeat(ses.cat[view_session], candidates), rng).reshape(n, candidates)
    from_brand = np.flatnonzero(query_brand & (rng.random(n) < 0.5))
    brand_groups = np.repeat(cat_brand[target[from_brand]], candidates)
    cand[from_brand] = items_by_cat_brand.draw(brand_groups, rng).reshape(-1, candidates)
    # search engines are imperfect: a fifth of the results of a search come from anywhere
    off_topic = np.flatnonzero((target >= 0) & (rng.random(n) < 0.2))
    cand[off_topic] = everywhere.draw(np.zeros(len(off_topic) * candidates, np.int64), rng).reshape(-1, candidates)
    taste = people.taste[user].astype(np.float32)
    topics = cat.item_topics.astype(np.float32)
    score = np.stack([np.einsum("nd,nd->n", taste, topics[cand[:, m]]) for m in range(candidates)], axis=1)
    choice = 3.0 * score + rng.gumbel(size=score.shape)
    choice[cat.created[cand] > t_session[:, None]] = -np.inf
    pick = np.argmax(choice, axis=1)
    exists = np.isfinite(choice[np.arange(n), pick])
    item, affinity = cand[np.arange(n), pick], score[np.arange(n), pick]
    # a search shows its target first most of the time
    top_hit = (target >= 0) & (np.arange(n) == first[view_session]) & (rng.random(n) < 0.7)
    item = np.where(top_hit, target, item)
    affinity = np.where(top_hit, np.einsum("nd,nd->n", taste, topics[np.maximum(target, 0)]), affinity)
    exists |= top_hit

    gaps = 8 + rng.exponential(45, n)
    elapsed = np.cumsum(gaps)
    t_view = t_session + elapsed - (elapsed - gaps)[first][view_session]
    last_view = t_view[first + ses.n_views - 1][view_session]

    # the funnel: taste, quality, relevance to the query, price level and the discount of the day
    quality = cat.quality[item] - 0.5
    on_topic = (target >= 0) & (cat.cat[item] == ses.cat[view_session])
    hit = (item == target) | (query_brand & (cat.brand[item] == cat.brand[np.maximum(target, 0)]))
    day = np.clip(t_view // DAY, 0, days - 1).astype(np.int64)
    price_level = np.log(cat.price[item] / VOCAB.leaf_price[cat.leaf[cat.cat[item]]])
    discount = np.log(cal.paid(item, day) / cat.price[item])
    click = exists & (rng.random(n) < _sigmoid(-2.4 + 3.0 * affinity + 2.0 * quality + 0.8 * on_topic + 0.8 * hit))
    cart = click & (rng.random(n) < _sigmoid(-2.2 + 2.0 * affinity + 2.0 * quality
                                             - people.price_sensitivity[user] * price_level))
    buy = cart & (rng.random(n) < _sigmoid(-0.6 + 1.0 * affinity + 1.5 * quality + cat.elasticity[item] * discount))
    t_click = t_view + rng.uniform(2, 20, n)
    t_cart = t_click + rng.uniform(5, 90, n)
    t_buy = np.maximum(last_view, t_cart) + rng.uniform(20, 300, n)  # checkout after browsing
    buy_day = np.clip(t_buy // DAY, 0, days - 1).astype(np.int64)
    paid = np.round(cal.paid(item, buy_day), 2)

    searches = np.flatnonzero(ses.search)
    stages = [exists, click, cart, buy]  # kinds 0..3; searches (kind 4) come first in these arrays
    session = np.concatenate([searches] + [view_session[r] for r in stages])
    kind = np.concatenate([np.full(len(searches), 4)] + [np.full(r.sum(), k) for k, r in enumerate(stages)])
    ts = np.floor(np.concatenate([ses.start[searches], t_view[exists], t_click[click], t_cart[cart], t_buy[buy]]))
    items = np.concatenate([np.full(len(searches), -1)] + [item[r] for r in stages])
    query = np.concatenate([np.arange(len(searches)), np.full(len(kind) - len(searches), -1)])
    value = np.concatenate([np.full(len(kind) - buy.sum(), np.nan), paid[buy]])
    taste_match = np.concatenate([np.full(len(searches), np.nan)] + [affinity[r] for r in stages])

    # churned users stop: nothing at or after their churn time (nor after the window end)
    users = ses.user[session]
    keep = ts < people.active_until[users]
    stage = np.where(kind == 4, 0, kind + 1)  # search, view, click, cart, purchase
    order = np.lexsort((stage[keep], session[keep], ts[keep]))
    pick = np.flatnonzero(keep)[order]
    return _Events(users[pick], items[pick], kind[pick], ts[pick], session[pick], query[pick], value[pick],
                   taste_match[pick])


# --------------------------------------------------------------------------- reviews
def _reviews(rng, ev: _Events, people: _People, cat: _Catalogue, review_rate):
    """Some purchases get a review 1-12 days later (if the user is still around)."""
    bought = np.flatnonzero((ev.kind == 3) & (rng.random(len(ev.kind)) < review_rate))
    user, item = ev.user[bought], ev.item[bought]
    ts = ev.ts[bought] + np.floor(rng.uniform(1, 12, len(bought)) * DAY)
    keep = ts < people.active_until[user]
    user, item, ts, match = user[keep], item[keep], ts[keep], ev.taste_match[bought][keep]
    order = np.argsort(ts, kind="stable")
    user, item, ts, match = user[order], item[order], ts[order], match[order]
    n = len(user)

    latent = 2.0 + 3.5 * cat.quality[item] + 0.8 * (match - 0.5) + rng.normal(0, 0.8, n)
    rating = np.clip(np.rint(latent), 1, 5)
    # 1-3 aspects of the item's category; its weak or strong aspect is mentioned more often
    leaf = cat.leaf[cat.cat[item]]
    options = VOCAB.leaf_aspects[leaf]
    weak, strong = cat.weak_aspect[item][:, None], cat.strong_aspect[item][:, None]
    notable = (options >= 0) & ((options == weak) | (options == strong))
    keys = rng.random(options.shape) ** (1 / np.where(notable, 4.0, 1.0))  # weighted sampling without replacement
    keys[options < 0] = -1
    order = np.argsort(-keys, axis=1)[:, :3]
    aspects = np.take_along_axis(options, order, axis=1)
    aspects[np.arange(3) >= (1 + rng.binomial(2, 0.45, n))[:, None]] = -1
    bias = np.where(aspects == weak, -2.5, np.where(aspects == strong, 2.0, 0.0))
    positive = rng.random(aspects.shape) < _sigmoid(1.4 * (latent[:, None] - 3) + bias)
    zh = people.zh[user]
    review_text, said = text.review_texts(leaf, rating, aspects, positive, zh, rng)

    slot_review, slot = np.nonzero(aspects >= 0)
    aspect = aspects[slot_review, slot]
    aspect_truth = dict(review=slot_review, aspect=np.array(ASPECT_KEYS)[aspect],
                        aspect_zh=np.array([ASPECTS[k][0] for k in ASPECT_KEYS])[aspect],
                        polarity=np.where(positive[slot_review, slot], 1, -1), phrase=said[slot_review, slot])
    return dict(user=user, item=item, ts=ts, rating=rating, text=review_text), aspect_truth


# --------------------------------------------------------------------------- sales
def _sales(rng, cat: _Catalogue, cal: _Calendar, n_stores, days, sales_scale):
    n_items = len(cat.cat)
    store_size = 0.6 ** np.arange(n_stores)  # s1 is the flagship
    carried = rng.random((n_items, n_stores)) < np.r_[1.0, np.full(n_stores - 1, 0.6)]
    pair_item, pair_store = np.nonzero(carried)
    pair_factor = rng.lognormal(0, 0.2, len(pair_item))
    first_day = np.clip(np.ceil(cat.created / DAY), 0, days).astype(np.int64)
    grid_day = np.tile(np.arange(days), len(pair_item))
    grid_pair = np.repeat(np.arange(len(pair_item)), days)
    on_sale = grid_day >= first_day[pair_item][grid_pair]
    pair, day = grid_pair[on_sale], grid_day[on_sale]
    item, store = pair_item[pair], pair_store[pair]

    top = cat.top[cat.cat[item]]
    season = 1 + VOCAB.top_season_amplitude[top] * np.cos(
        2 * np.pi * (cal.day_of_year[day] - VOCAB.top_season_peak[top]) / 365.25)
    trend = np.exp(rng.normal(0, 0.3, n_items)[item] * day / 365)
    price = cal.paid(item, day)
    expected = (sales_scale * cat.popularity_item[item] ** 0.7 * store_size[store] * pair_factor[pair]
                * _WEEKDAY[cal.weekday[day]] * season * cal.festival[day] * trend
                * (price / cat.price[item]) ** cat.elasticity[item])
    qty = rng.poisson(expected * rng.gamma(4.0, 0.25, len(item)))  # gamma-Poisson: over-dispersed counts
    return dict(item=item, store=store, day=day, qty=qty, price=np.round(price, 2),
                promo=cal.promo[item, day], expected=expected)


# --------------------------------------------------------------------------- ads
_PLACEMENTS = ("feed", "search", "detail")
_PLACEMENT_EFFECT = np.array([0.0, 0.5, 0.2])
_DEVICE_EFFECT = np.array([0.2, -0.2, 0.0])


def _ads(rng, ses: _Sessions, people: _People, cat: _Catalogue, items_by_cat: _GroupSampler,
         everywhere: _GroupSampler, days, ads_per_session):
    """Ads shown during sessions: half targeted at the session's category, half run of network."""
    n_items = len(cat.cat)
    session = np.repeat(np.arange(len(ses.user)), rng.poisson(ads_per_session, len(ses.user)))
    user = ses.user[session]
    ts = np.floor(ses.start[session] + rng.uniform(0, 600, len(session)))
    targeted = rng.random(len(session)) < 0.5
    anywhere = np.zeros(len(session), np.int64)
    item = np.where(targeted, items_by_cat.draw(ses.cat[session], rng), everywhere.draw(anywhere, rng))
    for _ in range(3):  # items not launched yet are replaced by run-of-network ones
        late = np.flatnonzero(cat.created[item] > ts)
        item[late] = everywhere.draw(np.zeros(len(late), np.int64), rng)
    keep = (ts < people.active_until[user]) & (cat.created[item] <= ts)
    order = np.flatnonzero(keep)[np.argsort(ts[keep], kind="stable")]
    session, user, ts, item = session[order], user[order], ts[order], item[order]
    n = len(session)

    creatives = 1 + rng.binomial(2, 0.3, n_items)  # each item runs 1-3 ad creatives
    first_ad = np.cumsum(creatives) - creatives
    creative_effect = rng.normal(0, 0.3, creatives.sum())
    ad = first_ad[item] + (rng.random(n) * creatives[item]).astype(np.int64)
    position = rng.integers(1, 6, n)
    placement = np.where(ses.search[session] & (rng.random(n) < 0.6), 1, rng.choice([0, 2], n, p=[0.7, 0.3]))
    device = people.device[user]
    s = ts / (days * DAY)
    c = cat.cat[item]
    interest = (1 - s) * people.interest_start[user, c] + s * people.interest_end[user, c]
    taste = np.einsum("nd,nd->n", people.taste[user], cat.item_topics[item])
    logit = (-5.0 + 3.0 * interest + 2.5 * taste + 1.0 * (cat.quality[item] - 0.5) - 0.3 * (position - 1)
             + _PLACEMENT_EFFECT[placement] + _DEVICE_EFFECT[device] + creative_effect[ad])
    ctr = _sigmoid(logit)
    clicked = (rng.random(n) < ctr).astype(np.int64)
    return dict(user=user, item=item, ts=ts, ad=ad, n_ads=len(creative_effect), clicked=clicked,
                position=position, placement=placement, device=device, ctr=ctr)


# --------------------------------------------------------------------------- public API
def marketplace(n_users: int = 2000, n_items: int = 500, days: int = 180, seed: int = 0, *,
                n_categories: int | None = None, n_brands: int | None = None, n_stores: int = 3,
                n_topics: int = 16, churn_rate: float = 0.2, drift_rate: float = 0.4, zh_share: float = 0.6,
                sessions_per_day: float = 0.063, explore_rate: float = 0.1, search_share: float = 0.3,
                review_rate: float = 0.3, ads_per_session: float = 1.5, sales_scale: float = 3.0,
                start: str = "2025-01-01") -> Marketplace:
    """Simulate a marketplace; the same arguments always give identical tables.

    n_categories: leaf categories used (default all 72, or n_items if fewer); n_brands: default n_items // 15
    (at least 2 per top category); churn_rate: share of users who churn inside the window; drift_rate: share
    of users who take up a new interest; sessions_per_day: mean session rate per user; the other rates are
    shares of sessions (search, explore), purchases (review) and ads per session. See the module docstring.
    """
    params = dict(locals())
    n_leaves = len(VOCAB.leaf_path_zh)
    n_categories = min(n_leaves, n_items) if n_categories is None else n_categories
    if not 1 <= n_categories <= min(n_leaves, n_items):
        raise ValueError(f"n_categories must be between 1 and min({n_leaves}, n_items), got {n_categories}")
    if n_users < 1 or days < 1 or n_stores < 1:
        raise ValueError("n_users, days and n_stores must be at least 1")
    n_brands = max(2 * len(VOCAB.top_zh), n_items // 15) if n_brands is None else n_brands
    params.update(n_categories=n_categories, n_brands=n_brands)
    streams = np.random.SeedSequence(seed).spawn(8)
    rng = dict(zip(("catalogue", "people", "calendar", "sessions", "events", "reviews", "sales", "ads"),
                   map(np.random.default_rng, streams)))
    start_ts = pd.Timestamp(start)

    cat = _catalogue(rng["catalogue"], n_items, n_categories, n_brands, n_topics, zh_share, days)
    people = _people(rng["people"], n_users, cat, days, sessions_per_day, churn_rate, drift_rate, zh_share)
    cal = _calendar(rng["calendar"], start_ts, days, cat)
    items_by_cat = _GroupSampler(cat.cat, cat.popularity_item, n_categories)
    everywhere = _GroupSampler(np.zeros(n_items, dtype=np.int64), cat.popularity_item, 1)
    ses = _sessions(rng["sessions"], people, cat, cal, items_by_cat, days, explore_rate, search_share)
    ev = _events(rng["events"], ses, people, cat, cal, items_by_cat, everywhere, days)
    reviews, aspects = _reviews(rng["reviews"], ev, people, cat, review_rate)
    sales = _sales(rng["sales"], cat, cal, n_stores, days, sales_scale)
    ads = _ads(rng["ads"], ses, people, cat, items_by_cat, everywhere, days, ads_per_session)
    return _assemble(start_ts, days, cat, people, ses, ev, reviews, aspects, sales, ads, params)


def marketplace_for_events(n_events: int = 1_000_000, seed: int = 0, **kwargs) -> Marketplace:
    """A marketplace with about `n_events` events: users scale with n_events, items are a quarter of them.

    At 1M events that is marketplace(n_users=20_000, n_items=5_000, days=180). Other keywords pass through.
    """
    days = kwargs.pop("days", 180)
    n_users = max(50, round(n_events / (EVENTS_PER_USER * days / 180)))
    n_items = kwargs.pop("n_items", max(100, n_users // 4))
    return marketplace(n_users=n_users, n_items=n_items, days=days, seed=seed, **kwargs)


def _assemble(start, days, cat, people, ses, ev, reviews, aspects, sales, ads, params) -> Marketplace:
    t0 = np.datetime64(start, "ns")
    n_items, n_users = len(cat.cat), len(people.zh)
    item_ids, user_ids = _ids("i", n_items), _ids("u", n_users)
    session_ids = _ids("sess", len(ses.user))
    lang = np.array(["en", "zh"])
    path_zh, path_en = np.array(VOCAB.leaf_path_zh)[cat.leaf], np.array(VOCAB.leaf_path_en)[cat.leaf]
    top_zh = np.array(VOCAB.top_zh)
    tx = cat.texts

    items = pd.DataFrame({
        "item_id": item_ids,
        "title": _strings(np.where(cat.zh, tx.title_zh, tx.title_en)),
        "description": _strings(np.where(cat.zh, tx.description_zh, tx.description_en)),
        "category": _take(path_zh, cat.cat),
        "brand": _take(cat.brand_en, cat.brand),
        "price": cat.price,
        "created_at": _timestamps(t0, cat.created),
        "title_zh": _strings(tx.title_zh),
        "title_en": _strings(tx.title_en),
        "description_zh": _strings(tx.description_zh),
        "description_en": _strings(tx.description_en),
        "category_en": _take(path_en, cat.cat),
        "brand_zh": _take(cat.brand_zh, cat.brand),
        "lang": _take(lang, cat.zh.astype(int)),
    })
    users = pd.DataFrame({
        "user_id": user_ids,
        "signup_at": _timestamps(t0, people.signup),
        "lang": _take(lang, people.zh.astype(int)),
        "city_tier": people.city_tier.astype(np.int64),
        "age_group": _take(_AGE_GROUPS, people.age_group),
        "device": _take(_DEVICES, people.device),
    })
    events = pd.DataFrame({
        "user_id": _take(user_ids, ev.user),
        "item_id": _take(item_ids, ev.item),
        "event": _take(_FUNNEL, ev.kind),
        "ts": _timestamps(t0, ev.ts),
        "session_id": _take(session_ids, ev.session),
        "query": _take(ses.query.text, ev.query),
        "value": ev.value,
    })
    review_ids = _ids("r", len(reviews["user"]))
    review_table = pd.DataFrame({
        "review_id": review_ids,
        "user_id": _take(user_ids, reviews["user"]),
        "item_id": _take(item_ids, reviews["item"]),
        "rating": reviews["rating"].astype(float),
        "text": _strings(reviews["text"]),
        "ts": _timestamps(t0, reviews["ts"]),
    })
    sales_table = pd.DataFrame({
        "item_id": _take(item_ids, sales["item"]),
        "store_id": _take([f"s{k + 1}" for k in range(params["n_stores"])], sales["store"]),
        "ts": _timestamps(t0, sales["day"] * DAY),
        "qty": sales["qty"].astype(float),
        "price": sales["price"],
        "promo": sales["promo"],
    })
    ad_table = pd.DataFrame({
        "ts": _timestamps(t0, ads["ts"]),
        "user_id": _take(user_ids, ads["user"]),
        "item_id": _take(item_ids, ads["item"]),
        "ad_id": _take(_ids("ad", ads["n_ads"]), ads["ad"]),
        "clicked": ads["clicked"],
        "position": ads["position"],
        "placement": _take(_PLACEMENTS, ads["placement"]),
        "device": _take(_DEVICES, ads["device"]),
    })

    searches = np.flatnonzero(ses.search)
    q, target = ses.query, ses.target[ses.search]
    truth = Truth(
        start=start,
        end=start + pd.Timedelta(days=days),
        categories=pd.DataFrame({
            "category": path_zh, "category_en": path_en, "top": top_zh[cat.top],
            "top_en": np.array(VOCAB.top_en)[cat.top], "popularity": cat.popularity,
            "elasticity_mean": VOCAB.top_elasticity[cat.top],
            "season_amplitude": VOCAB.top_season_amplitude[cat.top], "season_peak_day": VOCAB.top_season_peak[cat.top],
            "aspects": [" ".join(ASPECT_KEYS[a] for a in row if a >= 0) for row in VOCAB.leaf_aspects[cat.leaf]],
        }),
        brands=pd.DataFrame({
            "brand": _strings(cat.brand_en),
            "brand_zh": _strings(cat.brand_zh),
            "top": top_zh[cat.brand_top], "tier": np.array(_TIERS)[cat.brand_tier],
            "price_multiplier": _TIER_PRICE[cat.brand_tier], "quality_mean": _TIER_QUALITY[cat.brand_tier],
        }),
        items=pd.DataFrame({
            "item_id": item_ids, "category": items["category"], "brand": items["brand"], "lang": items["lang"],
            "price": cat.price, "quality": cat.quality, "elasticity": cat.elasticity,
            "popularity": cat.popularity_item, "created_at": items["created_at"],
            "weak_aspect": _take(ASPECT_KEYS, cat.weak_aspect), "strong_aspect": _take(ASPECT_KEYS, cat.strong_aspect),
        }),
        item_topics=cat.item_topics,
        category_topics=cat.topics,
        users=pd.DataFrame({
            "user_id": user_ids, "lang": users["lang"], "activity_rate": people.activity,
            "signup_at": users["signup_at"],
            "churn_at": _timestamps(t0, people.active_until).where(people.churned),
            "active_until": _timestamps(t0, people.active_until),
            "price_sensitivity": people.price_sensitivity, "drifted": people.drifted,
        }),
        user_tastes=people.taste,
        interest_start=people.interest_start,
        interest_end=people.interest_end,
        sessions=pd.DataFrame({
            "session_id": session_ids, "user_id": _take(user_ids, ses.user), "start": _timestamps(t0, ses.start),
            "category": _take(path_zh, ses.cat), "search": ses.search, "explore": ses.explore,
        }),
        queries=pd.DataFrame({
            "session_id": _take(session_ids, searches), "user_id": _take(user_ids, ses.user[searches]),
            "ts": _timestamps(t0, ses.start[searches]), "query": _strings(q.text),
            "lang": _take(lang, people.zh[ses.user[searches]].astype(int)),
            "category": _take(path_zh, ses.cat[searches]),
            "brand": _take(cat.brand_en, np.where(q.has_brand, cat.brand[target], -1)),
            "item_id": _take(item_ids, target), "has_modifier": q.has_modifier, "has_typo": q.has_typo,
        }),
        review_aspects=pd.DataFrame({
            "review_id": _take(review_ids, aspects["review"]), "aspect": _strings(aspects["aspect"]),
            "aspect_zh": _strings(aspects["aspect_zh"]), "polarity": aspects["polarity"],
            "phrase": _strings(aspects["phrase"]),
        }),
        demand=pd.Series(sales["expected"], name="expected_qty"),
        ad_ctr=pd.Series(ads["ctr"], name="ctr"),
    )
    tables = {"items": items, "users": users, "events": events, "reviews": review_table,
              "sales": sales_table, "ad_impressions": ad_table}
    return Marketplace(tables=tables, truth=truth, params=params)
