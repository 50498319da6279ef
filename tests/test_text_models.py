"""Transcript text models as data: each self-hosted entry runs on the shared BERT path with
its own pooling and prefixes. Random-init models of each entry's exact architecture are
checked against Hugging Face transformers (the reference network) on ONNX Runtime and on
torch; the real all-MiniLM-L6-v2 against sentence-transformers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mediasearch.config import Settings
from mediasearch.encoders import sentence_text, text_models
from mediasearch.errors import UnknownTextModelError

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

WORDS = "the a lighthouse keeper painted old wooden boat bright yellow budget meeting thursday football match snow query passage represent this sentence for searching relevant passages : é 会议 天气".split()
QUERIES = ["lighthouse boat", "budget meeting thursday"]
PASSAGES = ["the lighthouse keeper painted the old wooden boat bright yellow", "football match snow", "会议 天气"]


def _tokenizer(kind: str):
    """A small word-level tokenizer with the model family's special tokens and template."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    if kind == "bert":
        specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
        template = ("[CLS] $A [SEP]", [("[CLS]", 2), ("[SEP]", 3)])
        unk = "[UNK]"
    else:  # XLM-RoBERTa / SentencePiece style: <s>=0 <pad>=1 </s>=2
        specials = ["<s>", "<pad>", "</s>", "<unk>"]
        template = ("<s> $A </s>", [("<s>", 0), ("</s>", 2)])
        unk = "<unk>"
    vocab = {t: i for i, t in enumerate(specials + WORDS)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token=unk))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(single=template[0], special_tokens=template[1])
    return tok, len(vocab)


def random_model_folder(folder: Path, name: str, *, architecture: dict | None = None, pooling: str | None = None, seed: int = 0):
    """A sentence-transformers folder of the text model ``name``'s exact architecture
    (text_models.ARCHITECTURES), random weights, vocabulary cut to a small test tokenizer.
    Returns (folder, the transformers reference model)."""
    spec = text_models.TEXT_MODELS[name]
    arch = dict(architecture or text_models.ARCHITECTURES[name])
    kind = str(arch["model_type"])
    tok, vocab = _tokenizer("bert" if kind == "bert" else "xlmr")
    arch["vocab_size"] = vocab
    torch.manual_seed(seed)
    if kind == "bert":
        config = transformers.BertConfig(**arch)
        model = transformers.BertModel(config, add_pooling_layer=False)
    else:
        config = transformers.XLMRobertaConfig(**arch)
        model = transformers.XLMRobertaModel(config, add_pooling_layer=False)
    with torch.no_grad():  # a random init with LayerNorms that are not the identity, so mistakes show
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    model.eval()
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    tok.save(str(folder / "tokenizer.json"))
    pooling = pooling or spec.pooling
    (folder / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]))
    (folder / "1_Pooling").mkdir(exist_ok=True)
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({
        "word_embedding_dimension": arch["hidden_size"], "pooling_mode_cls_token": pooling == "cls",
        "pooling_mode_mean_tokens": pooling == "mean", "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False,
    }))
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 512, "do_lower_case": False}))
    return folder, model, tok


def reference(model, tok, texts: list[str], pooling: str) -> np.ndarray:
    """transformers' network on the same token ids, pooled and normalised by hand."""
    enc = tok.encode_batch(texts)
    longest = max(len(e.ids) for e in enc)
    pad = 0 if isinstance(model, transformers.BertModel) else 1
    ids = torch.tensor([e.ids + [pad] * (longest - len(e.ids)) for e in enc])
    mask = torch.tensor([[1] * len(e.ids) + [0] * (longest - len(e.ids)) for e in enc])
    with torch.no_grad():
        states = model(input_ids=ids, attention_mask=mask).last_hidden_state
    if pooling == "cls":
        pooled = states[:, 0]
    else:
        m = mask[..., None].float()
        pooled = (states * m).sum(1) / m.sum(1)
    pooled = pooled.numpy()
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


def min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.min(np.sum(a * b, axis=1)))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    text_models.clear_cache()
    # fp32: no precision calibration (timing runs) for random weights
    return Settings(library_dir=tmp_path / "lib", model_dir=tmp_path / "models", threads=2, precision="fp32")


_FOLDERS: dict[str, tuple] = {}


@pytest.fixture(scope="module")
def model_folders(tmp_path_factory: pytest.TempPathFactory):
    """Each model's random-init folder, built once for the module."""

    def get(name: str) -> tuple:
        if name not in _FOLDERS:
            _FOLDERS[name] = random_model_folder(tmp_path_factory.mktemp(name), name)
        return _FOLDERS[name]

    yield get
    _FOLDERS.clear()


def test_every_self_hosted_model_is_in_the_manifest_at_its_revision() -> None:
    from mediasearch.modelstore import load_manifest

    manifest = load_manifest()
    for spec in text_models.TEXT_MODELS.values():
        entry = manifest[spec.store_name]
        assert entry.dir == spec.repo, spec.name
        assert {f.path for f in entry.files} >= {"config.json", "model.safetensors", "tokenizer.json"}, spec.name
        revisions = {f.hub.revision for f in entry.files if f.hub is not None}
        assert revisions == {spec.revision}, spec.name


