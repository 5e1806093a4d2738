"""A fine-tuned MiniLM pair classifier for MI behaviour codes (training and inference).

Input pair: the client's last turn (its end, where the therapist picks up) and
the therapist utterance, i.e. ``[CLS] client [SEP] utterance [SEP]``. The
bundled all-MiniLM-L6-v2 encoder is fine-tuned with mean pooling over the utterance tokens and four
linear heads: the main behaviour (class-weighted loss) and, as auxiliary
tasks, the reflection / question / input subtypes (each loss only on the
utterances annotated with that subtype). All 6 transformer layers are
trained (the default; `trainable_layers` can restrict it to the top ones);
the token embeddings stay frozen, so their outputs (or, with fewer trained
layers, the frozen lower layers' outputs) are computed once and re-used
across epochs and folds, which keeps a 5-fold run at about 20 minutes on one
CPU thread. The shipped file holds only the trained layers, as int8
differences from the bundled MiniLM (about 11 MB a member), and the heads;
everything else comes from the bundled model, whose sha256 is checked before
use. Several members (other seeds, other inputs) can be shipped as an
ensemble whose probabilities are averaged (FinetunedEnsemble).
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from feedback.engines.behaviour_coding.annomi import BEHAVIOURS
from feedback.engines.behaviour_coding.encoding import CodingInput

logger = logging.getLogger(__name__)

SUBTYPE_HEADS = {
    "reflection": ("simple", "complex"),
    "question": ("open", "closed"),
    "input": ("information", "advice", "negotiation", "options"),
}


@dataclass(frozen=True)
class FinetuneConfig:
    max_length: int = 96
    client_words: int = 40  # the client's turn is cut to its last words before tokenising
    utterance_words: int = 70  # the utterance's first words...
    utterance_tail_words: int = 0  # ...and, when it is longer, its last words too (0: the start only)
    trainee_words: int = 0  # the trainee's own previous turn's last words, before the client's (0: not used)
    epochs: int = 3
    batch_size: int = 32
    learning_rate: float = 5e-5
    head_learning_rate: float = 1e-3
    warmup: float = 0.1
    weight_decay: float = 0.01
    subtype_loss_weight: float = 0.5
    dropout: float = 0.1
    trainable_layers: int = 6  # all of MiniLM's layers (its token embeddings stay frozen)
    seed: int = 13
    threads: int = 1  # fixed, so that a run is reproducible; one thread also leaves the other core alone


def pair_texts(*, item: CodingInput, config: FinetuneConfig) -> tuple[str, str]:
    client = " ".join(item.previous_client.split()[-config.client_words :]) or "(start)"
    if config.trainee_words:
        trainee = " ".join(item.previous_trainee.split()[-config.trainee_words :])
        client = f"{trainee} | {client}" if trainee else client
    words = item.utterance.split()
    head_words = config.utterance_words
    if config.utterance_tail_words and len(words) > head_words + config.utterance_tail_words:
        # Long turns often end on what they are (a question after a reflection): keep their end too.
        utterance = " ".join(words[:head_words] + ["..."] + words[-config.utterance_tail_words :])
    else:
        utterance = " ".join(words[: head_words + config.utterance_tail_words])
    return client, utterance or "(silence)"


def _torch():
    import torch

    return torch


def _tokenizer():
    from transformers import AutoTokenizer

    from trainer_app.engines.embeddings import bundled_model_path

    return AutoTokenizer.from_pretrained(str(bundled_model_path()))


def _encoder():
    from transformers import AutoModel

    from trainer_app.engines.embeddings import bundled_model_path, verify_bundled_model

    problem = verify_bundled_model()
    if problem:
        raise RuntimeError(f"fine-tuned MI coder needs the bundled MiniLM: {problem}")
    return AutoModel.from_pretrained(str(bundled_model_path()))


def _network_class():
    torch = _torch()

    class PairClassifier(torch.nn.Module):
        def __init__(self, encoder, dropout: float):
            super().__init__()
            self.encoder = encoder
            hidden = encoder.config.hidden_size
            self.dropout = torch.nn.Dropout(dropout)
            self.heads = torch.nn.ModuleDict(
                {"behaviour": torch.nn.Linear(hidden, len(BEHAVIOURS))}
                | {family: torch.nn.Linear(hidden, len(labels)) for family, labels in SUBTYPE_HEADS.items()}
            )

        def classify(self, states, pool_mask):
            mask = pool_mask.unsqueeze(-1).to(states.dtype)
            pooled = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
            pooled = self.dropout(pooled)
            return {name: head(pooled) for name, head in self.heads.items()}

        def forward(self, input_ids, attention_mask, token_type_ids):
            states = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            # Pool over the utterance's tokens only (segment B); the layers still attend to the client's turn.
            return self.classify(states, attention_mask * token_type_ids)

    return PairClassifier


def seeds_set(seed: int) -> None:
    torch = _torch()
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class FinetunedCoder:
    """Inference wrapper: probabilities for the behaviour and each subtype family."""

    def __init__(self, *, network, tokenizer, config: FinetuneConfig):
        self.network = network.eval()
        self.tokenizer = tokenizer
        self.config = config

    def _batch(self, inputs: Sequence[CodingInput]):
        pairs = [pair_texts(item=item, config=self.config) for item in inputs]
        return self.tokenizer(
            [a for a, _ in pairs],
            [b for _, b in pairs],
            truncation="longest_first",
            max_length=self.config.max_length,
            padding=True,
            return_tensors="pt",
        )

    def probabilities(self, *, inputs: Sequence[CodingInput], batch_size: int = 64) -> dict[str, np.ndarray]:
        torch = _torch()
        outputs: dict[str, list[np.ndarray]] = {}
        order = sorted(range(len(inputs)), key=lambda index: len(inputs[index].utterance))  # less padding
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                chunk = [inputs[index] for index in order[start : start + batch_size]]
                logits = self.network(**self._batch(chunk))
                for name, values in logits.items():
                    outputs.setdefault(name, []).append(torch.softmax(values.float(), dim=-1).numpy())
        inverse = np.argsort(np.asarray(order))
        return {name: np.vstack(parts)[inverse] for name, parts in outputs.items()}


class FinetunedEnsemble:
    """The mean of several fine-tuned members' probabilities (members differ in seed and in what they read)."""

    def __init__(self, *, members: Sequence[FinetunedCoder], blend_weight: float = 0.5, blend_with: str = "blend"):
        if not members:
            raise ValueError("a fine-tuned ensemble needs at least one member")
        self.members = list(members)
        self.blend_weight = blend_weight  # share of these probabilities in the shipped blend
        # The LR part they are blended with: "sparse" (n-gram LR only: no sentence embeddings are needed at
        # all, and subtypes come from these heads and the n-gram subtype LRs) or "blend" (the LR blend).
        self.blend_with = blend_with

    def probabilities(self, *, inputs: Sequence[CodingInput], batch_size: int = 64) -> dict[str, np.ndarray]:
        each = [member.probabilities(inputs=inputs, batch_size=batch_size) for member in self.members]
        return {name: np.mean([probabilities[name] for probabilities in each], axis=0) for name in each[0]}


