"""Load test: how each encoder's searches behave when several arrive at once (``mediasearch loadtest``).

For each encoder, closed-loop clients (each sends its next query as soon as the previous
one is answered) run at each concurrency level for a fixed duration (and at most a fixed
number of queries), cycling through the saved queries of the modalities the encoder
answers. A query's latency is the wall time of one whole search as a user waits for it:
embedding the query (decoding its example file included), vector search and catalog
look-ups; through the service also the HTTP round trip.

- ``mode``: ``threads`` (client threads in this process, sharing one loaded encoder, each
  with its own read-only :class:`~mediasearch.library.Library`) or ``processes``
  (multiprocessing *spawn* workers, each opening its own read-only Library and loading
  its own encoder). Both pools start once per (encoder, mode, target) and serve every
  level; level c uses the first c clients.
- ``target``: ``direct`` (the clients search the library themselves) or ``service``
  (they send ``POST /search`` to the running ``mediasearch serve`` found with
  :func:`~mediasearch.serve.find_service`). With no service running, service rows are
  not measured but listed in ``skipped`` with the reason.
- Warm-up: every client runs one untimed query when it starts (model load, index load,
  caches), before any level is timed.

Figures per (encoder, mode, target, concurrency):

- ``queries``: searches answered without error within the level; ``qps`` = queries /
  ``wall_s``; ``wall_s``: from handing the level to the clients until the last one
  finished its last query (about the duration plus one latency);
- ``p50_ms``/``p95_ms``/``p99_ms``: percentiles (linear interpolation) of the answered
  searches' latencies in milliseconds (null when none was answered);
- ``errors``: searches that raised or that the service refused; ``error_examples``: the
  first few messages (one line each, distinct);
- ``peak_rss_mb``: the largest sum of resident memory (MiB), sampled every 100 ms, of
  the load-generating processes (``rss_scope`` "clients": this process in threads mode,
  the level's worker processes in processes mode) or of the service process
  (``rss_scope`` "service") when the target is the service;
- ``cpu_util``: CPU time (user + system, from psutil) used over the level by every
  process involved (the clients, and the service when it is the target) divided by
  wall time x cores: 1.0 means every core of the machine was busy with this load;
- ``gpu_util``: mean device utilisation (0-1, sampled) where a CUDA device is used and
  NVML can be read, else null; ``gpu_mem_mb``: torch's peak allocated CUDA memory over
  the level (summed over worker processes), null where no CUDA device is used in the
  clients (the service's GPU memory is not visible to them).

Indexing figures come from the catalog's indexing runs (:meth:`Catalog.runs`): per indexed
encoder, the latest run that embedded something: items per second, seconds of media per
second (audio and video; null for still images) and that run's peak resident memory.

Result file (the contract the model-selection report and the GUI read), written
atomically to ``<library>/evaluation/loadtest.json`` (the latest run; ``out`` also) and
read back with :func:`load_results`::

    {"version": 1, "created_at": unix_s, "duration_s": float,   # duration_s: seconds per level asked for
     "machine": {"cpu": str, "cores": int, "flags": [bf16/amx CPU flags], "load_avg": [1, 5, 15 min]},
     "results": [{"encoder", "medium": "visual"|"audio"|"speech", "mode": "threads"|"processes",
                  "target": "direct"|"service", "concurrency": int, "queries": int, "wall_s": float,
                  "qps": float, "p50_ms", "p95_ms", "p99_ms": float|null, "errors": int,
                  "error_examples": [str], "peak_rss_mb": float|null, "rss_scope": "clients"|"service",
                  "cpu_util": float|null, "gpu_util": float|null, "gpu_mem_mb": float|null}],
     "skipped": [{"encoder", "mode", "target", "reason": str}],
     "indexing": [{"encoder", "items_per_s": float|null, "media_s_per_s": float|null,
                   "peak_rss_mb": float|null, "run_at": unix_s}]}

Readers never write: the clients only search; the result file is the only output.
"""

from __future__ import annotations

