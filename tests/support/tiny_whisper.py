"""Build a tiny random-weight Whisper as a CTranslate2 directory that faster-whisper can load.

Everything is made here, offline, in the real file formats: a byte-level BPE vocabulary in
tiktoken format (what OpenAI's whisper ships), converted to a HF tokenizer.json with Whisper's
special tokens, a WhisperForConditionalGeneration with very small dimensions saved by
transformers, and the CTranslate2 conversion faster-whisper loads in production.
"""

from __future__ import annotations

import base64
import json
import time
from collections import Counter
from pathlib import Path

# GPT-2 / Whisper pre-tokenization pattern.
WHISPER_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
LANGUAGES = ("en", "de", "fr", "es")
N_TIMESTAMPS = 1501  # <|0.00|> … <|30.00|>, appended by the CTranslate2 converter
CORPUS = (
    "please tell me more about how you have been feeling. what would you like to talk about today? "
    "it sounds like the week has been really hard for you. thank you for coming in. "
)


def bpe_ranks_train(*, corpus: str, n_merges: int) -> dict[bytes, int]:
    """A small byte-level BPE: the 256 byte tokens, then `n_merges` greedy merges on `corpus`."""
    ranks = {bytes([b]): b for b in range(256)}
    words = [[bytes([b]) for b in (" " + w).encode()] for w in corpus.split()]
    for _ in range(n_merges):
        pairs = Counter((a, b) for word in words for a, b in zip(word, word[1:], strict=False))
        if not pairs:
            break
        (left, right), _count = pairs.most_common(1)[0]
        merged = left + right
        ranks[merged] = len(ranks)
        new_words = []
        for word in words:
            out, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and word[i] == left and word[i + 1] == right:
                    out.append(merged)
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            new_words.append(out)
        words = new_words
    return ranks


def tiktoken_write(*, ranks: dict[bytes, int], path: Path) -> Path:
    """tiktoken format: one `base64(token bytes) rank` line per token."""
    lines = [
        f"{base64.b64encode(token).decode()} {rank}" for token, rank in sorted(ranks.items(), key=lambda kv: kv[1])
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def whisper_special_tokens() -> list[str]:
    # Order matters: faster-whisper derives timestamp_begin as <|notimestamps|> + 1.
    return [
        "<|endoftext|>",
        "<|startoftranscript|>",
        *[f"<|{lang}|>" for lang in LANGUAGES],
        "<|translate|>",
        "<|transcribe|>",
        "<|startoflm|>",
        "<|startofprev|>",
        "<|nospeech|>",
        "<|notimestamps|>",
    ]


def tokenizer_build(*, tiktoken_path: Path, out_dir: Path):
    """HF fast tokenizer from the tiktoken file plus Whisper's special tokens, saved to out_dir."""
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import TikTokenConverter

    specials = whisper_special_tokens()
    backend = TikTokenConverter(
        vocab_file=str(tiktoken_path), pattern=WHISPER_PATTERN, extra_special_tokens=specials
    ).converted()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<|endoftext|>",
        eos_token="<|endoftext|>",
        unk_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=specials[1:],
    )
    tokenizer.save_pretrained(str(out_dir))
    return tokenizer


def _bias_towards_a_word(*, model, tokenizer, n_text_and_special: int) -> str:
    """Make the random decoder emit one word (after a <|0.00|> timestamp) instead of random bytes.

    Pure random weights emit byte soup that hallucination removal rightly drops, leaving nothing to
    assert on. A constant final hidden state h = b makes the logits E·b; giving the word's and
    <|0.00|>'s embedding rows a large component along b makes them win wherever the rules allow.
    """
    import torch

    word = next(
        t for t in sorted(tokenizer.get_vocab(), key=len, reverse=True) if t.startswith("Ġ") and t[1:].isalpha()
    )
    word_id, ts0_id = tokenizer.convert_tokens_to_ids(word), n_text_and_special
    with torch.no_grad():
        decoder = model.model.decoder
        direction = torch.nn.functional.normalize(torch.randn(decoder.layer_norm.bias.shape), dim=0)
        decoder.layer_norm.weight.zero_()
        decoder.layer_norm.bias.copy_(direction)
        embed = decoder.embed_tokens.weight  # tied with proj_out
        embed.mul_(0.02)  # a wide margin survives int8 quantisation of the converted model
        embed[word_id] += 16.0 * direction
        embed[ts0_id] += 8.0 * direction
    return word[1:]