def _trainable(name: str, *, network, config: FinetuneConfig) -> bool:
    """Parameter names (of the PairClassifier) that are trained and shipped: top layers and heads."""
    if name.startswith("heads."):
        return True
    first = network.encoder.config.num_hidden_layers - config.trainable_layers
    return any(
        name.startswith(f"encoder.encoder.layer.{index}.") for index in range(first, first + config.trainable_layers)
    )


def _additive_mask(attention_mask):
    torch = _torch()
    return (1.0 - attention_mask[:, None, None, :].float()) * torch.finfo(torch.float32).min


def lower_states_compute(*, inputs: Sequence[CodingInput], config: FinetuneConfig = FinetuneConfig()) -> list:
    """Hidden states below the trained layers and token types, one pair per input; independent of training."""
    torch = _torch()
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        tokenizer, encoder = _tokenizer(), _encoder().eval()
        wrapper = FinetunedCoder(network=torch.nn.Identity(), tokenizer=tokenizer, config=config)
        level = encoder.config.num_hidden_layers - config.trainable_layers
        states: list = [None] * len(inputs)
        order = sorted(
            range(len(inputs)), key=lambda index: len(inputs[index].utterance) + len(inputs[index].previous_client)
        )
        with torch.inference_mode():
            for start in range(0, len(order), 64):
                chunk = order[start : start + 64]
                encoded = wrapper._batch([inputs[index] for index in chunk])
                hidden = encoder(**encoded, output_hidden_states=True).hidden_states[level]
                lengths = encoded["attention_mask"].sum(dim=1).tolist()
                for row, index in enumerate(chunk):
                    states[index] = (
                        hidden[row, : lengths[row]].clone(),
                        encoded["token_type_ids"][row, : lengths[row]].clone(),
                    )
        return states
    finally:
        torch.set_num_threads(previous_threads)


