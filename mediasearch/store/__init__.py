"""Store v2: the writer lock, append-only vector logs (the source of truth) and the
derived, rebuildable ANN caches over them. The catalog (mediasearch/catalog/) holds the
metadata and each log's committed length; :class:`mediasearch.library.Library` ties
them together."""
