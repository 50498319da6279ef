"""Model store: status, offline import (file and folder), verify, require, loading what was imported, and encoder names resolved to the models they need."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from mediasearch.errors import ModelUnavailableError, UnknownModelError
from mediasearch.modelstore import ModelStore, Status
from mediasearch.modelstore.errors import ImportChecksumError, ModelStoreError
from mediasearch.modelstore.manifest import parse
from mediasearch.modelstore.records import RECORDS_DIR, RECORDS_FILE


def toy_manifest(files: dict[str, bytes], *, tofu: tuple[str, ...] = (), kind: str = "folder") -> dict:
    """A one-model manifest ("toy") whose files have the given contents."""
    entries = []
    for path, data in files.items():
        f: dict = {"path": path, "url": f"https://example.invalid/{path}"}
        if path in tofu:
            f["tofu"] = True
        else:
            f.update(size=len(data), sha256=hashlib.sha256(data).hexdigest())
        entries.append(f)
    return parse(
        {"model": [{"name": "toy", "library": "torch", "licence": "MIT", "dir": "toy", "kind": kind, "files": entries}]}
    )


def records(root: Path) -> dict:
    return json.loads((root / RECORDS_DIR / RECORDS_FILE).read_text())


# -- the shared folder as a read-only store ----------------------------------------------


def test_shared_models_folder_works_as_is(shared_models: Path) -> None:
    store = ModelStore(shared_models)
    for name in ("whisper-tiny-en", "all-minilm-l6-v2", "tf-efficientnet-lite0", "audioset-labels"):
        assert store.status(name).status is Status.PRESENT, name
        assert store.require(name).exists()
    assert store.require("whisper-tiny-en") == shared_models / "whisper" / "tiny.en.pt"
    assert store.require("all-minilm-l6-v2") == shared_models / "sentence-transformers" / "all-MiniLM-L6-v2"
    # the converted checkpoint is reported as what it is
    assert "converted" in store.status("whisper-tiny-en").notes[0]
    assert store.status("resnet50-imagenet1k-v2").status is Status.MISSING
    assert not (shared_models / RECORDS_DIR).exists()


def test_require_missing_names_pull_and_import(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    with pytest.raises(ModelUnavailableError) as info:
        store.require("resnet50-imagenet1k-v2", encoder="resnet50")
    message = str(info.value)
    assert "mediasearch models pull resnet50-imagenet1k-v2" in message
    assert "mediasearch models import resnet50-imagenet1k-v2 PATH" in message
    assert info.value.encoder == "resnet50"
    with pytest.raises(UnknownModelError):
        store.status("no-such-model")


# -- import from ../shared/models, then load through the normal path -----------------------


@pytest.mark.slow
def test_import_whisper_file_then_load_it(tmp_path: Path, shared_models: Path) -> None:
    store = ModelStore(tmp_path / "models")
    status = store.import_("whisper-tiny-en", shared_models / "whisper" / "tiny.en.pt")
    assert status.status is Status.PRESENT
    assert status.files[0].accepted == "alternative" and "converted" in status.notes[0]
    rec = records(store.root)["models"]["whisper-tiny-en"]["files"]["tiny.en.pt"]
    assert rec["accepted"] == "alternative" and rec["size"] == 76732323

    import whisper

    model = whisper.load_model(str(store.require("whisper-tiny-en")), device="cpu")
    assert model.dims.n_audio_layer == 4 and not model.is_multilingual


@pytest.mark.slow
def test_import_sentence_transformers_folder_then_load_it_offline(tmp_path: Path, shared_models: Path) -> None:
    import os

    assert os.environ["HF_HUB_OFFLINE"] == "1"
    store = ModelStore(tmp_path / "models")
    status = store.import_("all-minilm-l6-v2", shared_models / "sentence-transformers" / "all-MiniLM-L6-v2")
    assert status.status is Status.PRESENT
    assert {f.accepted for f in status.files} == {"manifest"}
    folder = store.require("all-minilm-l6-v2")
    assert folder == tmp_path / "models" / "sentence-transformers" / "all-MiniLM-L6-v2"

    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(folder), device="cpu")
    vectors = model.encode(["a cat on a sofa", "a kitten on a couch", "quarterly tax report"])
    assert vectors.shape == (3, 384)
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[0, 2]


@pytest.mark.slow
def test_import_timm_from_a_store_layout_folder_then_load_strict(tmp_path: Path, shared_models: Path) -> None:
    store = ModelStore(tmp_path / "models")
    status = store.import_("tf-efficientnet-lite0", shared_models)  # a whole model folder works as a source
    assert status.status is Status.PRESENT and status.files[0].accepted == "alternative"

    import timm

    from mediasearch.modelstore.loading import load_torch_state_dict

    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    result = model.load_state_dict(load_torch_state_dict(store.require("tf-efficientnet-lite0")), strict=True)
    assert not result.missing_keys and not result.unexpected_keys


def test_import_folder_missing_a_file_installs_nothing(tmp_path: Path, shared_models: Path) -> None:
    source = tmp_path / "incomplete"
    source.mkdir()
    (source / "config.json").write_bytes((shared_models / "sentence-transformers/all-MiniLM-L6-v2/config.json").read_bytes())
    store = ModelStore(tmp_path / "models")
    with pytest.raises(ModelStoreError, match="model.safetensors"):
        store.import_("all-minilm-l6-v2", source)
    assert store.status("all-minilm-l6-v2").status is Status.MISSING
    with pytest.raises(ModelStoreError, match="import the folder"):
        store.import_("all-minilm-l6-v2", source / "config.json")


# -- checksums: refused, forced, verified ---------------------------------------------------


def test_import_refuses_a_mismatch_and_force_records_it(tmp_path: Path) -> None:
    manifest = toy_manifest({"w.bin": b"official weights"}, kind="file")
    store = ModelStore(tmp_path / "models", manifest=manifest)
    other = tmp_path / "w.bin"
    other.write_bytes(b"something else!!")
    with pytest.raises(ImportChecksumError) as info:
        store.import_("toy", other)
    assert "--force" in str(info.value) and "nothing was installed" in str(info.value)
    assert store.status("toy").status is Status.MISSING
    assert not list((tmp_path / "models").rglob("*.part"))

    status = store.import_("toy", other, force=True)
    assert status.status is Status.PRESENT and status.forced
    rec = records(store.root)["models"]["toy"]["files"]["w.bin"]
    assert rec["accepted"] == "forced" and rec["sha256"] == hashlib.sha256(b"something else!!").hexdigest()
    (check,) = store.verify(["toy"])
    assert check.ok and check.accepted == "forced"


def test_verify_detects_a_corrupted_file(tmp_path: Path) -> None:
    data = {"model.bin": b"\x01" * 4096, "config.json": b'{"dim": 4}'}
    store = ModelStore(tmp_path / "models", manifest=toy_manifest(data))
    source = tmp_path / "src"
    source.mkdir()
    for name, content in data.items():
        (source / name).write_bytes(content)
    store.import_("toy", source)
    assert all(c.result == "ok" for c in store.verify())

    weights = tmp_path / "models" / "toy" / "model.bin"
    damaged = bytearray(weights.read_bytes())
    damaged[100] ^= 0xFF  # same size: only re-hashing can tell
    weights.write_bytes(bytes(damaged))
    assert store.status("toy").status is Status.PRESENT  # status is cheap and cannot see it
    checks = {c.path: c for c in store.verify(["toy"])}
    assert checks["model.bin"].result == "mismatch" and checks["config.json"].result == "ok"
    assert checks["model.bin"].expected == f"sha256:{hashlib.sha256(data['model.bin']).hexdigest()}"

    weights.write_bytes(bytes(damaged[:1000]))  # truncated: status sees it
    assert store.status("toy").status is Status.CORRUPT
    with pytest.raises(ModelUnavailableError, match="models verify toy"):
        store.require("toy")


def test_status_partial_and_missing(tmp_path: Path) -> None:
    data = {"a.bin": b"a" * 10, "b.bin": b"b" * 10}
    store = ModelStore(tmp_path / "models", manifest=toy_manifest(data))
    assert store.status("toy").status is Status.MISSING
    folder = tmp_path / "models" / "toy"
    folder.mkdir(parents=True)
    (folder / "a.bin").write_bytes(data["a.bin"])
    assert store.status("toy").status is Status.PARTIAL
    (folder / "b.bin.part").write_bytes(b"b" * 4)
    status = store.status("toy")
    assert status.status is Status.PARTIAL and status.size_on_disk == 14
    (folder / "b.bin.part").unlink()
    (folder / "b.bin").write_bytes(data["b.bin"])
    assert store.is_present("toy")
    (folder / "b.bin").write_bytes(b"b" * 11)
    assert store.status("toy").status is Status.CORRUPT


def test_trust_on_first_use_records_and_checks_the_first_hash(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "models", manifest=toy_manifest({"w.bin": b""}, tofu=("w.bin",), kind="file"))
    source = tmp_path / "w.bin"
    source.write_bytes(b"whatever the hub serves")
    status = store.import_("toy", source)
    assert status.status is Status.PRESENT and status.files[0].accepted == "first-use"
    (check,) = store.verify()
    assert check.result == "ok" and check.accepted == "first-use"
    store.path("toy").write_bytes(b"whatever the hub serveZ")
    (check,) = store.verify()
    assert check.result == "mismatch"


def test_importing_a_store_onto_itself_only_checks(tmp_path: Path) -> None:
    data = {"w.bin": b"weights"}
    store = ModelStore(tmp_path / "models", manifest=toy_manifest(data, kind="file"))
    store.path("toy").parent.mkdir(parents=True)
    store.path("toy").write_bytes(data["w.bin"])
    assert store.import_("toy", tmp_path / "models").status is Status.PRESENT
    assert store.path("toy").read_bytes() == data["w.bin"]


# -- safe loading -------------------------------------------------------------------------


def test_load_torch_state_dict_is_weights_only(tmp_path: Path) -> None:
    import torch
    from safetensors.torch import save_file

    from mediasearch.modelstore.loading import load_torch_state_dict

    state = {"w": torch.arange(6.0).reshape(2, 3)}
    torch.save({"model_state_dict": state, "dims": {"n": 2}}, tmp_path / "ckpt.pt")
    assert torch.equal(load_torch_state_dict(tmp_path / "ckpt.pt")["w"], state["w"])
    save_file(state, str(tmp_path / "w.safetensors"))
    assert torch.equal(load_torch_state_dict(tmp_path / "w.safetensors")["w"], state["w"])

    torch.save({"w": state["w"], "evil": Path("x")}, tmp_path / "pickled.pt")  # an arbitrary class
    with pytest.raises(Exception, match="weights_only|Unsupported global"):
        load_torch_state_dict(tmp_path / "pickled.pt")


def test_encoder_names_resolve_to_the_models_they_need(tmp_path: Path, shared_models: Path) -> None:
    from mediasearch.modelstore.resolve import (
        NoWeightsNeededError,
        UnknownModelOrEncoderError,
        install_command,
        layout,
        missing_models,
        resolve,
        resolve_all,
    )

    store = ModelStore(tmp_path / "models")
    assert resolve(store, "tf-efficientnet-lite0").models == ("tf-efficientnet-lite0",)
    assert resolve(store, "tf-efficientnet-lite0").encoder == ""
    assert resolve(store, "efficientnet-lite0").models == ("tf-efficientnet-lite0",)
    assert resolve(store, "whisper-tiny.en").models == ("whisper-tiny-en", "all-minilm-l6-v2")
    # each model once, in order, whether named directly or through an encoder
    assert resolve_all(store, ["whisper-tiny.en", "all-minilm-l6-v2", "whisper-base"]) == [
        "whisper-tiny-en", "all-minilm-l6-v2", "whisper-base",
    ]
    with pytest.raises(UnknownModelOrEncoderError) as caught:
        resolve_all(store, ["efficientnet-lite0", "no-such"])
    assert isinstance(caught.value, UnknownModelError) and "efficientnet-lite0" in caught.value.encoders
    with pytest.raises(NoWeightsNeededError):
        resolve(store, "baseline-audio")
    assert layout(store, ["whisper-tiny-en", "all-minilm-l6-v2"]) == [
        "whisper/tiny.en.pt (whisper-tiny-en)",
        f"sentence-transformers/all-MiniLM-L6-v2/ (all-minilm-l6-v2, {len(store.entry('all-minilm-l6-v2').files)} files)",
    ]
    assert install_command("whisper-tiny.en") == "mediasearch models pull whisper-tiny.en"
    assert missing_models(store, "whisper-tiny.en") == ["whisper-tiny-en", "all-minilm-l6-v2"]
    store.import_("whisper-tiny-en", shared_models / "whisper" / "tiny.en.pt")
    assert missing_models(store, "whisper-tiny.en") == ["all-minilm-l6-v2"]
    assert missing_models(ModelStore(shared_models), "whisper-tiny.en") == []
