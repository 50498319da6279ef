"""The weights manifest's schema: every entry has a source, size, checksum form and licence."""

from __future__ import annotations

import csv
import hashlib
import re
import tomllib
from pathlib import Path

import pytest

from mediasearch.modelstore import load_manifest
from mediasearch.modelstore.errors import ManifestError
from mediasearch.modelstore.manifest import bundled_path, manifest_path, parse, validate

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO / "models" / "manifest.toml"
REQUIRED = {
    "resnet50-imagenet1k-v2",
    "siglip-vit-b16-webli",
    "tf-efficientnet-lite0",
    "panns-cnn14",
    "audioset-labels",
    "whisper-tiny",
    "whisper-tiny-en",
    "whisper-base",
    "whisper-base-en",
    "whisper-small",
    "whisper-small-en",
    "whisper-medium",
    "whisper-medium-en",
    "all-minilm-l6-v2",
    "paraphrase-multilingual-minilm-l12-v2",
    "clap-htsat-unfused",
    "clip-vit-b32-openai",
    "clip-vit-l14-openai",
    "siglip2-vit-b16-256-webli",
    "dinov2-vit-s14-lvd142m",
    "dinov2-vit-b14-lvd142m",
    "multi-qa-minilm-l6-cos-v1",
    "e5-small-v2",
    "bge-small-en-v1-5",
    "multilingual-e5-small",
}
# Files with no published digest anywhere we could find (documented in models/README.md).
TRUSTED_ON_FIRST_USE = {
    "siglip-vit-b16-webli",
    "tf-efficientnet-lite0",
    "siglip2-vit-b16-256-webli",
    "dinov2-vit-s14-lvd142m",
    "dinov2-vit-b14-lvd142m",
    "multi-qa-minilm-l6-cos-v1",
    "e5-small-v2",
    "bge-small-en-v1-5",
    "multilingual-e5-small",
}


@pytest.fixture(scope="module")
def raw() -> dict:
    return tomllib.loads(MANIFEST.read_text(encoding="utf-8"))


def test_manifest_is_the_one_the_store_reads() -> None:
    assert manifest_path() == MANIFEST


def test_schema_is_valid(raw: dict) -> None:
    assert validate(raw) == []


def test_every_required_model_and_only_lowercase_hyphenated_unique_names(raw: dict) -> None:
    names = [m["name"] for m in raw["model"]]
    assert len(names) == len(set(names))
    assert set(names) == REQUIRED
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", n) for n in names)


def test_every_file_has_source_size_checksum_and_licence(raw: dict) -> None:
    for model in raw["model"]:
        assert model["licence"] and model["library"] and model["dir"]
        for f in model["files"]:
            where = f"{model['name']}/{f['path']}"
            assert bool(f.get("url")) != bool(f.get("hub")), where
            if f.get("hub"):
                assert set(f["hub"]) == {"repo", "file", "revision"}, where
            if f.get("tofu"):
                assert model["name"] in TRUSTED_ON_FIRST_USE, f"{where}: trusted on first use but not documented"
                assert not any(f.get(k) for k in ("sha256", "md5", "sha256_prefix")), where
            else:
                assert re.fullmatch(r"[0-9a-f]{64}", f["sha256"]), f"{where}: needs a full sha256"
                assert f["size"] > 0, where


def test_entries_without_full_sha256_are_exactly_the_documented_ones(raw: dict) -> None:
    lacking = {m["name"] for m in raw["model"] for f in m["files"] if not f.get("sha256")}
    assert lacking == TRUSTED_ON_FIRST_USE
    readme = (REPO / "models" / "README.md").read_text(encoding="utf-8")
    assert all(name in readme for name in lacking)


def test_whisper_digests_are_the_ones_in_openais_urls(raw: dict) -> None:
    whisper = [m for m in raw["model"] if m["library"] == "openai-whisper"]
    assert len(whisper) == 8
    for model in whisper:
        (f,) = model["files"]
        assert f["url"].split("/")[-2] == f["sha256"]
        assert f["url"].endswith("/" + f["path"])