import json
import logging
import math
import os
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from mediasearch.errors import QueryError
from mediasearch.progress import CancelToken, Progress, ProgressCallback, no_progress

log = logging.getLogger(__name__)

VERSION = 1
RESULT_FILE = Path("evaluation") / "loadtest.json"
MODES = ("threads", "processes")
TARGETS = ("direct", "service")
#: error messages kept per row
MAX_ERROR_EXAMPLES = 3
#: seconds between memory / GPU samples
SAMPLE_S = 0.1
#: how long a client may take to start (spawn, imports, model load, warm-up query), seconds
START_TIMEOUT_S = 300.0
#: how long one service request may take, seconds
SERVICE_TIMEOUT_S = 60.0
NO_SERVICE = "no `mediasearch serve` answers for this library (start one to measure searches through it)"
#: why service rows are skipped when serve.json names a live process that find_service does not accept
OTHER_SERVICE = (
    "the running `mediasearch serve` answers with other settings (model folder, precision, device) or does not "
    "answer /health; start it with the same options to measure through it"
)


@dataclass(frozen=True)
class LoadOptions:
    """What to load-test. ``encoders``: None for every indexed encoder with saved queries
    it answers; ``concurrency``: client counts, one level each; ``duration_s``: seconds
    per level; ``max_queries``: at most this many searches per level (split over the
    clients); ``k``: results per search; ``modes`` / ``targets``: see the module docstring."""

    encoders: tuple[str, ...] | None = None
    concurrency: tuple[int, ...] = (1, 2, 4, 8)
    duration_s: float = 10.0
    max_queries: int = 100_000
    k: int = 20
    modes: tuple[str, ...] = MODES
    targets: tuple[str, ...] = TARGETS

    def __post_init__(self) -> None:
        if not self.concurrency or min(self.concurrency) < 1:
            raise QueryError("concurrency levels must be positive whole numbers")
        if not (self.duration_s > 0 and math.isfinite(self.duration_s)):
            raise QueryError(f"the duration per level must be a positive number of seconds, got {self.duration_s}")
        if self.max_queries < 1 or self.k < 1:
            raise QueryError("max_queries and k must be positive")
        for value, allowed, what in ((self.modes, MODES, "mode"), (self.targets, TARGETS, "target")):
            bad = [v for v in value if v not in allowed]
            if bad or not value:
                raise QueryError(f"unknown {what} {', '.join(bad) or '(none)'}: choose from {', '.join(allowed)}")


# -- queries as plain data (they travel to spawned workers) ------------------------------


def _query_spec(saved: Any) -> dict:
    """A saved query as picklable data: modality, text, file, start_s, end_s, name."""
    return {
        "name": saved.name,
        "modality": saved.modality.value,
        "text": saved.text,
        "file": str(saved.file) if saved.file is not None else None,
        "start_s": saved.start_s,
        "end_s": saved.end_s,
    }


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class _Searcher:
    """One client's way of running a query: in its own Library, or through the service."""

    def __init__(self, settings: Any, encoder: str, target: str, service: Any, k: int) -> None:
        self.settings, self.encoder, self.target, self.service, self.k = settings, encoder, target, service, k
        self.library = None
        if target == "direct":
            from mediasearch.encoders.registry import load_encoder
            from mediasearch.library import Library

            self.library = Library(settings, command="mediasearch loadtest")
            load_encoder(encoder, settings)  # a missing model fails the client's start, not every query

    def __call__(self, spec: dict) -> None:
        """Run one query; raises on any failure (the caller counts it)."""
        if self.target == "direct":
            from mediasearch.media import Modality
            from mediasearch.search import Query, search

            modality = Modality(spec["modality"])
            if modality is Modality.TEXT:
                query = Query(modality, text=spec["text"])
            else:
                query = Query(modality, path=Path(spec["file"]) if spec["file"] else None, start_s=spec["start_s"], end_s=spec["end_s"])
            search(self.library, query, encoder=self.encoder, k=self.k)
            return
        body = {
            spec["modality"]: spec["text"] if spec["modality"] == "text" else spec["file"],
            "start": spec["start_s"],
            "end": spec["end_s"],
            "encoder": self.encoder,
            "k": self.k,
        }
        status, data = self.service.request("POST", "/search", body, timeout_s=SERVICE_TIMEOUT_S)
        if status != 200:
            message = data.get("error") if isinstance(data, dict) else data
            raise RuntimeError(f"service answered {status}: {message}")

    def close(self) -> None:
        if self.library is not None:
            self.library.close()


