"""`mediasearch loadtest` on a 10,000-item library: baseline-image and efficientnet-lite0 (prints figures, asserts nothing).

Builds (or reuses, with ``--library``) a library of ``--items`` generated 160x120 JPEGs
in folders of 1,000, indexes every one with baseline-image, and indexes with
efficientnet-lite0 (real weights from the model store ``--model-dir``) folder by folder
until every folder is done or ``--cnn-budget-s`` seconds of indexing have passed, so on
a slow machine efficientnet-lite0 searches a subset (the script says how many items).
Saves ``--queries`` synthetic image queries (`mediasearch synth`), then runs
`mediasearch loadtest` at the given concurrency levels, threads, direct; with
``--service`` also through a `mediasearch serve` started for the run. Prints the
loadtest tables and the library's size per encoder.

Usage:  .venv/bin/python benchmarks/bench_loadtest.py --model-dir MODELS [--items 10000]
            [--cnn-budget-s 900] [--queries 100] [--concurrency 1,2,4] [--duration 10]
            [--service] [--mode threads] [--library DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

FOLDER = 1000


def make_images(root: Path, n: int) -> int:
    """n distinct 160x120 JPEGs (a random 6x8 colour grid blown up bicubically, plus grain) in folders of 1,000."""
    rng = np.random.default_rng(0)
    made = 0
    for i in range(n):
        path = root / f"f{i // FOLDER:02d}" / f"img{i:05d}.jpg"
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        grid = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
        img = np.asarray(Image.fromarray(grid).resize((160, 120), Image.Resampling.BICUBIC), dtype=np.int16)
        img = (img + rng.integers(-6, 7, img.shape)).clip(0, 255).astype(np.uint8)
        Image.fromarray(img).save(path, quality=85)
        made += 1
    return made


def cli(env: dict[str, str], *args: str, capture: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "mediasearch", *args], env=env, text=True,
                          capture_output=capture)
    if proc.returncode != 0:
        raise SystemExit(f"mediasearch {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--cnn-budget-s", type=float, default=900.0, help="seconds of efficientnet-lite0 indexing at most")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--concurrency", default="1,2,4")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--mode", default="threads", choices=["threads", "processes", "both"])
    parser.add_argument("--service", action="store_true", help="also through a `mediasearch serve` started for the run")
    parser.add_argument("--model-dir", default=os.environ.get("MEDIASEARCH_MODEL_DIR"))
    parser.add_argument("--library", help="library folder to build or reuse (default: a temporary one)")
    args = parser.parse_args()

    root = Path(args.library) if args.library else Path(tempfile.mkdtemp(prefix="bench-loadtest-"))
    env = {**os.environ, "MEDIASEARCH_HOME": str(root / "lib"), "MEDIASEARCH_MODEL_DIR": args.model_dir or str(root / "models")}
    print(f"library {root / 'lib'}; load average {os.getloadavg()}, {os.cpu_count()} cores")
    t0 = time.perf_counter()
    made = make_images(root / "media", args.items)
    print(f"generated {made} images ({args.items} wanted) in {time.perf_counter() - t0:.1f} s")

    t0 = time.perf_counter()
    cli(env, "index", str(root / "media"), "--encoders", "baseline-image", "-q")
    print(f"baseline-image: index (or catch up on) {args.items} items in {time.perf_counter() - t0:.1f} s")

    folders = sorted(p for p in (root / "media").iterdir() if p.is_dir())
    done_folders = root / "cnn_folders.json"
    done = json.loads(done_folders.read_text()) if done_folders.exists() else []
    spent = 0.0
    for folder in folders:
        if folder.name in done:
            continue
        if spent >= args.cnn_budget_s:
            break
        t0 = time.perf_counter()
        cli(env, "index", str(folder), "--encoders", "efficientnet-lite0", "-q")
        took = time.perf_counter() - t0
        spent += took
        done.append(folder.name)
        done_folders.write_text(json.dumps(done))
        print(f"efficientnet-lite0: indexed {folder.name} ({FOLDER} items) in {took:.1f} s ({FOLDER / took:.1f} items/s)")
    cnn_items = sum(len(list((root / "media" / name).glob("*.jpg"))) for name in done)
    print(f"efficientnet-lite0 searches {cnn_items} of the {args.items} items")

    t0 = time.perf_counter()
    cli(env, "synth", "--n", str(args.queries), "--seed", "7")
    print(f"{args.queries} synthetic image queries in {time.perf_counter() - t0:.1f} s")

    server = None
    if args.service:
        server = subprocess.Popen([sys.executable, "-m", "mediasearch", "serve", "--port", "0"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        service_file = root / "lib" / "serve.json"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if json.loads(service_file.read_text()).get("pid") == server.pid:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.1)
    try:
        target = "both" if args.service else "direct"
        t0 = time.perf_counter()
        out = root / "loadtest.json"
        proc = cli(env, "loadtest", "--encoders", "baseline-image,efficientnet-lite0", "--concurrency", args.concurrency,
                   "--duration", str(args.duration), "--mode", args.mode, "--target", target, "--out", str(out), "-q")
        print(f"\n$ mediasearch loadtest --encoders baseline-image,efficientnet-lite0 --concurrency {args.concurrency} "
              f"--duration {args.duration:g} --mode {args.mode} --target {target}   ({time.perf_counter() - t0:.0f} s)")
        print(proc.stdout)
    finally:
        if server is not None:
            server.terminate()
            server.communicate(timeout=60)
    print(f"load average at the end {os.getloadavg()}; results in {out}")


if __name__ == "__main__":
    main()
