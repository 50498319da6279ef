"""The catalog package: SQLite metadata (schema, assets and segments, vector logs,
transcript search, saved queries and judgements). All SQL of the project lives here."""

from mediasearch.catalog.core import STATE_DONE, STATE_FAILED, Catalog, db_path, path_range
from mediasearch.catalog.schema import MIGRATIONS, SCHEMA_VERSION, migrate

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "STATE_DONE",
    "STATE_FAILED",
    "Catalog",
    "db_path",
    "migrate",
    "path_range",
]