def _cuda_peak_reset() -> None:
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.reset_peak_memory_stats()


def _cuda_peak_mb() -> float | None:
    """torch's peak allocated CUDA memory since the last reset (MiB); None where this process uses no CUDA."""
    import sys

    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return None
    return float(torch.cuda.max_memory_allocated()) / 2**20


def _client(
    worker: int, settings: Any, encoder: str, target: str, service: Any, queries: list[dict], k: int,
    tasks: Any, results: Any, stop: Any, in_process: bool,
) -> None:
    """A client's life: start (open the library, load the encoder, one untimed query),
    say ``ready``; then for each task ``(level, duration_s, max_queries)`` run the closed
    loop and answer ``done``; ``None`` ends it. Runs as a thread or a spawned process."""
    if not in_process:
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C means
    try:
        searcher = _Searcher(settings, encoder, target, service, k)
        warm_error = None
        for i in range(len(queries)):  # the first query that works warms the client up
            try:
                searcher(queries[(worker + i) % len(queries)])
                warm_error = None
                break
            except Exception as exc:  # a broken query is counted when timed; the client still serves
                warm_error = warm_error or _one_line(exc)
    except Exception as exc:
        results.put(("failed", worker, os.getpid(), _one_line(exc)))
        return
    results.put(("ready", worker, os.getpid(), warm_error))
    position = worker  # clients start at different queries so they do not move in lockstep
    try:
        while True:
            task = tasks.get()
            if task is None:
                return
            level, duration_s, budget = task
            latencies: list[float] = []
            errors: list[str] = []
            if not in_process:
                _cuda_peak_reset()
            deadline = time.monotonic() + duration_s
            while time.monotonic() < deadline and len(latencies) + len(errors) < budget and not stop.is_set():
                spec = queries[position % len(queries)]
                position += 1
                t0 = time.perf_counter()
                try:
                    searcher(spec)
                except Exception as exc:
                    errors.append(_one_line(exc))
                    continue
                latencies.append((time.perf_counter() - t0) * 1000.0)
            gpu = None if in_process else _cuda_peak_mb()
            results.put(("done", worker, level, latencies, errors[:MAX_ERROR_EXAMPLES], len(errors), gpu))
    finally:
        searcher.close()


