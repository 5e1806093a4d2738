"""The sentence encoder with 8-bit weights, for the similarity choices a web process makes per turn.

Why: every trainee turn embeds the utterance and the persona's reply in the web process (persona
signals, topic match, the reply's style); at ~5-10 ms of CPU each on ONNX Runtime they were the
largest part of the web's CPU per turn. The matrix products hold nearly all of that time, and for
short texts they are bound by reading the float weights. Here every constant-weight MatMul becomes
ONNX Runtime's ``MatMulNBits`` (com.microsoft) with 8-bit symmetric weights in blocks of 16 along
the inner dimension and int8 arithmetic (``accuracy_level`` 4): 25-50 % less CPU per text (8 tokens:
4.7 -> 2.4 ms, 37 tokens: 10.7 -> 8.2 ms on the 2-core test machine).

Its vectors are not the float vectors: cosine to them >= 0.998 over the starter packs' strings,
the persona's topic choice the same on 99.4 % of 1 158 held-out probes and its signals identical
(tests/trainer_app/engines/test_embedding_int8.py). So it serves only the persona's per-turn choices
(``simulations.personas.vectors``); anything fitted on float vectors (the feedback classifiers,
retrieval indexes) keeps the float export. Plain dynamic int8 quantization (activations too, per
tensor) was tried and refused: cosine down to 0.77, topic choices 89 % the same.

Made by the export process (``embedding_export``) from the float ONNX file, with numpy and onnx only.
"""

from __future__ import annotations

import numpy as np

BLOCK_SIZE = 16  # weights per scale; 32: 3 % faster, 98.96 % same topics; 128: faster still, 97 %
ACCURACY_LEVEL = 4  # int8 arithmetic; levels 0-3 dequantise to float and were ~4x slower than float itself
_MS_DOMAIN = "com.microsoft"


def _weights_8bit(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(packed uint8 [N, blocks, BLOCK_SIZE], scales float32 [N * blocks]) of a [K, N] float matrix:
    per block of BLOCK_SIZE inner-dimension values, q = round(w / scale) + 128 with scale = max|w| / 127
    (128 is MatMulNBits' zero point for 8 bits when none is given)."""
    k, n = weights.shape
    blocks = -(-k // BLOCK_SIZE)
    transposed = np.zeros((n, blocks * BLOCK_SIZE), dtype=np.float32)
    transposed[:, :k] = weights.T
    grouped = transposed.reshape(n, blocks, BLOCK_SIZE)
    scales = np.abs(grouped).max(axis=2) / 127.0
    scales[scales == 0] = 1.0  # an all-zero block: any scale gives zeros
    quantised = np.clip(np.rint(grouped / scales[:, :, None]), -127, 127).astype(np.int16) + 128
    return quantised.astype(np.uint8), scales.astype(np.float32).reshape(-1)


def int8_model(model):
    """A copy of ``model`` (onnx.ModelProto) whose constant-weight 2-D float MatMuls are 8-bit MatMulNBits."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    initializers = {init.name: init for init in graph.initializer}
    uses: dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            uses[name] = uses.get(name, 0) + 1
    nodes, dropped, added = [], set(), []
    for node in graph.node:
        weight = initializers.get(node.input[1]) if node.op_type == "MatMul" and len(node.input) == 2 else None
        array = numpy_helper.to_array(weight) if weight is not None else None
        if array is None or array.ndim != 2 or array.dtype != np.float32:
            nodes.append(node)
            continue
        packed, scales = _weights_8bit(array)
        stem = f"{weight.name}_q8_{len(added)}"
        added += [numpy_helper.from_array(packed, f"{stem}_B"), numpy_helper.from_array(scales, f"{stem}_scales")]
        nodes.append(helper.make_node(
            "MatMulNBits", [node.input[0], f"{stem}_B", f"{stem}_scales"], list(node.output),
            name=f"{node.name}_q8", domain=_MS_DOMAIN, K=array.shape[0], N=array.shape[1], bits=8,
            block_size=BLOCK_SIZE, accuracy_level=ACCURACY_LEVEL,
        ))
        uses[weight.name] -= 1
        if uses[weight.name] == 0:
            dropped.add(weight.name)
    kept = [init for init in graph.initializer if init.name not in dropped]
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend([*kept, *added])
    if not any(opset.domain == _MS_DOMAIN for opset in model.opset_import):
        model.opset_import.append(helper.make_opsetid(_MS_DOMAIN, 1))
    return model
