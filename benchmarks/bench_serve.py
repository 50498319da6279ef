"""Query latency through `mediasearch serve` and cold CLI search time (prints figures, asserts nothing).

Builds a small library in a temporary folder: generated images indexed with
baseline-image (and efficientnet-lite0 when its weights are in the model store) and, when Whisper tiny.en and all-MiniLM-L6-v2 are in the model store,
espeak-ng speech clips indexed with whisper-tiny.en (text queries go to its
transcripts; without those weights no text query is timed, since no weight-free encoder
answers text). Then starts `mediasearch serve --port 0` and prints:

1. p50/p95/max of N text and N image queries over HTTP (each a fresh connection, as the
   CLI makes; 3 warm-up queries first);
2. throughput of the last kind with 1 and 4 concurrent clients (the service's 2 workers);
3. cold `mediasearch search` wall time (a new process each run) through the service and
   with --no-server.

Usage:  .venv/bin/python benchmarks/bench_serve.py [--queries 100] [--images 40]
            [--model-dir DIR] [--cold-runs 3]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

PHRASES = [
    "the weather is cold and windy today",
    "please send the report before friday",
    "the train to the city leaves at noon",
    "my favourite colour is green",
    "we walked along the beach at sunset",
    "the meeting was moved to tuesday",
]
QUERIES = ["cold weather", "report friday", "train to the city", "green colour", "beach at sunset", "meeting tuesday",
           "windy day", "sunset walk"]


def make_images(folder: Path, n: int) -> list[Path]:
    """n distinct 640x480 JPEGs (smooth colour fields plus grain)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:480, 0:640].astype(np.float32)
    out = []
    for i in range(n):
        a, b, c = rng.uniform(0.002, 0.03, 3)
        img = np.stack([np.sin(xx * a + i), np.cos(yy * b + 2 * i), np.sin((xx + yy) * c)], -1)
        img = ((img * 0.5 + 0.5) * 255 + rng.normal(0, 8, img.shape)).clip(0, 255).astype(np.uint8)
        path = folder / f"img{i:03d}.jpg"
        Image.fromarray(img).save(path, quality=90)
        out.append(path)
    return out


def make_speech(folder: Path) -> list[Path]:
    """One WAV per phrase, spoken by espeak-ng (none when it is missing)."""
    if shutil.which("espeak-ng") is None:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, phrase in enumerate(PHRASES):
        path = folder / f"speech{i}.wav"
        subprocess.run(["espeak-ng", "-s", "140", "-w", str(path), phrase], check=True, capture_output=True)
        out.append(path)
    return out


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mediasearch", *args], env=env, capture_output=True, text=True, check=True)


def percentiles(times_s: list[float]) -> str:
    ms = sorted(t * 1000 for t in times_s)
    p = lambda q: ms[min(len(ms) - 1, int(round(q * (len(ms) - 1))))]  # noqa: E731
    return f"p50 {statistics.median(ms):7.1f} ms  p95 {p(0.95):7.1f} ms  max {ms[-1]:7.1f} ms  (n={len(ms)})"