def tiny_whisper_build(*, out_dir: Path, n_merges: int = 40, seed: int = 0, emit_word: bool = True) -> dict:
    """Build the model; returns {"ct2_dir", "hf_dir", "vocab_size", "word", "seconds"}.

    With emit_word the decoder is nudged to repeat one vocabulary word (returned as "word"),
    so end-to-end tests get text through the real pipeline; otherwise the weights stay random.
    """
    import ctranslate2
    import torch
    from transformers import GenerationConfig, WhisperConfig, WhisperForConditionalGeneration

    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    hf_dir, ct2_dir = out_dir / "hf", out_dir / "ct2"
    hf_dir.mkdir(exist_ok=True)

    ranks = bpe_ranks_train(corpus=CORPUS, n_merges=n_merges)
    tiktoken_path = tiktoken_write(ranks=ranks, path=out_dir / "tiny.tiktoken")
    tokenizer = tokenizer_build(tiktoken_path=tiktoken_path, out_dir=hf_dir)
    ids = {tok: tokenizer.convert_tokens_to_ids(tok) for tok in whisper_special_tokens()}
    n_text_and_special = len(tokenizer)
    vocab_size = n_text_and_special + N_TIMESTAMPS

    config = WhisperConfig(
        vocab_size=vocab_size,
        num_mel_bins=80,  # faster-whisper's default feature extractor
        d_model=32,
        encoder_layers=1,
        decoder_layers=2,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_source_positions=1500,  # 30 s of audio after the conv stride
        max_target_positions=448,  # faster-whisper decodes up to 448 tokens
        pad_token_id=ids["<|endoftext|>"],
        bos_token_id=ids["<|endoftext|>"],
        eos_token_id=ids["<|endoftext|>"],
        decoder_start_token_id=ids["<|startoftranscript|>"],
        suppress_tokens=[],
        begin_suppress_tokens=[ids["<|endoftext|>"]],
    )
    torch.manual_seed(seed)
    model = WhisperForConditionalGeneration(config)
    model.generation_config = GenerationConfig(
        decoder_start_token_id=ids["<|startoftranscript|>"],
        eos_token_id=ids["<|endoftext|>"],
        pad_token_id=ids["<|endoftext|>"],
        suppress_tokens=[],
        begin_suppress_tokens=[ids["<|endoftext|>"]],
        no_timestamps_token_id=ids["<|notimestamps|>"],
        lang_to_id={f"<|{lang}|>": ids[f"<|{lang}|>"] for lang in LANGUAGES},
        alignment_heads=[[1, 0], [1, 1]],
    )
    word = (
        _bias_towards_a_word(model=model, tokenizer=tokenizer, n_text_and_special=n_text_and_special)
        if emit_word
        else ""
    )
    model.save_pretrained(str(hf_dir))
    (hf_dir / "preprocessor_config.json").write_text(
        json.dumps({"feature_size": 80, "sampling_rate": 16000, "hop_length": 160, "chunk_length": 30, "n_fft": 400})
    )

    converter = ctranslate2.converters.TransformersConverter(
        str(hf_dir), copy_files=["tokenizer.json", "preprocessor_config.json"], load_as_float16=False
    )
    converter.convert(str(ct2_dir), quantization=None, force=True)
    return {
        "ct2_dir": ct2_dir,
        "hf_dir": hf_dir,
        "vocab_size": vocab_size,
        "word": word,
        "seconds": time.perf_counter() - started,
    }