def test_the_table_says_each_models_pooling_and_prefixes() -> None:
    t = text_models.TEXT_MODELS
    assert text_models.DEFAULT_TEXT_MODEL == "all-minilm-l6-v2" == sentence_text.DEFAULT_TEXT_MODEL
    assert (t["e5-small-v2"].query_prefix, t["e5-small-v2"].passage_prefix, t["e5-small-v2"].pooling) == ("query: ", "passage: ", "mean")
    assert (t["multilingual-e5-small"].query_prefix, t["multilingual-e5-small"].passage_prefix) == ("query: ", "passage: ")
    bge = t["bge-small-en-v1.5"]
    assert (bge.pooling, bge.query_prefix, bge.passage_prefix) == ("cls", "Represent this sentence for searching relevant passages: ", "")
    for name in ("all-minilm-l6-v2", "multi-qa-minilm-l6-cos-v1"):
        assert (t[name].pooling, t[name].query_prefix, t[name].passage_prefix) == ("mean", "", "")
    for spec in t.values():
        assert spec.dim == text_models.TRANSCRIPT_DIM and spec.normalise and spec.hosting == "self-hosted"
        assert len(spec.revision) == 40 and spec.repo and spec.licence and spec.store_name == spec.name.replace(".", "-")
        assert text_models.ARCHITECTURES[spec.name]["hidden_size"] == spec.dim
        if spec.benchmark_value is not None:
            assert spec.benchmark_metric == "mteb-retrieval" and str(spec.benchmark_value) in spec.benchmark
    api = text_models.text_model_spec("openai:text-embedding-3-small")
    assert api.hosting == "api" and api.dim == 384 and api.store_name == "" and api.benchmark_value == 62.3
    assert text_models.text_model_spec("openai:any-model-name").options == {"model": "any-model-name"}
    assert text_models.text_model_spec("E5-Small-V2").name == "e5-small-v2"
    with pytest.raises(UnknownTextModelError, match="bge-small-en-v1.5"):
        text_models.text_model_spec("bge-tiny")


@pytest.mark.parametrize(
    ("name", "engine"),
    [("e5-small-v2", "onnx"), ("bge-small-en-v1.5", "onnx"), ("bge-small-en-v1.5", "torch"), ("multilingual-e5-small", "torch")],
)
def test_random_init_models_match_transformers_with_their_pooling_and_prefixes(
    name: str, engine: str, settings: Settings, model_folders, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(sentence_text.ENGINE_ENV, engine)
    spec = text_models.TEXT_MODELS[name]
    folder, model, tok = model_folders(name)
    assert sentence_text.bert_folder_supported(folder, spec.pooling)
    emb = text_models.load_text_embedder(name, settings, folder=folder)
    assert emb.engine == ("onnxruntime" if engine == "onnx" else "torch") and emb.dim == 384
    queries, passages = emb.embed_queries(QUERIES), emb.embed_passages(PASSAGES)
    assert queries.shape == (2, 384) and passages.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-5)
    want_q = reference(model, tok, [spec.query_prefix + q for q in QUERIES], spec.pooling)
    want_p = reference(model, tok, [spec.passage_prefix + p for p in PASSAGES], spec.pooling)
    assert min_cosine(queries, want_q) > 0.9999 and min_cosine(passages, want_p) > 0.9999
    # the prefixes and the pooling are what make the difference: without them the vectors differ
    bare = reference(model, tok, QUERIES, spec.pooling)
    assert min_cosine(queries, bare) < 0.999
    other = reference(model, tok, [spec.passage_prefix + p for p in PASSAGES], "mean" if spec.pooling == "cls" else "cls")
    assert min_cosine(passages, other) < 0.999


