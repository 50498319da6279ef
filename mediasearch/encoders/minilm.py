"""A BERT sentence model (all-MiniLM-L6-v2, E5, BGE, multilingual E5) in plain torch, with the Rust tokenizer.

sentence-transformers' pipeline for these folders is Transformer -> mean Pooling ->
Normalize; the transformer is a Hugging Face ``BertModel``. Importing
sentence-transformers pulls in transformers, scikit-learn and more (about 5 s cold, 1 GB),
though a query needs only the tokenizer and six small encoder layers. This module
rebuilds exactly that network (post-LayerNorm BERT, exact-erf GELU, absolute positions)
from ``config.json`` + ``model.safetensors``, and tokenizes with ``tokenizers`` from
``tokenizer.json``, truncating to ``sentence_bert_config.json``'s ``max_seq_length``.

:func:`supports` says whether a folder fits; anything else stays on sentence-transformers.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mediasearch.encoders.sentence_text import WEIGHTS_FILE, bert_folder_supported as supports, load_tokenizer, read_json

logger = logging.getLogger(__name__)

__all__ = ["MiniBert", "MiniLMModel", "convert_state_dict", "load", "supports"]


class _Layer(nn.Module):
    def __init__(self, hidden: int, heads: int, intermediate: int, eps: float) -> None:
        super().__init__()
        self.heads = heads
        self.scale = 1.0 / math.sqrt(hidden // heads)
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.attn_out = nn.Linear(hidden, hidden)
        self.attn_norm = nn.LayerNorm(hidden, eps=eps)
        self.ffn_in = nn.Linear(hidden, intermediate)
        self.ffn_out = nn.Linear(intermediate, hidden)
        self.ffn_norm = nn.LayerNorm(hidden, eps=eps)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        dh = d // self.heads

        def split(y: torch.Tensor) -> torch.Tensor:
            return y.view(b, t, self.heads, dh).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        context = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=self.scale)
        x = self.attn_norm(x + self.attn_out(context.transpose(1, 2).reshape(b, t, d)))
        return self.ffn_norm(x + self.ffn_out(F.gelu(self.ffn_in(x))))


class MiniBert(nn.Module):
    """BERT (or XLM-RoBERTa) encoder + pooling: (b, t) token ids and mask -> (b, hidden) pooled states.

    ``pooling``: "mean" (average of the states under the mask) or "cls" (the first token's
    state, as BGE). XLM-RoBERTa numbers positions from ``pad_token_id + 1`` (right
    padding: the padded positions differ from Hugging Face's, but they are masked out).
    """

    def __init__(self, config: dict[str, Any], *, pooling: str = "mean") -> None:
        super().__init__()
        if pooling not in ("mean", "cls"):
            raise ValueError(f"unknown pooling {pooling!r}; mean or cls")
        self.pooling = pooling
        self.position_offset = int(config.get("pad_token_id", 1)) + 1 if config.get("model_type") == "xlm-roberta" else 0
        hidden = int(config["hidden_size"])
        eps = float(config.get("layer_norm_eps", 1e-12))
        self.word = nn.Embedding(int(config["vocab_size"]), hidden)
        self.position = nn.Embedding(int(config["max_position_embeddings"]), hidden)
        self.token_type = nn.Embedding(int(config.get("type_vocab_size", 2)), hidden)
        self.embed_norm = nn.LayerNorm(hidden, eps=eps)
        self.layers = nn.ModuleList(
            _Layer(hidden, int(config["num_attention_heads"]), int(config["intermediate_size"]), eps)
            for _ in range(int(config["num_hidden_layers"]))
        )

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(ids.shape[1], device=ids.device) + self.position_offset
        x = self.embed_norm(self.word(ids) + self.position(positions)[None] + self.token_type(torch.zeros_like(ids)))
        keep = mask.bool()[:, None, None, :]  # (b, 1, 1, t): padding is never attended to
        for layer in self.layers:
            x = layer(x, keep)
        if self.pooling == "cls":
            return x[:, 0]
        weights = mask.to(x.dtype)[..., None]
        return (x * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)


#: Hugging Face BertModel state-dict names -> MiniBert names (per-layer part after "encoder.layer.N.")
_LAYER_NAMES = {
    "attention.self.query": "query",
    "attention.self.key": "key",
    "attention.self.value": "value",
    "attention.output.dense": "attn_out",
    "attention.output.LayerNorm": "attn_norm",
    "intermediate.dense": "ffn_in",
    "output.dense": "ffn_out",
    "output.LayerNorm": "ffn_norm",
}
_TOP_NAMES = {
    "embeddings.word_embeddings": "word",
    "embeddings.position_embeddings": "position",
    "embeddings.token_type_embeddings": "token_type",
    "embeddings.LayerNorm": "embed_norm",
}


def convert_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A BertModel / XLMRobertaModel state dict (optionally ``bert.``- or ``roberta.``-prefixed)
    renamed for :class:`MiniBert`; the pooler and ``position_ids`` buffers are dropped."""
    out: dict[str, torch.Tensor] = {}
    for name, tensor in state.items():
        name = name.removeprefix("bert.").removeprefix("roberta.")
        module, _, param = name.rpartition(".")
        if module.startswith("encoder.layer."):
            index, _, rest = module.removeprefix("encoder.layer.").partition(".")
            if rest in _LAYER_NAMES:
                out[f"layers.{index}.{_LAYER_NAMES[rest]}.{param}"] = tensor
        elif module in _TOP_NAMES:
            out[f"{_TOP_NAMES[module]}.{param}"] = tensor
    return out


class MiniLMModel:
    """Tokenizer + :class:`MiniBert` for one folder, on one device."""

    def __init__(self, folder: Path, *, device: torch.device | None = None, pooling: str = "mean") -> None:
        from safetensors.torch import load_file

        self.folder = Path(folder)
        self.device = device or torch.device("cpu")
        config = read_json(self.folder / "config.json")
        self.tokenizer, self.max_length = load_tokenizer(self.folder)
        self.weights_path = self.folder / WEIGHTS_FILE
        self.network = MiniBert(config, pooling=pooling)
        self.network.load_state_dict(convert_state_dict(load_file(str(self.weights_path))), strict=True)
        self.network = self.network.eval().to(self.device)
        self.dim = int(config["hidden_size"])

    def tokenize(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Texts -> (ids, attention mask), each (n, longest) int64, on the model's device."""
        encodings = self.tokenizer.encode_batch(list(texts))
        ids = torch.tensor([e.ids for e in encodings], dtype=torch.long)
        mask = torch.tensor([e.attention_mask for e in encodings], dtype=torch.long)
        return ids.to(self.device), mask.to(self.device)

    def embed(self, texts: Sequence[str], *, dtype_name: str = "fp32") -> np.ndarray:
        """Texts -> (n, dim) float32 pooled states (not normalised)."""
        from mediasearch.encoders.precision import autocast

        ids, mask = self.tokenize(texts)
        with torch.inference_mode(), autocast(self.device, dtype_name):
            return self.network(ids, mask).float().cpu().numpy()


def load(folder: Path, *, device: torch.device | None = None, pooling: str = "mean") -> MiniLMModel:
    """The light-path model for a folder :func:`supports` accepts."""
    return MiniLMModel(folder, device=device, pooling=pooling)