def post(record: dict, body: dict) -> tuple[int, list]:
    conn = http.client.HTTPConnection("127.0.0.1", record["port"], timeout=120)
    conn.request("POST", "/search", body=json.dumps(body), headers={"Authorization": f"Bearer {record['token']}"})
    response = conn.getresponse()
    data = json.loads(response.read())
    conn.close()
    return response.status, data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--model-dir", default=os.environ.get("MEDIASEARCH_MODEL_DIR"))
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench_serve_"))
    env = {**os.environ, "MEDIASEARCH_HOME": str(tmp / "lib"), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env["MEDIASEARCH_MODEL_DIR"] = args.model_dir or str(tmp / "models")
    images = make_images(tmp / "media" / "images", args.images)
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}; {os.cpu_count()} cores")
    started = time.perf_counter()
    cli(env, "index", str(tmp / "media" / "images"), "--encoders", "baseline-image", "-q")
    print(f"indexed {len(images)} images with baseline-image in {time.perf_counter() - started:.1f} s")

    speech = False
    from mediasearch.config import Settings
    from mediasearch.encoders.registry import get_spec, weights_present

    settings = Settings().with_(model_dir=Path(env["MEDIASEARCH_MODEL_DIR"]))
    if weights_present(get_spec("whisper-tiny.en"), settings):
        clips = make_speech(tmp / "media" / "speech")
        if clips:
            started = time.perf_counter()
            cli(env, "index", str(tmp / "media" / "speech"), "--encoders", "whisper-tiny.en", "-q")
            print(f"indexed {len(clips)} speech clips with whisper-tiny.en in {time.perf_counter() - started:.1f} s")
            speech = True
    if not speech:
        print("no whisper-tiny.en weights (or no espeak-ng): text queries not timed")
    cnn = weights_present(get_spec("efficientnet-lite0"), settings)
    if cnn:  # a real image model: query embedding costs what users see
        started = time.perf_counter()
        cli(env, "index", str(tmp / "media" / "images"), "--encoders", "efficientnet-lite0", "-q")
        print(f"indexed {len(images)} images with efficientnet-lite0 in {time.perf_counter() - started:.1f} s")

    proc = subprocess.Popen([sys.executable, "-m", "mediasearch", "serve", "--port", "0"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    record: dict = {}
    started = time.perf_counter()
    try:
        while time.perf_counter() - started < 300 and proc.poll() is None:
            try:
                record = json.loads((tmp / "lib" / "serve.json").read_text())
                if record.get("pid") == proc.pid:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
        if record.get("pid") != proc.pid:
            raise SystemExit(f"service did not start: {proc.communicate(timeout=10)}")
        print(f"service ready (models loaded) {time.perf_counter() - started:.1f} s after start")

        kinds = [("image", lambda i: {"image": str(images[i % len(images)]), "k": 20, "encoder": "baseline-image"})]
        if cnn:
            kinds.append(("image efficientnet-lite0",
                          lambda i: {"image": str(images[i % len(images)]), "k": 20, "encoder": "efficientnet-lite0"}))
        if speech:
            kinds.insert(0, ("text", lambda i: {"text": QUERIES[i % len(QUERIES)], "k": 20}))
        for name, body in kinds:
            for i in range(3):
                post(record, body(i))
            times, answered = [], 0
            for i in range(args.queries):
                t0 = time.perf_counter()
                status, data = post(record, body(i))
                times.append(time.perf_counter() - t0)
                assert status == 200, data
                answered += bool(data)
            print(f"{name} queries through the service: {percentiles(times)}; {answered} with hits")

        from concurrent.futures import ThreadPoolExecutor

        for clients in (1, 4):  # a load test sharing the service: throughput with concurrent clients
            name, body = kinds[-1]
            def timed(i: int) -> float:
                t0 = time.perf_counter()
                assert post(record, body(i))[0] == 200
                return time.perf_counter() - t0
            t0 = time.perf_counter()
            with ThreadPoolExecutor(max_workers=clients) as pool:
                times = list(pool.map(timed, range(args.queries)))
            wall = time.perf_counter() - t0
            print(f"{clients} concurrent clients, {name}: {args.queries / wall:.1f} queries/s; {percentiles(times)}")

        cold = [("image", ["--image", str(images[1]), "--encoder", "baseline-image"])]
        if cnn:
            cold.append(("image efficientnet-lite0", ["--image", str(images[1]), "--encoder", "efficientnet-lite0"]))
        if speech:
            cold.insert(0, ("text", ["--text", QUERIES[0]]))
        for name, query in cold:
            for how, extra in (("through the service", []), ("in-process (--no-server)", ["--no-server"])):
                walls = []
                for _ in range(args.cold_runs):
                    t0 = time.perf_counter()
                    cli(env, "search", *query, "--json", *extra)
                    walls.append(time.perf_counter() - t0)
                print(f"cold CLI search ({name}) {how}: median {statistics.median(walls):.2f} s "
                      f"(runs: {', '.join(f'{w:.2f}' for w in walls)})")
    finally:
        if proc.poll() is None and record.get("pid") == proc.pid:
            post_shutdown = http.client.HTTPConnection("127.0.0.1", record["port"], timeout=10)
            post_shutdown.request("POST", "/shutdown", headers={"Authorization": f"Bearer {record['token']}"})
            post_shutdown.getresponse().read()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
