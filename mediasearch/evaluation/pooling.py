"""Fair pooling (the TREC method): what to judge next for a query.

The pool is the union of the top ``depth`` results of every encoder that can answer the
query. Judging only one encoder's results would make that encoder look better (its
misses stay unjudged, and unjudged counts as not relevant for everyone); judging the
pool gives every encoder's results the same chance of being judged.

Order ("label next", the default): unjudged items first, those whose grade could change
the comparison most leading. An item's *disagreement* is how differently the encoders
placed it: each encoder that pooled it gains ``1 / log2(rank + 1)`` from it if it turns
out relevant (its NDCG discount; encoders that did not retrieve it in their top
``depth`` gain 0), and the disagreement is the largest gain minus the smallest. An item
every encoder ranked first changes no comparison whatever its grade (disagreement 0);
one that a single encoder ranked first and the others missed moves their difference
most (disagreement 1). Ties, and the whole order with ``order="depth"``, go by the best
rank any encoder gave the item (depth by depth, round-robin over encoders: every
encoder's rank-1 result before anyone's rank-2), then by how many encoders retrieved it
(more first), then by key, so the order is deterministic.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

logger = logging.getLogger(__name__)


@dataclass
class PoolItem:
    """One pooled document. ``ranks``: encoder -> 1-based rank in its top ``depth``;
    ``grade``: the current judgement, None when unjudged."""

    doc: str
    ranks: dict[str, int] = field(default_factory=dict)
    grade: int | None = None
    path: str = ""
    disagreement: float = 0.0

    @property
    def best_rank(self) -> int:
        return min(self.ranks.values())

    @property
    def judged(self) -> bool:
        return self.grade is not None

    def to_json(self) -> dict:
        return {
            "content_hash": self.doc,
            "path": self.path,
            "grade": self.grade,
            "best_rank": self.best_rank,
            "ranks": dict(sorted(self.ranks.items())),
            "disagreement": round(self.disagreement, 6),
        }


def pool(
    rankings: Mapping[str, Sequence[str]],
    qrels: Mapping[str, int],
    *,
    depth: int = 10,
    paths: Mapping[str, str] | None = None,
    order: str = "label-next",
) -> list[PoolItem]:
    """The pool of ``rankings`` (encoder -> docs best first) cut at ``depth``, in judging
    order (``order``: "label-next" or "depth"; see the module docstring). ``qrels`` give
    existing grades; ``paths`` optional display paths per doc."""
    if depth <= 0:
        raise ValueError(f"depth must be positive, got {depth}")
    if order not in ("label-next", "depth"):
        raise ValueError(f"unknown pool order {order!r} (label-next or depth)")
    items: dict[str, PoolItem] = {}
    for encoder, ranking in rankings.items():
        for rank, doc in enumerate(ranking[:depth], start=1):
            item = items.get(doc)
            if item is None:
                item = items[doc] = PoolItem(doc, grade=qrels.get(doc), path=(paths or {}).get(doc, ""))
            # a ranking may repeat a doc (ungrouped segments): keep its best rank
            item.ranks.setdefault(encoder, rank)
    for item in items.values():
        gains = [1.0 / math.log2(item.ranks[e] + 1) if e in item.ranks else 0.0 for e in rankings]
        item.disagreement = max(gains) - min(gains)
    if order == "depth":
        return sorted(items.values(), key=lambda it: (it.judged, it.best_rank, -len(it.ranks), it.doc))
    return sorted(
        items.values(),
        key=lambda it: (it.judged, -it.disagreement if not it.judged else 0.0, it.best_rank, -len(it.ranks), it.doc),
    )
