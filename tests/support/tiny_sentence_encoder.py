"""A tiny sentence-transformers model with random weights, saved in the real directory layout.

For the production loading path of the embedding engine (EMBEDDINGS_MODEL=<directory>): a
2-layer, 32-wide BERT with the bundled MiniLM's tokenizer, a short max_seq_length (so that
truncation is exercised), then Pooling and Normalize, saved by sentence-transformers itself.
"""

from __future__ import annotations

from pathlib import Path


def tiny_sentence_encoder_build(target: Path, *, pooling: str = "mean", max_seq_length: int = 24, seed: int = 0) -> Path:
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules.normalize import Normalize
    from sentence_transformers.base.modules.transformer import Transformer
    from sentence_transformers.sentence_transformer.modules.pooling import Pooling
    from transformers import AutoTokenizer, BertConfig, BertModel

    from trainer_app.engines.embeddings import bundled_model_path

    target = Path(target)
    bert_dir = target / "bert"
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    BertModel(config).save_pretrained(bert_dir)
    AutoTokenizer.from_pretrained(str(bundled_model_path())).save_pretrained(bert_dir)
    transformer = Transformer(str(bert_dir), max_seq_length=max_seq_length)
    modules = [transformer, Pooling(transformer.get_embedding_dimension(), pooling_mode=pooling), Normalize()]
    model_dir = target / f"tiny-{pooling}"
    SentenceTransformer(modules=modules, device="cpu").save(str(model_dir))
    return model_dir