class _Pool:
    """``size`` clients of one (encoder, mode, target), started once, serving every level."""

    def __init__(
        self, mode: str, size: int, settings: Any, encoder: str, target: str, service: Any,
        queries: list[dict], k: int, cancel: CancelToken,
    ) -> None:
        self.mode, self.size, self.cancel = mode, size, cancel
        self.pids: list[int] = [0] * size
        self.warm_errors: list[str] = []
        if mode == "threads":
            self.results: Any = queue.Queue()
            self.stop: Any = threading.Event()
            self.tasks: list[Any] = [queue.Queue() for _ in range(size)]
            self.workers: list[Any] = [
                threading.Thread(
                    target=_client, name=f"loadtest-{i}", daemon=True,
                    args=(i, settings, encoder, target, service, queries, k, self.tasks[i], self.results, self.stop, True),
                )
                for i in range(size)
            ]
        else:
            import multiprocessing

            context = multiprocessing.get_context("spawn")
            self.results = context.Queue()
            self.stop = context.Event()
            self.tasks = [context.Queue() for _ in range(size)]
            self.workers = [
                context.Process(
                    target=_client, name=f"loadtest-{i}", daemon=True,
                    args=(i, settings, encoder, target, service, queries, k, self.tasks[i], self.results, self.stop, False),
                )
                for i in range(size)
            ]
        for worker in self.workers:
            worker.start()

    def _get(self, timeout_s: float) -> tuple:
        """The next message from a client; CancelledError on cancel, TimeoutError past ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            self.cancel.raise_if_cancelled("load test")
            try:
                return self.results.get(timeout=0.1)
            except queue.Empty:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no answer from the load-test clients within {timeout_s:.0f} s") from None
                if self.mode == "processes":
                    dead = [w for w in self.workers if not w.is_alive()]
                    if dead:  # workers only exit when told to: this one crashed
                        raise RuntimeError(f"a load-test worker process exited (exit code {dead[0].exitcode})")

    def wait_ready(self) -> str | None:
        """Wait until every client has started; the reason a client could not (None when all did)."""
        failure = None
        for _ in range(self.size):
            kind, worker, pid, message = self._get(START_TIMEOUT_S)
            self.pids[worker] = pid
            if kind == "failed":
                failure = failure or message
            elif message:
                log.warning("load-test client %d: no saved query worked for its warm-up: %s", worker, message)
                self.warm_errors.append(message)
        return failure

    def run_level(self, level: int, clients: int, duration_s: float, max_queries: int) -> dict:
        """Hand a level to the first ``clients`` clients; their latencies, errors and the measurements."""
        involved = self._processes(clients)
        extra = self.service_process
        sampler = _Sampler(involved if self.rss_of_clients else [p for p in [extra] if p is not None])
        cpu_procs = involved + ([extra] if extra is not None else [])
        cpu0 = _cpu_seconds(cpu_procs)
        if self.mode == "threads":
            _cuda_peak_reset()
        budget = max(1, math.ceil(max_queries / clients))
        sampler.start()
        t0 = time.monotonic()
        for i in range(clients):
            self.tasks[i].put((level, duration_s, budget))
        done = []
        try:
            while len(done) < clients:
                message = self._get(duration_s + 2 * SERVICE_TIMEOUT_S)
                if message[0] == "done" and message[2] == level:
                    done.append(message)
        except BaseException:
            self.stop.set()
            raise
        finally:
            wall = time.monotonic() - t0
            sampler.stop()
        cpu1 = _cpu_seconds(cpu_procs)
        latencies = [x for m in done for x in m[3]]
        examples: list[str] = []
        for m in done:
            for text in m[4]:
                if text not in examples and len(examples) < MAX_ERROR_EXAMPLES:
                    examples.append(text)
        if self.mode == "threads":
            gpu = _cuda_peak_mb()
        else:
            found = [m[6] for m in done if m[6] is not None]
            gpu = float(sum(found)) if found else None
        cores = os.cpu_count() or 1
        return {
            "latencies": latencies,
            "errors": sum(m[5] for m in done),
            "error_examples": examples,
            "wall_s": wall,
            "peak_rss_mb": sampler.peak_mb,
            "cpu_util": (cpu1 - cpu0) / (wall * cores) if cpu0 is not None and cpu1 is not None and wall > 0 else None,
            "gpu_util": sampler.gpu_util if gpu is not None else None,
            "gpu_mem_mb": gpu,
        }

    #: the service process (set by the caller for target=service)
    service_process: Any = None

    @property
    def rss_of_clients(self) -> bool:
        return self.service_process is None

    def _processes(self, clients: int) -> list:
        import psutil

        if self.mode == "threads":
            return [psutil.Process()]
        out = []
        for pid in self.pids[:clients]:
            try:
                out.append(psutil.Process(pid))
            except psutil.Error:
                pass
        return out

    def close(self) -> None:
        self.stop.set()
        for tasks in self.tasks:
            tasks.put(None)
        for worker in self.workers:
            worker.join(timeout=10)
        if self.mode == "processes":
            for worker in self.workers:
                if worker.is_alive():
                    worker.terminate()
                    worker.join(timeout=5)


def _cpu_seconds(processes: Sequence[Any]) -> float | None:
    """User + system CPU seconds the processes have used (None if one cannot be read)."""
    import psutil

    total = 0.0
    try:
        for proc in processes:
            times = proc.cpu_times()
            total += times.user + times.system
    except psutil.Error:
        return None
    return total


class _Sampler:
    """Samples the summed resident memory of some processes (and NVML GPU utilisation,
    where readable) every :data:`SAMPLE_S` seconds on a thread."""

    def __init__(self, processes: Sequence[Any]) -> None:
        self.processes = list(processes)
        self.peak_mb: float | None = None
        self._gpu: list[float] = []
        self._nvml = _nvml_handle()
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._run, name="loadtest-sampler", daemon=True)

    def _sample(self) -> None:
        import psutil

        total, seen = 0, 0
        for proc in self.processes:
            try:
                total += proc.memory_info().rss
                seen += 1
            except psutil.Error:
                pass
        if seen:
            mb = total / 2**20
            self.peak_mb = mb if self.peak_mb is None else max(self.peak_mb, mb)
        if self._nvml is not None:
            try:
                import pynvml

                self._gpu.append(pynvml.nvmlDeviceGetUtilizationRates(self._nvml).gpu / 100.0)
            except Exception:  # NVML went away: no more samples
                self._nvml = None

    def _run(self) -> None:
        while not self._halt.wait(SAMPLE_S):
            self._sample()

    def start(self) -> None:
        self._sample()
        self._thread.start()

    def stop(self) -> None:
        self._halt.set()
        self._thread.join(timeout=5)
        self._sample()

    @property
    def gpu_util(self) -> float | None:
        return float(np.mean(self._gpu)) if self._gpu else None


def _nvml_handle():  # -> pynvml handle | None
    try:
        import pynvml

        pynvml.nvmlInit()
        return pynvml.nvmlDeviceGetHandleByIndex(int(os.environ.get("CUDA_VISIBLE_DEVICES", "0").split(",")[0] or 0))
    except Exception:  # no NVML here (the usual case without an NVIDIA GPU)
        return None


# -- the run ---------------------------------------------------------------------------


def machine_info() -> dict:
    """cpu model, cores, the CPU's bf16/AMX flags and the load average (1, 5, 15 min)."""
    cpu, flags = "", []
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and not cpu:
                    cpu = value.strip()
                elif key == "flags" and not flags:
                    flags = sorted(f for f in value.split() if "bf16" in f or f.startswith("amx"))
    except OSError:
        pass
    if not cpu:
        import platform

        cpu = platform.processor() or platform.machine()
    try:
        load = [round(v, 2) for v in os.getloadavg()]
    except (OSError, AttributeError):  # Windows
        load = []
    return {"cpu": cpu, "cores": os.cpu_count() or 1, "flags": flags, "load_avg": load}


