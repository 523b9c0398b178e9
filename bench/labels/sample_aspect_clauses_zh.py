"""Print the candidate clauses that bench/labels/aspect-clauses-zh.csv was labelled from (to stdout, never to
the repo: the review texts may not be copied).

    .venv/bin/python bench/labels/sample_aspect_clauses_zh.py > /tmp/aspect-candidates.tsv

Seeded (17). Reviews are cut with `split_clauses`; a clause is a candidate when it has 3-40 characters and a
jieba noun of two or more characters (n, vn, nz, nr), so the pick does not depend on the aspect extractor under
test. "random": per stratum (source x category), shuffled reviews, one random candidate clause per review, up to
the stratum's quota. "hard:<rule>": from other shuffled reviews, the first clauses matching each rule's pattern
(negation of a negative word, double negation, a contrast word inside the clause, a degree word, a brand or
product name), up to the rule's quota. Columns: source, file, row_id, clause_index, sha1, pick, clause.
"""

from __future__ import annotations

import re
import sys

import numpy as np

from shoplens.bench.aspects import clause_sha1, corpus_reviews
from shoplens.reviews.aspects import split_clauses

SEED = 17
RANDOM_QUOTA = {("online-shopping-10cats", cat): 30 for cat in
                ("平板", "水果", "洗发水", "衣服", "酒店", "计算机", "书籍", "手机", "蒙牛", "热水器")}
RANDOM_QUOTA |= {("chnsenticorp-htl-all", ""): 45, ("chnsenticorp", ""): 45}
# A second random round (own seed, after the hard picks, so the first rounds' picks are unchanged): added once
# the first 470 candidates were labelled and only 244 of them named a product aspect.
MORE_SEED = 18
MORE_QUOTA = {stratum: 12 for stratum in RANDOM_QUOTA if stratum[0] == "online-shopping-10cats"}
MORE_QUOTA |= {("chnsenticorp-htl-all", ""): 20, ("chnsenticorp", ""): 20}
HARD_RULES = {  # rule -> (pattern, quota); picked across all sources
    "negated-negative": (r"(没有|没|无|不)(什么|任何|一点|太)?(噪音|噪声|异味|色差|问题|毛病|硬|卡|贵|差|慢|吵|味|缺点|掉色|起球|烫)", 22),
    "double-negation": (r"不是不|没有不|不能不|不会不|不得不|没有什么不|无不|不无", 8),
    "contrast-inside": (r"^(可|可惜|就是|只是|还是|倒是|反而)|虽然|尽管", 18),
    "degree": (r"(非常|特别|十分|相当|有点|有些|稍微|略|比较|太|超级|极其)", 14),
    "brand-or-product": (r"蒙牛|伊利|光明|特仑苏|联想|戴尔|惠普|华硕|苹果|ipad|iPad|华为|小米|三星|诺基亚|海尔|美的|飘柔|海飞丝|清扬|潘婷|索尼|东芝", 18),
}


def _candidate(clause: str) -> bool:
    from jieba import posseg

    if not 3 <= len(clause) <= 40:
        return False
    return any(w.flag in ("n", "vn", "nz", "nr") and len(w.word) >= 2 for w in posseg.lcut(clause))


def main() -> None:
    rng = np.random.default_rng(SEED)
    frames = corpus_reviews()
    used: set[tuple[str, str]] = set()
    out = sys.stdout
    print("source\tfile\trow_id\tclause_index\tsha1\tpick\tclause", file=out)

    def emit(row, index, clause, pick):
        used.add((row.source, row.row_id))
        print(f"{row.source}\t{row.file}\t{row.row_id}\t{index}\t{clause_sha1(clause)}\t{pick}\t{clause}", file=out)

    def random_round(rng, quotas):
        for (source, category), quota in quotas.items():
            frame = frames[frames["source"] == source]
            if category:
                frame = frame[frame["category"] == category]
            taken = 0
            for position in rng.permutation(len(frame)):
                row = frame.iloc[position]
                if (row.source, row.row_id) in used:
                    continue
                clauses = [(i, c) for i, c in enumerate(split_clauses(row.text)) if _candidate(c)]
                if not clauses:
                    continue
                index, clause = clauses[rng.integers(len(clauses))]
                emit(row, index, clause, "random")
                taken += 1
                if taken == quota:
                    break

    random_round(rng, RANDOM_QUOTA)

    order = rng.permutation(len(frames))
    for rule, (pattern, quota) in HARD_RULES.items():
        taken = 0
        for position in order:
            row = frames.iloc[position]
            if (row.source, row.row_id) in used:
                continue
            hit = next(((i, c) for i, c in enumerate(split_clauses(row.text))
                        if re.search(pattern, c) and _candidate(c)), None)
            if hit is None:
                continue
            emit(row, *hit, f"hard:{rule}")
            taken += 1
            if taken == quota:
                break
    random_round(np.random.default_rng(MORE_SEED), MORE_QUOTA)


if __name__ == "__main__":
    main()
