"""ShopLens's sequences as RecBole atomic files (https://recbole.io/docs/user_guide/data/atomic_files.html).

One `.inter` row per event: `user_id:token`, `item_id:token` (ShopLens's dense user and item indices, so any
external id is safe in a tab-separated file) and `timestamp:float` = the event's position in the user's
sequence, so RecBole's time ordering (`order: TO`) keeps ShopLens's order exactly, ties included. Users with
fewer than `MIN_LEN` events are left out: ShopLens only trains on them, while RecBole's leave-one-out would test
them on their last item; they are counted so the result can say so."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from shoplens.recommend.evaluate import leave_one_out

MIN_LEN = 3  # ShopLens's leave_one_out evaluates users with at least this many events
HEADER = "user_id:token\titem_id:token\ttimestamp:float\n"


def write_atomic(sequences: Sequence[np.ndarray], folder: str | Path, name: str) -> dict:
    """Write `folder/name/name.inter` and `folder/name/targets.json` (each evaluated user's validation and test
    item, as ShopLens's `leave_one_out` has them, for the runner to check RecBole's split against). Returns counts."""
    where = Path(folder) / name
    where.mkdir(parents=True, exist_ok=True)
    split = leave_one_out(sequences, min_len=MIN_LEN)
    kept = set(split.users.tolist())
    with (where / f"{name}.inter").open("w") as f:
        f.write(HEADER)
        for u in split.users.tolist():
            f.writelines(f"{u}\t{item}\t{position}\n" for position, item in enumerate(sequences[u].tolist()))
    targets = {str(u): [str(v), str(t)] for u, v, t in zip(split.users.tolist(), split.valid_target.tolist(),
                                                            split.test_target.tolist())}
    (where / "targets.json").write_text(json.dumps(targets))
    return {"users_written": len(kept), "users_left_out_too_short": len(sequences) - len(kept),
            "interactions_written": int(sum(len(sequences[u]) for u in kept))}


def read_atomic(path: str | Path) -> dict[str, list[str]]:
    """An `.inter` file back as RecBole orders it (by user, then timestamp): user token -> item tokens."""
    rows = [line.rstrip("\n").split("\t") for line in Path(path).read_text().splitlines()[1:] if line]
    by_user: dict[str, list[tuple[float, str]]] = {}
    for user, item, timestamp in rows:
        by_user.setdefault(user, []).append((float(timestamp), item))
    return {user: [item for _, item in sorted(events, key=lambda e: e[0])] for user, events in by_user.items()}