def _batches(*, lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of similar lengths (little padding), deterministic for a given generator."""
    order = rng.permutation(len(lengths))
    batches = []
    for start in range(0, len(order), batch_size * 8):
        pool = order[start : start + batch_size * 8]
        pool = pool[np.argsort(lengths[pool], kind="stable")]
        batches.extend(pool[i : i + batch_size] for i in range(0, len(pool), batch_size))
    return [batches[index] for index in rng.permutation(len(batches))]


def finetune_train(
    *,
    inputs: Sequence[CodingInput],
    behaviours: Sequence[str],
    subtypes: dict[str, Sequence[str | None]],
    config: FinetuneConfig = FinetuneConfig(),
    lower_states: list | None = None,
    max_steps: int | None = None,
) -> FinetunedCoder:
    """Fine-tune the top MiniLM layers and the heads; deterministic for a given seed and thread count.

    `lower_states` (from lower_states_compute, same order as `inputs`) saves recomputing the frozen layers.
    """
    torch = _torch()
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        if lower_states is None:
            lower_states = lower_states_compute(inputs=inputs, config=config)
        seeds_set(config.seed)
        network = _network_class()(_encoder(), config.dropout)
        trained = []
        for name, parameter in network.named_parameters():
            parameter.requires_grad = _trainable(name, network=network, config=config)
            if parameter.requires_grad:
                trained.append((name, parameter))
        top = list(network.encoder.encoder.layer)[-config.trainable_layers :]

        behaviour_index = {label: index for index, label in enumerate(BEHAVIOURS)}
        y = torch.tensor([behaviour_index[label] for label in behaviours])
        subtype_targets = {
            family: torch.tensor(
                [labels.index(value) if value in labels else -100 for value in subtypes[family]], dtype=torch.long
            )
            for family, labels in SUBTYPE_HEADS.items()
        }
        counts = np.bincount(y.numpy(), minlength=len(BEHAVIOURS)).astype(np.float64)
        weights = torch.tensor(len(y) / (len(BEHAVIOURS) * np.maximum(counts, 1.0)), dtype=torch.float32)
        behaviour_loss = torch.nn.CrossEntropyLoss(weight=weights)
        subtype_loss = torch.nn.CrossEntropyLoss(ignore_index=-100)
        optimizer = torch.optim.AdamW(
            [
                {"params": [p for n, p in trained if not n.startswith("heads.")], "lr": config.learning_rate},
                {"params": [p for n, p in trained if n.startswith("heads.")], "lr": config.head_learning_rate},
            ],
            weight_decay=config.weight_decay,
        )
        lengths = np.array([state.shape[0] for state, _ in lower_states])
        steps_per_epoch = math.ceil(len(inputs) / config.batch_size)
        total = (
            steps_per_epoch * config.epochs if max_steps is None else min(max_steps, steps_per_epoch * config.epochs)
        )
        warmup = max(1, int(config.warmup * total))
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: min((step + 1) / warmup, max(0.0, (total - step) / max(1, total - warmup)))
        )
        rng = np.random.default_rng(config.seed)
        network.train()
        step = 0
        started = time.monotonic()
        for epoch in range(config.epochs):
            for batch in _batches(lengths=lengths, batch_size=config.batch_size, rng=rng):
                if step >= total:
                    break
                width = int(lengths[batch].max())
                hidden = torch.zeros(len(batch), width, lower_states[0][0].shape[1])
                mask = torch.zeros(len(batch), width)
                pool = torch.zeros(len(batch), width)
                for row, index in enumerate(batch):
                    hidden[row, : lengths[index]] = lower_states[index][0]
                    mask[row, : lengths[index]] = 1.0
                    pool[row, : lengths[index]] = lower_states[index][1].float()
                additive = _additive_mask(mask)
                for layer in top:
                    hidden = layer(hidden, additive)
                    hidden = hidden[0] if isinstance(hidden, tuple) else hidden
                logits = network.classify(hidden, pool)
                index = torch.as_tensor(batch)
                loss = behaviour_loss(logits["behaviour"], y[index])
                for family in SUBTYPE_HEADS:
                    target = subtype_targets[family][index]
                    if (target >= 0).any():
                        loss = loss + config.subtype_loss_weight * subtype_loss(logits[family], target)
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_([p for _, p in trained], 1.0)
                optimizer.step()
                scheduler.step()
                step += 1
                if step % 25 == 0:
                    logger.info(
                        "fine-tune epoch %d step %d/%d loss %.3f (%.0fs)",
                        epoch + 1,
                        step,
                        total,
                        float(loss.detach()),
                        time.monotonic() - started,
                    )
        network.eval()
        return FinetunedCoder(network=network, tokenizer=_tokenizer(), config=config)
    finally:
        torch.set_num_threads(previous_threads)


def finetuned_path_for(*, artifact: Path) -> Path:
    """Where the fine-tuned weights of an LR artifact live: mi_coder.npz -> mi_coder_finetuned.safetensors."""
    artifact = Path(artifact)
    return artifact.with_name(f"{artifact.stem}_finetuned.safetensors")


def _base_state(*, config: FinetuneConfig) -> dict:
    """The bundled MiniLM's weights under the PairClassifier's parameter names (what the deltas are taken from)."""
    network = _network_class()(_encoder(), config.dropout)
    return {name: tensor.detach().float() for name, tensor in network.state_dict().items()}


def _member_state(*, coder: FinetunedCoder, base: dict) -> dict:
    """One member's trained tensors: layer matrices as int8 differences from the bundled MiniLM, the rest fp16."""
    torch = _torch()
    state = {}
    for name, tensor in coder.network.state_dict().items():
        if not _trainable(name, network=coder.network, config=coder.config):
            continue
        tensor = tensor.detach().float()
        if tensor.dim() == 2 and not name.startswith("heads."):
            delta = tensor - base[name]
            scale = delta.abs().amax(dim=1, keepdim=True).clamp(min=1e-12) / 127.0
            state[f"{name}::int8_delta"] = torch.round(delta / scale).clamp(-127, 127).to(torch.int8).contiguous()
            state[f"{name}::scale"] = scale.contiguous()
        else:
            state[name] = tensor.to(torch.float16).contiguous()
    return state


def finetuned_save(
    *,
    members: Sequence[FinetunedCoder],
    path: Path,
    blend_weight: float = 0.5,
    blend_with: str = "blend",
) -> Path:
    """Write the members' trained weights (one file) and a small JSON: their configs, the blend weight and part.

    Matrices of the trained layers are stored as int8 differences from the bundled MiniLM with one fp32 scale
    per row (the differences are small, so the rounding error is below fp16's on the weights themselves, at
    half the size: all 6 layers in ~11 MB a member); vectors (biases, layer norms) and the heads in fp16.
    """
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    base = _base_state(config=members[0].config)  # the bundled MiniLM: the same for every member
    state = {}
    for index, coder in enumerate(members):
        state |= {f"member{index}/{name}": tensor for name, tensor in _member_state(coder=coder, base=base).items()}
    save_file(state, str(path), metadata={"format": "mi-coder-finetuned", "version": "3"})
    path.with_suffix(".json").write_text(
        json.dumps(
            {
                "members": [
                    {key: getattr(coder.config, key) for key in coder.config.__dataclass_fields__} for coder in members
                ],
                "behaviours": list(BEHAVIOURS),
                "subtypes": SUBTYPE_HEADS,
                "blend_weight": blend_weight,
                "blend_with": blend_with,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    return path


def _member_network(*, stored: dict, config: FinetuneConfig, version: str, path: Path):
    network = _network_class()(_encoder(), config.dropout)
    if version == "1":  # the trained tensors themselves, fp16
        state = {name: tensor.float() for name, tensor in stored.items()}
    else:
        base = network.state_dict()
        state = {}
        for name, tensor in stored.items():
            if name.endswith("::int8_delta"):
                weight = name[: -len("::int8_delta")]
                state[weight] = base[weight].float() + tensor.float() * stored[f"{weight}::scale"].float()
            elif not name.endswith("::scale"):
                state[name] = tensor.float()
    expected = {name for name in network.state_dict() if _trainable(name, network=network, config=config)}
    if set(state) != expected:
        raise ValueError(f"{path}: weights {sorted(set(state) ^ expected)[:3]} missing or unexpected")
    network.load_state_dict(state, strict=False)
    return network


def finetuned_load(*, path: Path) -> FinetunedEnsemble:
    """The shipped fine-tuned coder: for each member, the bundled MiniLM with its saved layers and heads in place."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(path)
    meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    if list(meta["behaviours"]) != list(BEHAVIOURS):
        raise ValueError(f"{path}: behaviour classes {meta['behaviours']} do not match {list(BEHAVIOURS)}")
    with safe_open(str(path), framework="pt") as handle:
        version = (handle.metadata() or {}).get("version", "1")
    stored = load_file(str(path))
    if version in ("1", "2"):  # one model, its tensors under their own names
        configs, by_member = [FinetuneConfig(**meta["config"])], [stored]
    else:
        configs = [FinetuneConfig(**member) for member in meta["members"]]
        by_member = [
            {name.split("/", 1)[1]: tensor for name, tensor in stored.items() if name.startswith(f"member{index}/")}
            for index in range(len(configs))
        ]
    tokenizer = _tokenizer()
    members = [
        FinetunedCoder(
            network=_member_network(stored=member_state, config=config, version=version, path=path),
            tokenizer=tokenizer,
            config=config,
        )
        for member_state, config in zip(by_member, configs, strict=True)
    ]
    return FinetunedEnsemble(
        members=members,
        blend_weight=float(meta.get("blend_weight", 0.5)),
        blend_with=str(meta.get("blend_with", "blend")),
    )
