"""Scale-out of the indexing pipeline: decode + embed on a cluster, one writer at home.

:class:`RayExecutor` (in :mod:`mediasearch.distributed.ray_index`) runs the decoding and
embedding that :func:`mediasearch.indexing.index_paths` decides on, on a Ray cluster,
and streams the vectors back to the single writer, which commits them as a local run
does. Ray is an optional dependency (``pip install 'mediasearch[scale]'``); importing
this package never imports it.
"""

from __future__ import annotations

from mediasearch.distributed.ray_index import RayExecutor, RayOptions, import_ray, parse_address

__all__ = ["RayExecutor", "RayOptions", "import_ray", "parse_address"]