def indexing_figures(library: Any, encoders: Sequence[str]) -> list[dict]:
    """Per encoder with indexing runs: its latest run that embedded something (items > 0):
    items/s, media seconds per second (None without timed media), peak RSS (MiB), start time."""
    out = []
    for encoder in encoders:
        runs = [r for r in library.catalog.runs(encoder) if r["items"] > 0]
        if not runs:
            continue
        run = runs[-1]
        wall = float(run["wall_s"])
        peak = run["peak_rss_mb"] if "peak_rss_mb" in run.keys() else None
        out.append({
            "encoder": encoder,
            "items_per_s": run["items"] / wall if wall > 0 else None,
            "media_s_per_s": run["media_s"] / wall if wall > 0 and run["media_s"] > 0 else None,
            "peak_rss_mb": float(peak) if peak is not None else None,
            "run_at": float(run["started_at"]),
        })
    return out


def _plan(library: Any, settings: Any, options: LoadOptions) -> tuple[dict[str, list[dict]], list[dict]]:
    """encoder -> the query specs it answers; skipped rows for asked encoders it cannot test."""
    from mediasearch.encoders.registry import get_spec
    from mediasearch.evaluation.groundtruth import list_queries

    saved = list_queries(library.catalog, settings)
    indexed = library.indexed_encoders()
    names = list(options.encoders) if options.encoders else indexed
    plan: dict[str, list[dict]] = {}
    skipped: list[dict] = []
    for name in names:
        spec = get_spec(name)  # an unknown name raises, listing the valid ones
        if name not in indexed:
            reason = "not indexed in this library"
        else:
            specs = [_query_spec(q) for q in saved if q.modality in spec.query_modalities]
            if specs:
                plan[name] = specs
                continue
            modalities = ", ".join(m.value for m in spec.query_modalities)
            reason = f"no saved {modalities} query to send it (add some with `mediasearch query add` or `mediasearch synth`)"
        if options.encoders:
            skipped += [{"encoder": name, "mode": mode, "target": target, "reason": reason}
                        for mode in options.modes for target in options.targets]
    return plan, skipped