def test_an_xlm_roberta_network_numbers_positions_after_the_padding_id(settings: Settings, tmp_path: Path, monkeypatch) -> None:
    """multilingual-e5-base and kin are XLM-RoBERTa: positions start at pad_token_id + 1."""
    monkeypatch.setenv(sentence_text.ENGINE_ENV, "torch")
    arch = {"model_type": "xlm-roberta", "hidden_size": 384, "num_attention_heads": 12, "intermediate_size": 1536,
            "num_hidden_layers": 2, "max_position_embeddings": 514, "type_vocab_size": 1, "layer_norm_eps": 1e-5,
            "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2, "hidden_act": "gelu"}
    folder, model, tok = random_model_folder(tmp_path / "xlmr", "multilingual-e5-small", architecture=arch)
    assert sentence_text.bert_folder_supported(folder, "mean")
    emb = text_models.load_text_embedder("multilingual-e5-small", settings, folder=folder)
    got = emb.embed_passages(PASSAGES)
    assert min_cosine(got, reference(model, tok, ["passage: " + p for p in PASSAGES], "mean")) > 0.9999


def test_a_folder_pooling_otherwise_than_the_table_leaves_the_light_path(tmp_path: Path) -> None:
    folder, _, _ = random_model_folder(tmp_path / "bge-mean", "bge-small-en-v1.5", pooling="mean",
                                       architecture={**text_models.ARCHITECTURES["bge-small-en-v1.5"], "num_hidden_layers": 1})
    assert sentence_text.folder_pooling(folder) == "mean"
    assert not sentence_text.bert_folder_supported(folder, "cls")
    assert sentence_text.bert_folder_supported(folder, "mean")


def test_the_real_minilm_through_the_table_equals_sentence_transformers(shared_models: Path, settings: Settings) -> None:
    folder = shared_models / "sentence-transformers" / "all-MiniLM-L6-v2"
    config = json.loads((folder / "config.json").read_text())
    assert {k: config[k] for k in text_models.ARCHITECTURES["all-minilm-l6-v2"]} == text_models.ARCHITECTURES["all-minilm-l6-v2"]
    st = pytest.importorskip("sentence_transformers")
    emb = text_models.load_text_embedder("all-minilm-l6-v2", settings, folder=folder)
    texts = QUERIES + PASSAGES[:2]
    want = st.SentenceTransformer(str(folder), device="cpu").encode(texts, normalize_embeddings=True)
    assert min_cosine(emb.embed_queries(texts), want) > 0.9999
    np.testing.assert_allclose(emb.embed_queries(texts), emb.embed_passages(texts), atol=1e-6)  # no prefixes


def test_whisper_encoders_take_the_librarys_text_model(shared_models: Path, tmp_path: Path) -> None:
    """The speech encoder embeds passages and queries with the model it is pointed at."""
    pytest.importorskip("whisper")
    from mediasearch.encoders.registry import load_encoder

    folder, model, tok = random_model_folder(tmp_path / "e5", "e5-small-v2",
                                             architecture={**text_models.ARCHITECTURES["e5-small-v2"], "num_hidden_layers": 2})
    settings = Settings(model_dir=shared_models, library_dir=tmp_path / "lib", precision="fp32")
    enc = load_encoder("whisper-tiny.en", settings)
    try:
        enc.model_paths["e5-small-v2"] = folder  # as the model store would give it
        enc.use_text_model("e5-small-v2")
        got = enc.embed_texts(["lighthouse boat"])
        assert min_cosine(got, reference(model, tok, ["query: lighthouse boat"], "mean")) > 0.9999
        from mediasearch.indexing import index_config

        assert index_config(enc) == {"text_model": "e5-small-v2"}
    finally:
        enc.model_paths.pop("e5-small-v2", None)
        enc.use_text_model("all-minilm-l6-v2")


def test_with_an_executor_the_writer_embeds_transcripts_with_the_librarys_model(shared_models: Path, tmp_path: Path) -> None:
    """Workers (another process, a cluster) embed with the spec's text model; the writer
    embeds the text again with the library's, so the index holds one space."""
    pytest.importorskip("whisper")
    import audio_factory as af

    from mediasearch.encoders.registry import load_encoder
    from mediasearch.indexing import encode_one, index_paths
    from mediasearch.library import Library

    if not af.have_espeak():
        pytest.skip("espeak-ng not installed")
    media = tmp_path / "speech"
    media.mkdir()
    af.write_audio(media / "s.wav", af.place([(0.5, af.speech("the red kettle is boiling"))], total_s=4.0))
    folder, _, _ = random_model_folder(tmp_path / "e5", "e5-small-v2",
                                       architecture={**text_models.ARCHITECTURES["e5-small-v2"], "num_hidden_layers": 2})
    settings = Settings(model_dir=shared_models, library_dir=tmp_path / "lib", precision="fp32")
    enc = load_encoder("whisper-tiny.en", settings)

    class LikeAWorker:
        """Encodes as a fresh worker would: with the spec's text model."""

        def encode_assets(self, encoder, assets, *, settings, cancel):  # noqa: ANN001
            for asset in assets:
                chosen = enc.text_model_name
                enc.use_text_model("all-minilm-l6-v2")
                outcome = encode_one(enc, asset, cancel=cancel)
                enc.use_text_model(chosen)
                yield asset, outcome

    enc.model_paths["e5-small-v2"] = folder
    try:
        with Library(settings) as lib:
            report = index_paths(lib, [media], encoders=["whisper-tiny.en"], text_model="e5-small-v2", executor=LikeAWorker())
            assert report.encoders["whisper-tiny.en"].items == 1
            (seg, *_) = lib.catalog.speech_segments("whisper-tiny.en")
            want = enc.embedder.embed_passages([seg.text])
            scores, ids = lib.index("whisper-tiny.en").search(want, 1)
            assert int(ids[0][0]) == seg.id and float(scores[0][0]) > 0.9999
    finally:
        enc.model_paths.pop("e5-small-v2", None)
        enc.use_text_model("all-minilm-l6-v2")
