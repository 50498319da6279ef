"""Decode + embed on a Ray cluster for the single-writer indexing pipeline.

The writer (:func:`mediasearch.indexing.index_paths`) scans, decides what needs work,
and commits; a :class:`RayExecutor` handed to it as ``executor`` does only the middle:
it sends the work list to a pool of Ray actors, each holding its own loaded copy of the
encoders (loaded once per actor, on its CPU or GPU share), and streams the results back
as they finish. Vectors travel back, never images; the writer stages and commits them
through the same code as a local run (``_VisualStage._stage``, the asset encoder's
per-asset transaction), so checkpoints, resume after a kill, progress and cancel are the
local ones.

Why hand-scheduled actors and not Ray Data (``map_batches`` over the work list):

- *Cancel and kill.* The writer checks its CancelToken between results (``ray.wait``
  with a short timeout) and, on cancel or on an error while committing, cancels the
  queued calls and kills the actors: nothing keeps running after the writer stops.
  A Ray Data pipeline runs its own streaming executor thread that keeps reading ahead;
  stopping it early is a shutdown of the whole dataset, not of one call.
- *Bounded, ordered-by-need memory.* At most ``in_flight`` calls per actor are
  outstanding; with ``ship_files`` only their file bytes are in the object store.
- *Start-up cost.* The actors are started once per run and serve both stages (the
  visual encoders, then each audio or speech encoder); Ray Data plans and starts an
  operator per ``map_batches`` call, which on a 2-core machine costs seconds per stage.
- *Failures per item.* A call returns one result per asset, with per-encoder failure
  reasons; the writer records them like a local run does. Ray Data would fail the
  whole dataset on an exception in a batch.

Workers read the files from the path the writer sees (shared storage: NFS, a cloud
bucket mounted at the same path) or, with ``ship_files``, receive the bytes from the
writer (the bytes the check phase still holds, see :mod:`mediasearch.decode.source`,
else read again). The decoders open files through that module, but some checks still
look at the file itself (its size for empty and truncated audio, the tail of an Ogg),
so shipped bytes are spooled to a private temporary file on the worker and the same
decoders run on it: the reasons recorded for bad files are a local run's.

Model weights: every worker loads the encoders with the writer's settings, so the model
store must be at the same path on every node (or set ``MEDIASEARCH_MODEL_DIR`` there).
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import numpy as np

from mediasearch.errors import CancelledError, ClusterError, ExtraNotInstalledError, MediaSearchError
from mediasearch.media import Asset, MediaKind
from mediasearch.progress import CancelToken

if TYPE_CHECKING:  # pragma: no cover
    from mediasearch.config import Settings
    from mediasearch.indexing import AssetOutcome, Decoded

log = logging.getLogger(__name__)

#: seconds the actors get to start and load their encoders before the run gives up
#: (an actor asking for more GPUs or CPUs than any node has would wait forever)
ACTOR_START_S = 180.0
#: seconds a connect to host:port may take before the address counts as unreachable
CONNECT_TIMEOUT_S = 5.0
#: how often (seconds) the writer looks at its CancelToken while waiting for results
POLL_S = 0.2


def import_ray() -> Any:
    """The ``ray`` module, or ExtraNotInstalledError saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise ExtraNotInstalledError("--ray (distributed indexing)", "scale", "ray") from exc
    return ray


def parse_address(text: str | None) -> str | None:
    """A cluster address as given to ``--ray``: None or "" or "local" -> None (start a
    local cluster); "auto", "HOST:PORT" or "ray://HOST:PORT" as they are. Anything else
    raises ValueError (e.g. a folder name that ended up after ``--ray``)."""
    if text is None or text.strip() in ("", "local"):
        return None
    text = text.strip()
    if text == "auto" or text.startswith("ray://"):
        return text
    host, sep, port = text.rpartition(":")
    if sep and host and port.isdigit() and 0 < int(port) < 65536 and "/" not in host:
        return text
    raise ValueError(f"{text!r} is not a cluster address (auto, HOST:PORT or ray://HOST:PORT)")