def _percentiles(latencies: Sequence[float]) -> tuple[float | None, float | None, float | None]:
    if not latencies:
        return None, None, None
    p50, p95, p99 = np.percentile(np.asarray(latencies, dtype=float), [50, 95, 99])
    return float(p50), float(p95), float(p99)


def run_loadtest(
    settings: Any,
    options: LoadOptions | None = None,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> dict:
    """Load-test the library of ``settings``; the result dict of the module docstring.

    Raises QueryError when no encoder has queries to send, CancelledError when cancelled
    (every client stopped first). Does not write the result file (:func:`save_results`)."""
    from mediasearch.encoders.registry import get_spec, medium
    from mediasearch.library import Library
    from mediasearch.serve import find_service

    options = options or LoadOptions()
    report = progress or no_progress
    cancel = cancel or CancelToken()
    t_start = time.monotonic()
    created = time.time()
    with Library(settings, command="mediasearch loadtest") as library:
        plan, skipped = _plan(library, settings, options)
        indexing = indexing_figures(library, library.indexed_encoders())
    if not plan:
        raise QueryError(
            "nothing to load-test: no indexed encoder answers the saved queries "
            "(save some with `mediasearch query add` or `mediasearch synth`)"
        )
    service = find_service(settings) if "service" in options.targets else None
    no_service = NO_SERVICE
    if service is None and "service" in options.targets:
        from mediasearch.serve import read_service

        if read_service(settings.library_dir) is not None:
            no_service = OTHER_SERVICE
    service_process = None
    if service is not None:
        import psutil

        try:
            service_process = psutil.Process(service.pid)
        except psutil.Error:
            service = None
    levels = sorted(set(options.concurrency))
    combos = [(enc, mode, target) for enc in plan for mode in options.modes for target in options.targets]
    total = sum(len(levels) for _, _, target in combos if target == "direct" or service is not None)
    done = 0
    results: list[dict] = []
    for encoder, mode, target in combos:
        if target == "service" and service is None:
            skipped.append({"encoder": encoder, "mode": mode, "target": target, "reason": no_service})
            continue
        cancel.raise_if_cancelled("load test")
        label = f"{encoder} {mode} {target}"
        report(Progress("loadtest", done, total, f"{label}: starting {max(levels)} clients", "level", time.monotonic() - t_start))
        pool = _Pool(mode, max(levels), settings, encoder, target, service, plan[encoder], options.k, cancel)
        pool.service_process = service_process if target == "service" else None
        try:
            failure = pool.wait_ready()
            if failure is not None:
                skipped.append({"encoder": encoder, "mode": mode, "target": target, "reason": f"a client could not start: {failure}"})
                done += len(levels)
                continue
            for level, clients in enumerate(levels):
                report(Progress("loadtest", done, total, f"{label}: {clients} clients", "level", time.monotonic() - t_start))
                measured = pool.run_level(level, clients, options.duration_s, options.max_queries)
                p50, p95, p99 = _percentiles(measured["latencies"])
                queries = len(measured["latencies"])
                wall = measured["wall_s"]
                results.append({
                    "encoder": encoder,
                    "medium": medium(get_spec(encoder).streams),
                    "mode": mode,
                    "target": target,
                    "concurrency": clients,
                    "queries": queries,
                    "wall_s": round(wall, 4),
                    "qps": queries / wall if wall > 0 else 0.0,
                    "p50_ms": p50,
                    "p95_ms": p95,
                    "p99_ms": p99,
                    "errors": measured["errors"],
                    "error_examples": measured["error_examples"],
                    "peak_rss_mb": measured["peak_rss_mb"],
                    "rss_scope": "service" if target == "service" else "clients",
                    "cpu_util": measured["cpu_util"],
                    "gpu_util": measured["gpu_util"],
                    "gpu_mem_mb": measured["gpu_mem_mb"],
                })
                done += 1
                report(Progress("loadtest", done, total, f"{label}: {clients} clients", "level", time.monotonic() - t_start))
        finally:
            pool.close()
    return {
        "version": VERSION,
        "created_at": created,
        "duration_s": float(options.duration_s),
        "machine": machine_info(),
        "results": results,
        "skipped": skipped,
        "indexing": indexing,
    }


# -- the result file --------------------------------------------------------------------


def results_path(library_dir: Path | str) -> Path:
    """Where the latest load test of a library is kept."""
    return Path(library_dir) / RESULT_FILE


def save_results(data: Mapping[str, Any], library_dir: Path | str, *, out: Path | str | None = None) -> Path:
    """Write ``data`` atomically to the library's result file (and to ``out`` when given); that path."""
    text = json.dumps(data, indent=2, allow_nan=False)
    paths = [results_path(library_dir)] + ([Path(out)] if out is not None else [])
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    return paths[0]


def load_results(library_dir: Path | str) -> dict | None:
    """The latest load test of the library (the dict of the module docstring), or None
    when there is none, it cannot be read, or it has another version."""
    try:
        data = json.loads(results_path(library_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        return None
    return data


# -- the latency-throughput curve -------------------------------------------------------


def draw_load_curve(ax, rows: Sequence[Mapping[str, Any]], *, encoder: str | None = None) -> bool:  # noqa: ANN001 - Axes
    """Latency under load on ``ax``: qps on x, p95 latency (ms) on y, one line per
    (encoder, mode, target), each point labelled with its concurrency (only ``encoder``'s
    rows when given). Returns whether anything was drawn; labels, title and legend are
    the caller's (the report and the GUI word them differently)."""
    lines: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        if (encoder is None or row["encoder"] == encoder) and row.get("p95_ms") is not None and row.get("qps") is not None:
            lines.setdefault(f"{row['encoder']} · {row.get('mode')} · {row.get('target')}", []).append(row)
    for label, points in lines.items():
        points = sorted(points, key=lambda r: r["concurrency"])
        xs = [p["qps"] for p in points]
        ys = [p["p95_ms"] for p in points]
        ax.plot(xs, ys, marker="o", markersize=4, label=label)
        for p, x, y in zip(points, xs, ys):
            ax.annotate(str(p["concurrency"]), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.grid(alpha=0.3)
    return bool(lines)


def latency_throughput_png(results: Sequence[Mapping[str, Any]] | Mapping[str, Any], encoder: str | None = None) -> str:
    """:func:`draw_load_curve` as a base64 PNG. ``results``: the result rows (or the
    whole result dict); ``encoder``: only that encoder's rows."""
    from mediasearch.evaluation.report import _figure, _png

    rows = results.get("results", []) if isinstance(results, Mapping) else list(results)
    fig, ax = _figure()
    drawn = draw_load_curve(ax, rows, encoder=encoder)
    ax.set_xlabel("queries per second")
    ax.set_ylabel("p95 latency (ms)")
    ax.set_title(f"Latency under load{f': {encoder}' if encoder else ''} (labels: concurrent clients)", fontsize=10)
    if drawn:
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, "no load-test figures", ha="center", va="center", transform=ax.transAxes)
    return _png(fig)
