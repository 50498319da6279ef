"""Query words for the full-text index: lower case, NFKC-folded, apostrophes dropped,
English stop words removed (a query of only stop words matches nothing rather than
every segment)."""

from __future__ import annotations

import re
import unicodedata

STOP_WORDS = frozenset(
    """a an and are as at be but by for from had has have he her his i if in into is it its me my no not
    of on or our she so than that the their them then there these they this to was we were what when where
    which who will with you your""".split()
)
_WORD = re.compile(r"\w+")


def query_terms(text: str) -> list[str]:
    """Distinct search words of ``text`` in order: "The Lighthouse-keeper's BOAT" ->
    ["lighthouse", "keepers", "boat"]."""
    folded = unicodedata.normalize("NFKC", text).lower().replace("'", "").replace("\u2019", "")
    seen: dict[str, None] = {}
    for word in _WORD.findall(folded):
        if word not in STOP_WORDS:
            seen.setdefault(word, None)
    return list(seen)