@dataclass(frozen=True)
class RayOptions:
    """How to run on Ray.

    ``address``: None starts a local cluster; "auto" or "HOST:PORT" (or "ray://...")
    connects to a running one. ``workers``: actors in the pool (None: as many as the
    cluster's CPUs, or GPUs when ``gpus`` is set, allow). ``cpus``/``gpus``: what each
    actor reserves (``gpus`` may be a fraction: 0.25 puts four actors on one GPU).
    ``ship_files``: send file bytes from the writer instead of paths. ``in_flight``:
    calls queued per actor (2 keeps an actor busy while its last result travels).
    """

    address: str | None = None
    workers: int | None = None
    cpus: float = 1.0
    gpus: float = 0.0
    ship_files: bool = False
    in_flight: int = 2


# -- the worker side -------------------------------------------------------------------


class _Raised:
    """A library error crossing from a worker to the writer, rebuilt there with its type and
    fields (MediaSearchError subclasses take keyword data, so plain pickling of the
    exception would not rebuild them)."""

    def __init__(self, exc: MediaSearchError) -> None:
        self.cls = type(exc)
        self.message = str(exc)
        self.fields = dict(vars(exc))

    def rebuild(self) -> MediaSearchError:
        exc = self.cls.__new__(self.cls)
        Exception.__init__(exc, self.message)
        exc.__dict__.update(self.fields)
        return exc


class EmbedWorker:
    """One Ray actor: its own loaded encoders, decoding and embedding what it is sent.

    Made into an actor class with ``ray.remote(num_cpus=..., num_gpus=...)`` at run time
    (this module imports without ray)."""

    def __init__(self, settings: "Settings") -> None:
        self.settings = settings
        self.encoders: dict[str, Any] = {}
        self.scratch = Path(tempfile.mkdtemp(prefix="mediasearch-ray-"))

    def load(self, names: Sequence[str]) -> _Raised | int:
        """Load ``names`` (once); this worker's pid, or the library error that stopped it."""
        from mediasearch.encoders.registry import load_encoder

        try:
            for name in names:
                if name not in self.encoders:
                    self.encoders[name] = load_encoder(name, self.settings)
        except MediaSearchError as exc:
            return _Raised(exc)
        return os.getpid()

    @contextmanager
    def _local(self, asset: Asset, payload: bytes | None) -> Iterator[Asset]:
        """The asset as this worker can open it: as it is (shared storage), or its shipped
        bytes spooled to a private file with the same suffix (the decoders open paths)."""
        if payload is None:
            yield asset
            return
        fd, name = tempfile.mkstemp(suffix=asset.path.suffix, dir=self.scratch)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(payload)
            yield replace(asset, path=Path(name))
        finally:
            os.unlink(name)

    def embed_visual(
        self, tasks: Sequence[tuple[Asset, Sequence[str], bytes | str | None]], target_size: int
    ) -> list["Decoded"] | _Raised:
        """Decode each asset of ``tasks`` ((asset, encoder names, None | bytes | why the
        writer could not read it)) and embed its pictures with each named encoder,
        batching across the assets of the call: one Decoded per asset, in task order, with
        ``vectors`` {encoder: (n_pictures, dim) float32} or ``error``."""
        from mediasearch.indexing import Decoded, decode_visual, embed_isolating

        batch = self.settings.batch_size
        cancel = CancelToken()  # the writer stops a run by killing the actor
        out: list[Decoded] = []
        # encoder -> (result index, picture index, image) waiting for a batch
        work: dict[str, list[tuple[int, int, object]]] = defaultdict(list)
        rows: dict[str, dict[int, list[np.ndarray]]] = defaultdict(lambda: defaultdict(list))
        failed: dict[str, dict[int, str]] = defaultdict(dict)

        def embed(name: str) -> None:
            items = work.pop(name, [])
            if not items:
                return
            vectors, bad = embed_isolating(self.encoders[name], items, batch_size=batch)
            failed[name].update(bad)
            ok = [w for w in items if w[0] not in bad]
            for (r, _, _), v in zip(ok, vectors):
                rows[name][r].append(v)

        try:
            for asset, names, payload in tasks:
                r = len(out)
                if isinstance(payload, str):
                    out.append(Decoded(asset, [], [], last=True, error=payload))
                    continue
                result = Decoded(asset, [], [], last=True)
                out.append(result)
                with self._local(asset, payload) as local:
                    for chunk in decode_visual(local, self.settings, target_size=target_size, cancel=cancel):
                        if chunk.error is not None:
                            result.error = chunk.error
                            break
                        base = len(result.times)
                        result.times.extend(chunk.times)
                        for k, image in enumerate(chunk.images):
                            for name in names:
                                work[name].append((r, base + k, image))
                        if chunk.last:
                            result.media_s, result.partial = chunk.media_s, chunk.partial
                        for name in names:
                            if len(work[name]) >= batch:
                                embed(name)
            for name in list(work):
                embed(name)
        except MediaSearchError as exc:
            return _Raised(exc)
        for r, ((asset, names, _), result) in enumerate(zip(tasks, out)):
            if result.error is not None:
                continue
            result.vectors = {}
            for name in names:
                if r in failed[name]:
                    result.failed[name] = failed[name][r]
                else:
                    dim = self.encoders[name].spec.dim
                    got = rows[name].get(r, [])
                    result.vectors[name] = np.stack(got).astype(np.float32) if got else np.zeros((0, dim), np.float32)
        return out

    def encode_asset(self, name: str, asset: Asset, payload: bytes | str | None) -> "AssetOutcome | _Raised":
        """One asset through the asset encoder ``name`` (:func:`mediasearch.indexing.encode_one`)."""
        from mediasearch.indexing import AssetOutcome, encode_one

        if isinstance(payload, str):
            return AssetOutcome(bad=payload)
        try:
            with self._local(asset, payload) as local:
                return encode_one(self.encoders[name], local, cancel=CancelToken())
        except MediaSearchError as exc:
            return _Raised(exc)


