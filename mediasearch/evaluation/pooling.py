"""Fair pooling (the TREC method): what to judge next for a query.

The pool is the union of the top ``depth`` results of every encoder that can answer the
query. Judging only one encoder's results would make that encoder look better (its
misses stay unjudged, and unjudged counts as not relevant for everyone); judging the
pool gives every encoder's results the same chance of being judged.

Order: unjudged items first; then by the best rank any encoder gave the item (so
judging proceeds depth by depth, round-robin over encoders: every encoder's rank-1
result before anyone's rank-2); then by how many encoders retrieved it (more first);
then by key, so the order is deterministic.
"""

from __future__ import annotations

import logging
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
        }


def pool(
    rankings: Mapping[str, Sequence[str]],
    qrels: Mapping[str, int],
    *,
    depth: int = 10,
    paths: Mapping[str, str] | None = None,
) -> list[PoolItem]:
    """The pool of ``rankings`` (encoder -> docs best first) cut at ``depth``, in judging
    order (see the module docstring). ``qrels`` give existing grades; ``paths`` optional
    display paths per doc."""
    if depth <= 0:
        raise ValueError(f"depth must be positive, got {depth}")
    items: dict[str, PoolItem] = {}
    for encoder, ranking in rankings.items():
        for rank, doc in enumerate(ranking[:depth], start=1):
            item = items.get(doc)
            if item is None:
                item = items[doc] = PoolItem(doc, grade=qrels.get(doc), path=(paths or {}).get(doc, ""))
            # a ranking may repeat a doc (ungrouped segments): keep its best rank
            item.ranks.setdefault(encoder, rank)
    return sorted(items.values(), key=lambda it: (it.judged, it.best_rank, -len(it.ranks), it.doc))
