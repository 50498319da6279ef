"""mediasearch: local-first search and encoder evaluation over your own media."""

__version__ = "0.2.0.dev0"
