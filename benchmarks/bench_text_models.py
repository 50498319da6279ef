"""Transcript text models: passages embedded per second on this machine (prints figures, asserts nothing).

For each self-hosted entry of mediasearch/encoders/text_models.py: the real weights when
the model store holds them, else a random-init model of the entry's exact architecture
(text_models.ARCHITECTURES; speed does not depend on the weights, only the vocabulary is
cut to a small word-level tokenizer). Embeds N transcript-like segments (10-25 words) in
batches of 64 on ONNX Runtime, after a warm-up, and prints segments/s. Then the same
segments through the OpenAI-compatible client against a local HTTP server that returns
hashed bag-of-words vectors (client overhead: JSON, batching; no network).

Usage:  .venv/bin/python benchmarks/bench_text_models.py [--segments 512] [--model-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

WORDS = ("the keeper painted old wooden boat bright yellow budget meeting moves thursday afternoon bring projector "
         "printed reports football match cancelled because heavy snow please close kitchen window before raining").split()


def segments(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(10, 25))) for _ in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=512)
    parser.add_argument("--model-dir", type=Path, default=None)
    args = parser.parse_args()

    from mediasearch.config import Settings
    from mediasearch.encoders import text_models
    from mediasearch.modelstore import ModelStore
    from test_text_models import random_model_folder

    texts = segments(args.segments)
    tmp = Path(tempfile.mkdtemp(prefix="bench-text-"))
    settings = Settings(library_dir=tmp / "lib", model_dir=args.model_dir or tmp / "models", precision="fp32")
    store = ModelStore(settings.model_dir)
    print(f"{len(texts)} segments of 10-25 words, batches of 64, ONNX Runtime fp32, {settings.inference_threads} threads, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    for name, spec in text_models.TEXT_MODELS.items():
        if name == "paraphrase-multilingual-minilm-l12-v2":
            continue
        if store.is_present(spec.store_name):
            folder, what = store.path(spec.store_name), "real weights"
        else:
            arch = text_models.ARCHITECTURES[name]
            folder, _, _ = random_model_folder(tmp / name, name)
            what = f"random init, {arch['num_hidden_layers']} layers"
        emb = text_models.load_text_embedder(name, settings, folder=folder)
        emb.embed_passages(texts[:64])  # warm-up
        t0 = time.perf_counter()
        emb.embed_passages(texts)
        dt = time.perf_counter() - t0
        print(f"  {name:28s} {len(texts) / dt:8.1f} segments/s  ({what}, {spec.pooling} pooling, {emb.engine})")

    from test_openai_embeddings import FakeApi

    from mediasearch.encoders.openai_embeddings import OpenAIEmbedder

    api = FakeApi()
    try:
        client = OpenAIEmbedder("text-embedding-3-small", base=api.base, api_key="sk-bench")
        client.embed(texts[:64])
        t0 = time.perf_counter()
        client.embed(texts)
        dt = time.perf_counter() - t0
        print(f"  {'openai:text-embedding-3-small':28s} {len(texts) / dt:8.1f} segments/s  (local HTTP server, "
              f"{client.requests - 1} requests; client overhead only)")
    finally:
        api.close()


if __name__ == "__main__":
    main()
