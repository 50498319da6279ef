"""Vector indexes: the protocol, the FAISS backend and the exact NumPy reference."""

from mediasearch.index.base import VectorIndex, atomic_write_bytes
from mediasearch.index.exact import ExactIndex

__all__ = ["ExactIndex", "VectorIndex", "atomic_write_bytes"]