def test_hub_sources_are_pinned_to_commits_where_checksums_depend_on_them(raw: dict) -> None:
    for model in raw["model"]:
        for f in model["files"]:
            if f.get("hub") and not f.get("tofu"):
                assert re.fullmatch(r"[0-9a-f]{40}", f["hub"]["revision"]), model["name"]


def test_layout_matches_shared_models_for_the_three_real_models() -> None:
    manifest = load_manifest()
    assert manifest["whisper-tiny-en"].dir == "whisper"
    assert manifest["whisper-tiny-en"].files[0].path == "tiny.en.pt"
    assert manifest["all-minilm-l6-v2"].dir == "sentence-transformers/all-MiniLM-L6-v2"
    assert manifest["tf-efficientnet-lite0"].dir == "timm"
    assert manifest["tf-efficientnet-lite0"].files[0].path == "tf_efficientnet_lite0.imagenet.safetensors"
    assert manifest["siglip-vit-b16-webli"].dir == "open_clip/ViT-B-16-SigLIP"


def test_every_encoder_model_is_in_the_manifest() -> None:
    from mediasearch.encoders.registry import REGISTRY

    manifest = load_manifest()
    for spec in REGISTRY.values():
        for model in spec.models:
            assert model in manifest, f"encoder {spec.name} needs {model}"


def test_bundled_audioset_labels_are_the_official_file() -> None:
    file = load_manifest()["audioset-labels"].files[0]
    path = bundled_path(file)
    assert path is not None
    data = path.read_bytes()
    assert len(data) == file.size
    assert hashlib.sha256(data).hexdigest() == file.sha256
    rows = list(csv.reader(data.decode("utf-8").splitlines()))
    assert rows[0] == ["index", "mid", "display_name"] and len(rows) == 528
    assert rows[1] == ["0", "/m/09x0r", "Speech"]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda m: m["model"][0].update(name="Bad_Name"), "lowercase"),
        (lambda m: m["model"].append(dict(m["model"][0])), "duplicate name"),
        (lambda m: m["model"][0].pop("licence"), "missing licence"),
        (lambda m: m["model"][0]["files"][0].pop("url"), "exactly one source"),
        (lambda m: m["model"][0]["files"][0].pop("sha256"), "needs sha256, md5 or sha256_prefix"),
        (lambda m: m["model"][0]["files"][0].update(sha256="ABC"), "lowercase hex"),
        (lambda m: m["model"][0]["files"][0].pop("size"), "size must be"),
        (lambda m: m["model"][0]["files"][0].update(tofu=True), "tofu excludes"),
        (lambda m: m["model"][0]["files"][0].update(path="../escape"), "relative path"),
        (lambda m: m["model"][0]["files"][0].update(shasum="x"), "unknown keys"),
    ],
)
def test_schema_rejects_broken_entries(change, problem: str) -> None:  # type: ignore[no-untyped-def]
    data = {
        "model": [
            {
                "name": "toy",
                "library": "torch",
                "licence": "MIT",
                "dir": "toy",
                "kind": "file",
                "files": [{"path": "toy.pt", "url": "https://example.org/toy.pt", "size": 3, "sha256": "0" * 64}],
            }
        ]
    }
    assert validate(data) == []
    change(data)
    problems = validate(data)
    assert any(problem in p for p in problems), problems
    with pytest.raises(ManifestError):
        parse(data)


def test_documented_digest_forms_are_accepted() -> None:
    files = [
        {"path": "a", "url": "https://example.org/a", "size": 1, "sha256": "a" * 64},
        {"path": "b", "url": "https://example.org/b", "size": 1, "md5": "b" * 32},
        {"path": "c", "url": "https://example.org/c", "size": 1, "sha256_prefix": "11ad3fa6"},
        {"path": "d", "hub": {"repo": "o/r", "file": "d", "revision": "main"}, "tofu": True},
    ]
    data = {"model": [{"name": "toy", "library": "x", "licence": "MIT", "dir": "t", "kind": "folder", "files": files}]}
    assert validate(data) == []
    entry = parse(data)["toy"]
    assert entry.files[3].source_url == "https://huggingface.co/o/r/resolve/main/d"