# -- the writer side -------------------------------------------------------------------


class RayExecutor:
    """An :class:`mediasearch.indexing.Executor` on Ray: use as a context manager around
    ``index_paths(..., executor=...)``.

    Entering connects to the cluster (or starts a local one, or joins the session the
    process already has); the actors start on the first stage that needs them and live
    until the executor closes, which kills them (and stops a cluster it started).
    """

    def __init__(self, options: RayOptions | None = None) -> None:
        self.ray = import_ray()
        self.options = options or RayOptions()
        self._owns_session = False
        self._actors: list[Any] = []
        self._loaded: set[str] = set()
        self._settings: "Settings | None" = None

    # -- cluster ------------------------------------------------------------------
    def __enter__(self) -> "RayExecutor":
        self.connect()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def connect(self) -> None:
        """Join the process's Ray session, connect to ``options.address``, or start a local
        cluster (``workers * cpus`` CPUs when ``workers`` is given, else all cores)."""
        ray = self.ray
        if ray.is_initialized():
            return
        address = self.options.address
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.WARNING}
        try:
            if address is None:
                cpus = (self.options.workers or 0) * self.options.cpus or float(os.cpu_count() or 1)
                ray.init(num_cpus=int(max(1, round(cpus))), **kwargs)
            else:
                _check_reachable(address)
                ray.init(address=address, **kwargs)
        except MediaSearchError:
            raise
        except Exception as exc:  # ray raises ConnectionError, RuntimeError, ValueError...
            raise ClusterError(address, f"{type(exc).__name__}: {exc}".splitlines()[0]) from exc
        self._owns_session = True

    def close(self) -> None:
        """Kill the actors; leave (and stop, for a local one) the cluster this executor joined."""
        for actor in self._actors:
            try:
                self.ray.kill(actor)
            except Exception:  # already gone
                pass
        self._actors = []
        self._loaded = set()
        if self._owns_session:
            self.ray.shutdown()
            self._owns_session = False

    def cluster_resources(self) -> dict[str, float]:
        """What the cluster has in all ({"CPU": n, "GPU": n, ...})."""
        return dict(self.ray.cluster_resources())

    def _pool(self, names: Sequence[str], settings: "Settings", n_tasks: int, cancel: CancelToken) -> list[Any]:
        """The actors, started (once) and with ``names`` loaded; at most ``n_tasks`` are started."""
        ray = self.ray
        opts = self.options
        if self._settings is not None and self._settings != settings:
            self.close_actors()
        if not self._actors:
            have = self.cluster_resources()
            if opts.gpus > have.get("GPU", 0.0):
                raise ClusterError(opts.address, f"each worker asks for {opts.gpus:g} GPU, the cluster has {have.get('GPU', 0.0):g}")
            if opts.cpus > have.get("CPU", 0.0):
                raise ClusterError(opts.address, f"each worker asks for {opts.cpus:g} CPU, the cluster has {have.get('CPU', 0.0):g}")
            if opts.workers:
                n = opts.workers
            elif opts.gpus > 0:
                n = int(have.get("GPU", 0.0) // opts.gpus)
            else:
                n = int(have.get("CPU", 1.0) // opts.cpus)
            n = max(1, min(n, max(n_tasks, 1)))
            worker_settings = settings.with_(threads=max(1, int(opts.cpus)))
            if opts.gpus <= 0 and settings.device == "auto":
                worker_settings = worker_settings.with_(device="cpu")
            cls = ray.remote(num_cpus=opts.cpus, num_gpus=opts.gpus)(EmbedWorker)
            self._actors = [cls.remote(worker_settings) for _ in range(n)]
            self._settings = settings
            self._loaded = set()
        missing = [n for n in names if n not in self._loaded]
        if missing:
            refs = [a.load.remote(missing) for a in self._actors]
            deadline = time.monotonic() + ACTOR_START_S
            pending = list(refs)
            while pending:
                cancel.raise_if_cancelled("indexing")
                if time.monotonic() > deadline:
                    self.close_actors()
                    raise ClusterError(
                        opts.address,
                        f"{len(pending)} of {len(refs)} workers did not start within {ACTOR_START_S:.0f} s "
                        f"(each needs {opts.cpus:g} CPU, {opts.gpus:g} GPU; the cluster has {self.cluster_resources()})",
                    )
                _, pending = ray.wait(pending, num_returns=len(pending), timeout=POLL_S)
            for ref in refs:
                got = self._get(ref, cancel)
                if isinstance(got, _Raised):
                    raise got.rebuild()
            self._loaded.update(missing)
        return self._actors

    def close_actors(self) -> None:
        for actor in self._actors:
            try:
                self.ray.kill(actor)
            except Exception:
                pass
        self._actors = []
        self._loaded = set()

    def _get(self, ref: Any, cancel: CancelToken) -> Any:
        """A finished call's result; a library error raised on the worker comes back as itself."""
        ray = self.ray
        try:
            got = ray.get(ref)
        except ray.exceptions.RayTaskError as exc:
            cause = getattr(exc, "cause", None)
            if isinstance(cause, MediaSearchError):
                raise cause from None
            raise ClusterError(self.options.address, f"a worker failed: {str(exc).splitlines()[0]}") from exc
        except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError, ray.exceptions.ObjectLostError) as exc:
            if cancel.cancelled:  # Ctrl-C reached the local cluster's processes too
                raise CancelledError("indexing") from exc
            raise ClusterError(self.options.address, f"a worker died: {str(exc).splitlines()[0]}") from exc
        if isinstance(got, _Raised):
            raise got.rebuild()
        return got

    def _stream(
        self, actors: list[Any], calls: Iterator[tuple[Any, Callable[[Any], Any]]], cancel: CancelToken
    ) -> Iterator[tuple[Any, Any]]:
        """Run ``calls`` ((tag, actor -> ObjectRef) pairs) on the least busy actor,
        ``in_flight`` per actor at most, yielding (tag, result) as they finish. Stopping
        early (cancel, an error in the consumer) cancels what is queued and kills the actors."""
        ray = self.ray
        busy = {i: 0 for i in range(len(actors))}
        pending: dict[Any, tuple[int, Any]] = {}
        limit = max(1, self.options.in_flight)
        exhausted = False
        finished = False
        try:
            while True:
                while not exhausted:
                    i = min(busy, key=busy.__getitem__)
                    if busy[i] >= limit:
                        break
                    nxt = next(calls, None)
                    if nxt is None:
                        exhausted = True
                        break
                    tag, call = nxt
                    pending[call(actors[i])] = (i, tag)
                    busy[i] += 1
                if not pending:
                    finished = True
                    return
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_S)
                cancel.raise_if_cancelled("indexing")
                for ref in ready:
                    i, tag = pending.pop(ref)
                    busy[i] -= 1
                    yield tag, self._get(ref, cancel)
        finally:
            if not finished:
                for ref in pending:
                    try:
                        ray.cancel(ref, force=False)
                    except Exception:
                        pass
                self.close_actors()  # a half-done call must not go on using the cluster

    def _payload(self, asset: Asset) -> bytes | str | None:
        """What travels with an asset: None (the worker reads the path), its bytes
        (``ship_files``), or, when the writer cannot read it, why."""
        if not self.options.ship_files:
            return None
        from mediasearch.decode.source import held

        data = held(asset.path)  # the check phase may still hold what it read
        if data is not None:
            return data
        try:
            return Path(asset.path).read_bytes()
        except OSError as exc:
            return f"cannot read: {exc.strerror or exc}"

    # -- the Executor protocol ---------------------------------------------------------
    def embed_visual(
        self, work: Sequence[tuple[Asset, Sequence[str]]], *, target_size: int, settings: "Settings", cancel: CancelToken
    ) -> Iterator["Decoded"]:
        """Calls of up to ``batch_size`` images (a video alone: its frames fill the
        batches), so a worker batches across files as a local run does."""
        if not work:
            return
        names = sorted({n for _, ns in work for n in ns})
        groups: list[list[tuple[Asset, Sequence[str]]]] = []
        for asset, ns in work:
            if asset.kind is MediaKind.VIDEO or not groups or len(groups[-1]) >= settings.batch_size or groups[-1][0][0].kind is MediaKind.VIDEO:
                groups.append([])
            groups[-1].append((asset, list(ns)))
        actors = self._pool(names, settings, len(groups), cancel)

        def calls() -> Iterator[tuple[None, Callable[[Any], Any]]]:
            for group in groups:
                def call(actor: Any, group: list = group) -> Any:
                    tasks = [(a, ns, self._payload(a)) for a, ns in group]
                    return actor.embed_visual.remote(tasks, target_size)
                yield None, call

        for _, results in self._stream(actors, calls(), cancel):
            yield from results

    def encode_assets(
        self, encoder: str, assets: Sequence[Asset], *, settings: "Settings", cancel: CancelToken
    ) -> Iterator[tuple[Asset, "AssetOutcome"]]:
        """One call per asset (an asset encoder cuts and batches its own windows)."""
        if not assets:
            return
        actors = self._pool([encoder], settings, len(assets), cancel)

        def calls() -> Iterator[tuple[Asset, Callable[[Any], Any]]]:
            for asset in assets:
                def call(actor: Any, asset: Asset = asset) -> Any:
                    return actor.encode_asset.remote(encoder, asset, self._payload(asset))
                yield asset, call

        yield from self._stream(actors, calls(), cancel)


def _check_reachable(address: str) -> None:
    """ClusterError unless HOST:PORT accepts a TCP connection within CONNECT_TIMEOUT_S
    ("auto" and ray:// addresses are left to ray, which fails fast on them)."""
    if address == "auto" or address.startswith("ray://"):
        return
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise ClusterError(address, f"cannot connect within {CONNECT_TIMEOUT_S:.0f} s: {exc.strerror or exc}") from None
