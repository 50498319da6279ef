"""Strings the core hands the GUI as data (encoder and model descriptions, progress stages,
model states), marked for translation. The core stays English and Qt-free; the GUI shows
them through :func:`core_text`. tests/test_gui_i18n.py checks these lists cover the
registry and the manifest."""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication

CONTEXT = "core"

ENCODER_DESCRIPTIONS = [
    QT_TRANSLATE_NOOP("core", 'DINOv2 ViT-B/14 (self-supervised, LVD-142M) via timm: 768-d image features for image -> image'),
    QT_TRANSLATE_NOOP("core", 'DINOv2 ViT-S/14 (self-supervised, LVD-142M) via timm: 384-d image features for image -> image'),
    QT_TRANSLATE_NOOP("core", "LAION-CLAP HTSAT-unfused (transformers ClapModel): sounds and text in one space, so 'dog barking' finds sounds"),
    QT_TRANSLATE_NOOP("core", 'OpenAI CLIP ViT-B/32 (open_clip ViT-B-32, openai weights): image and text towers, light'),
    QT_TRANSLATE_NOOP("core", 'OpenAI CLIP ViT-L/14 (open_clip ViT-L-14, openai weights): image and text towers, large'),
    QT_TRANSLATE_NOOP("core", 'PANNs CNN14 (AudioSet, mAP 0.431): 2048-d clip embeddings and AudioSet labels'),
    QT_TRANSLATE_NOOP("core", 'open_clip ViT-B-16-SigLIP (webli): image and text towers, text queries find images and frames'),
    QT_TRANSLATE_NOOP("core", 'open_clip ViT-B-16-SigLIP2-256 (webli): SigLIP 2 image and text towers, multilingual text'),
    QT_TRANSLATE_NOOP("core", 'openai-whisper base.en: time-coded transcripts, searched by BM25 + all-MiniLM-L6-v2 (RRF)'),
    QT_TRANSLATE_NOOP("core", 'openai-whisper base: time-coded transcripts, searched by BM25 + all-MiniLM-L6-v2 (RRF)'),
    QT_TRANSLATE_NOOP("core", 'openai-whisper medium.en: time-coded transcripts, searched by BM25 + all-MiniLM-L6-v2 (RRF)'),
    QT_TRANSLATE_NOOP("core", 'openai-whisper medium: time-coded transcripts, searched by BM25 + all-MiniLM-L6-v2 (RRF)'),
    QT_TRANSLATE_NOOP("core", 'openai-whisper small.en: time-coded transcripts, searched by BM25 + all-MiniLM-L6-v2 (RRF)'),
    QT_TRANSLATE_NOOP("core", 'openai-whisper small: time-coded transcripts, searched by BM25 + all-MiniLM-L6-v2 (RRF)'),
    QT_TRANSLATE_NOOP("core", 'openai-whisper tiny.en: time-coded transcripts, searched by BM25 + all-MiniLM-L6-v2 (RRF)'),
    QT_TRANSLATE_NOOP("core", 'openai-whisper tiny: time-coded transcripts, searched by BM25 + all-MiniLM-L6-v2 (RRF)'),
    QT_TRANSLATE_NOOP("core", 'timm tf_efficientnet_lite0 (ImageNet), pooled 1280-d features; light, for laptops'),
    QT_TRANSLATE_NOOP("core", 'torchvision ResNet50, ImageNet IMAGENET1K_V2 weights, pooled 2048-d features'),
    QT_TRANSLATE_NOOP("core", 'weight-free colour histograms + wavelet layout + LBP texture + Fourier spectrum (no downloads)'),
    QT_TRANSLATE_NOOP("core", 'weight-free landmark fingerprint: finds the same recording after noise, shift, resampling (no downloads)'),
    QT_TRANSLATE_NOOP("core", 'weight-free texture statistics (log-mel, contrast, modulation) + landmark fingerprint (no downloads)'),
]
ENCODER_LICENCES = [
    QT_TRANSLATE_NOOP("core", 'Apache-2.0'),
    QT_TRANSLATE_NOOP("core", 'Apache-2.0 (DINOv2 weights)'),
    QT_TRANSLATE_NOOP("core", 'Apache-2.0 (LAION-CLAP weights and code)'),
    QT_TRANSLATE_NOOP("core", 'Apache-2.0 (SigLIP 2 weights)'),
    QT_TRANSLATE_NOOP("core", 'Apache-2.0 (SigLIP weights)'),
    QT_TRANSLATE_NOOP("core", 'Apache-2.0 (this project)'),
    QT_TRANSLATE_NOOP("core", 'BSD-3-Clause (torchvision weights)'),
    QT_TRANSLATE_NOOP("core", 'MIT (OpenAI CLIP weights and code)'),
    QT_TRANSLATE_NOOP("core", 'MIT (PANNs code and weights)'),
    QT_TRANSLATE_NOOP("core", 'MIT (Whisper); Apache-2.0 (all-MiniLM-L6-v2)'),
]
ENCODER_BENCHMARKS = [
    QT_TRANSLATE_NOOP("core", 'AudioSet mAP 0.431 (Kong et al., PANNs, arXiv:1912.10211, Table 2)'),
    QT_TRANSLATE_NOOP("core", "ESC-50 zero-shot R@1 92.75% for LAION-CLAP's non-fusion default checkpoint (LAION-AI/CLAP README, first ESC-50 split); the hub port's checkpoint is not named there"),
    QT_TRANSLATE_NOOP("core", 'ImageNet-1k acc@1 80.858 (torchvision IMAGENET1K_V2 weights table)'),
    QT_TRANSLATE_NOOP("core", 'ImageNet-1k k-NN top-1 79.0% (linear 81.1%) (Oquab et al., DINOv2, arXiv:2304.07193; facebookresearch/dinov2 README)'),
    QT_TRANSLATE_NOOP("core", 'ImageNet-1k k-NN top-1 82.1% (linear 84.5%) (Oquab et al., DINOv2, arXiv:2304.07193; facebookresearch/dinov2 README)'),
    QT_TRANSLATE_NOOP("core", 'ImageNet-1k top-1 74.830 (timm results/results-imagenet.csv, tf_efficientnet_lite0.in1k, 224 px)'),
    QT_TRANSLATE_NOOP("core", 'ImageNet-1k zero-shot top-1 63.32% (open_clip docs/openclip_results.csv, ViT-B-32 openai)'),
    QT_TRANSLATE_NOOP("core", 'ImageNet-1k zero-shot top-1 75.54% (open_clip docs/openclip_results.csv, ViT-L-14 openai)'),
    QT_TRANSLATE_NOOP("core", 'ImageNet-1k zero-shot top-1 76.04% (open_clip docs/openclip_classification_results.csv, ViT-B-16-SigLIP webli)'),
    QT_TRANSLATE_NOOP("core", 'ImageNet-1k zero-shot top-1 79.1% (Tschannen et al., SigLIP 2, arXiv:2502.14786, Table 1, B/16 at 256 px)'),
    QT_TRANSLATE_NOOP("core", 'LibriSpeech test-clean WER 2.9% (Whisper paper, arXiv:2212.04356, Appendix D.1.1)'),
    QT_TRANSLATE_NOOP("core", 'LibriSpeech test-clean WER 3.1% (Whisper paper, arXiv:2212.04356, Appendix D.1.1)'),
    QT_TRANSLATE_NOOP("core", 'LibriSpeech test-clean WER 3.4% (Whisper paper, arXiv:2212.04356, Appendix D.1.1)'),
    QT_TRANSLATE_NOOP("core", 'LibriSpeech test-clean WER 4.2% (Whisper paper, arXiv:2212.04356, Appendix D.1.1)'),
    QT_TRANSLATE_NOOP("core", 'LibriSpeech test-clean WER 5.0% (Whisper paper, arXiv:2212.04356, Appendix D.1.1)'),
    QT_TRANSLATE_NOOP("core", 'LibriSpeech test-clean WER 5.6% (Whisper paper, arXiv:2212.04356, Appendix D.1.1)'),
    QT_TRANSLATE_NOOP("core", 'LibriSpeech test-clean WER 7.6% (Whisper paper, arXiv:2212.04356, Appendix D.1.1)'),
    QT_TRANSLATE_NOOP("core", 'generated scene classes: MAP 0.905 (categories), 0.919 (near-duplicates); docs/PERFORMANCE.md (this project)'),
    QT_TRANSLATE_NOOP("core", 'generated sound classes: MAP 0.919 (categories), 0.929 (near-duplicates); docs/PERFORMANCE.md (this project)'),
    QT_TRANSLATE_NOOP("core", 'generated sound near-duplicates: MAP 0.985; docs/PERFORMANCE.md (this project)'),
]
MODEL_DESCRIPTIONS = [
    QT_TRANSLATE_NOOP("core", 'BGE small en v1.5, 384-d English retrieval embeddings ([CLS] pooling; an instruction before queries); SentenceTransformer(<dir>)'),
    QT_TRANSLATE_NOOP("core", 'DINOv2 ViT-B/14 (LVD-142M, self-supervised) as timm vit_base_patch14_dinov2.lvd142m safetensors, loaded strict'),
    QT_TRANSLATE_NOOP("core", 'DINOv2 ViT-S/14 (LVD-142M, self-supervised) as timm vit_small_patch14_dinov2.lvd142m safetensors, loaded strict'),
    QT_TRANSLATE_NOOP("core", "E5 small v2, 384-d English retrieval embeddings (mean pooling; 'query: ' / 'passage: ' prefixes); SentenceTransformer(<dir>)"),
    QT_TRANSLATE_NOOP("core", "LAION-CLAP HTSAT-unfused as transformers' ClapModel (audio + text towers), its feature extractor config and RoBERTa BPE files; built with ClapModel(config) from <dir>, no hub"),
    QT_TRANSLATE_NOOP("core", 'OpenAI CLIP ViT-B/32 (TorchScript archive); open_clip ViT-B-32 with QuickGELU loads its state dict strictly'),
    QT_TRANSLATE_NOOP("core", 'OpenAI CLIP ViT-L/14 (TorchScript archive); open_clip ViT-L-14 with QuickGELU loads its state dict strictly'),
    QT_TRANSLATE_NOOP("core", 'OpenAI Whisper base (English-only); load with whisper.load_model(path)'),
    QT_TRANSLATE_NOOP("core", 'OpenAI Whisper base (multilingual); load with whisper.load_model(path)'),
    QT_TRANSLATE_NOOP("core", 'OpenAI Whisper medium (English-only); load with whisper.load_model(path)'),
    QT_TRANSLATE_NOOP("core", 'OpenAI Whisper medium (multilingual); load with whisper.load_model(path)'),
    QT_TRANSLATE_NOOP("core", 'OpenAI Whisper small (English-only); load with whisper.load_model(path)'),
    QT_TRANSLATE_NOOP("core", 'OpenAI Whisper small (multilingual); load with whisper.load_model(path)'),
    QT_TRANSLATE_NOOP("core", 'OpenAI Whisper tiny (English-only); load with whisper.load_model(path)'),
    QT_TRANSLATE_NOOP("core", 'OpenAI Whisper tiny (multilingual); load with whisper.load_model(path)'),
    QT_TRANSLATE_NOOP("core", 'PANNs CNN14 AudioSet checkpoint (mAP 0.431), Zenodo record 3987831 (weights CC-BY-4.0, code MIT)'),
    QT_TRANSLATE_NOOP("core", 'The 527 AudioSet class labels (index, mid, display_name) PANNs CNN14 outputs; a copy ships in models/'),
    QT_TRANSLATE_NOOP("core", "multilingual E5 small, 384-d embeddings in about 100 languages (mean pooling; 'query: ' / 'passage: ' prefixes); SentenceTransformer(<dir>)"),
    QT_TRANSLATE_NOOP("core", "open_clip ViT-B-16-SigLIP (WebLI) image and text towers with its tokenizer; open_clip.create_model('local-dir:<dir>')"),
    QT_TRANSLATE_NOOP("core", 'open_clip ViT-B-16-SigLIP2-256 (WebLI) image and text towers with its Gemma tokenizer files'),
    QT_TRANSLATE_NOOP("core", 'sentence-transformers all-MiniLM-L6-v2, 384-d English text embeddings; SentenceTransformer(<dir>)'),
    QT_TRANSLATE_NOOP("core", 'sentence-transformers multi-qa-MiniLM-L6-cos-v1, 384-d English question-to-passage embeddings (mean pooling); SentenceTransformer(<dir>)'),
    QT_TRANSLATE_NOOP("core", 'sentence-transformers paraphrase-multilingual-MiniLM-L12-v2, 384-d text embeddings in 50+ languages; SentenceTransformer(<dir>)'),
    QT_TRANSLATE_NOOP("core", "timm tf_efficientnet_lite0 ImageNet-1k (Google's TF weights) as a safetensors state dict, loaded strict"),
    QT_TRANSLATE_NOOP("core", 'torchvision ResNet50 IMAGENET1K_V2 state dict; resnet50() then load_state_dict'),
]
PROGRESS_STAGES = [
    QT_TRANSLATE_NOOP("core", 'scan'),
    QT_TRANSLATE_NOOP("core", 'check'),
    QT_TRANSLATE_NOOP("core", 'embed images'),
    QT_TRANSLATE_NOOP("core", 'embed audio'),
    QT_TRANSLATE_NOOP("core", 'transcribe'),
    QT_TRANSLATE_NOOP("core", 'download'),
    QT_TRANSLATE_NOOP("core", 'verify'),
    QT_TRANSLATE_NOOP("core", 'import'),
    QT_TRANSLATE_NOOP("core", 'evaluate'),
    QT_TRANSLATE_NOOP("core", 'time searches'),
]
PROGRESS_UNITS = [
    QT_TRANSLATE_NOOP("core", 'file'),
    QT_TRANSLATE_NOOP("core", 'files'),
    QT_TRANSLATE_NOOP("core", 'search'),
    QT_TRANSLATE_NOOP("core", 'pass'),
    QT_TRANSLATE_NOOP("core", 'query'),
    QT_TRANSLATE_NOOP("core", 'segment'),
]
MODEL_STATES = [
    QT_TRANSLATE_NOOP("core", 'present'),
    QT_TRANSLATE_NOOP("core", 'missing'),
    QT_TRANSLATE_NOOP("core", 'partial'),
    QT_TRANSLATE_NOOP("core", 'corrupt'),
]


def core_text(text: str) -> str:
    """``text`` from the core in the interface language (as it is when there is no translation)."""
    return QCoreApplication.translate(CONTEXT, text) if text else text
