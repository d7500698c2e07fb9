"""Build the sentence encoder's ONNX graph from the upstream safetensors weights, and its int8 copy.

A BERT encoder written with the `onnx` helper API (no torch, no third-party export): embeddings,
6 layers of self-attention and feed-forward with post-LayerNorm and erf GELU, then mean pooling
over the attention mask and L2 normalisation — what sentence-transformers does for this model
(modules.json: Transformer, Pooling(mean), Normalize). Inputs `input_ids` and `attention_mask`
(int64, batch × tokens); output `embedding` (float32, batch × 384, unit length).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from bot.embedding.files import FP32_GRAPH, INT8_GRAPH

OPSET = 17  # LayerNormalization is in the default domain from 17


class _Graph:
    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self.w = weights
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._n = 0

    def name(self, hint: str) -> str:
        self._n += 1
        return f"{hint}_{self._n}"

    def const(self, hint: str, value: np.ndarray) -> str:
        name = self.name(hint)
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def op(self, op: str, inputs: list[str], hint: str = "", **attrs: Any) -> str:
        out = self.name(hint or op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def linear(self, x: str, prefix: str) -> str:
        """x·W + b for the weights under `prefix`; the MatMul node is named after them."""
        # torch Linear keeps weight as (out, in): y = x·Wᵀ + b. A constant right-hand MatMul
        # operand is what dynamic quantisation turns into int8.
        weight = self.const(prefix + ".w", np.ascontiguousarray(self.w[prefix + ".weight"].T))
        bias = self.const(prefix + ".b", self.w[prefix + ".bias"])
        product = prefix + ".matmul"
        self.nodes.append(helper.make_node("MatMul", [x, weight], [product], name=product))
        return self.op("Add", [product, bias])

    def layer_norm(self, x: str, prefix: str, eps: float) -> str:
        scale = self.const(prefix + ".g", self.w[prefix + ".weight"])
        bias = self.const(prefix + ".b", self.w[prefix + ".bias"])
        return self.op("LayerNormalization", [x, scale, bias], axis=-1, epsilon=eps)


def build_model(weights: dict[str, np.ndarray], config: dict[str, object]) -> onnx.ModelProto:
    hidden = int(config["hidden_size"])  # type: ignore[call-overload]
    heads = int(config["num_attention_heads"])  # type: ignore[call-overload]
    layers = int(config["num_hidden_layers"])  # type: ignore[call-overload]
    eps = float(config["layer_norm_eps"])  # type: ignore[arg-type]
    head = hidden // heads
    g = _Graph(weights)
    i64 = np.int64

    # Embeddings: word + position + token type 0 (single-segment input), then LayerNorm.
    words = g.op("Gather", [g.const("word_emb", weights["embeddings.word_embeddings.weight"]),
                            "input_ids"], axis=0)  # fmt: skip
    shape = g.op("Shape", ["input_ids"])
    length = g.op("Gather", [shape, g.const("one", np.array(1, i64))], axis=0)
    positions = g.op("Range", [g.const("zero", np.array(0, i64)), length,
                               g.const("step", np.array(1, i64))])  # fmt: skip
    pos = g.op("Gather", [g.const("pos_emb", weights["embeddings.position_embeddings.weight"]),
                          positions], axis=0)  # fmt: skip
    segment = g.const("type_emb", weights["embeddings.token_type_embeddings.weight"][0])
    x = g.op("Add", [g.op("Add", [words, pos]), segment])
    x = g.layer_norm(x, "embeddings.LayerNorm", eps)

    # Additive attention mask, batch × 1 × 1 × tokens: 0 where attended, a large negative else.
    mask = g.op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    mask4 = g.op("Unsqueeze", [mask, g.const("axes", np.array([1, 2], i64))])
    inverted = g.op("Sub", [g.const("onef", np.array(1.0, np.float32)), mask4])
    additive = g.op("Mul", [inverted, g.const("neg", np.array(-1e9, np.float32))])

    split = g.const("split_heads", np.array([0, 0, heads, head], i64))
    merge = g.const("merge_heads", np.array([0, 0, hidden], i64))
    scale = g.const("scale", np.array(1.0 / math.sqrt(head), np.float32))
    for n in range(layers):
        p = f"encoder.layer.{n}."

        def heads_of(t: str) -> str:
            return g.op("Transpose", [g.op("Reshape", [t, split])], perm=[0, 2, 1, 3])

        q = heads_of(g.linear(x, p + "attention.self.query"))
        k = g.op("Transpose", [g.op("Reshape", [g.linear(x, p + "attention.self.key"), split])],
                 perm=[0, 2, 3, 1])  # fmt: skip
        v = heads_of(g.linear(x, p + "attention.self.value"))
        scores = g.op("Add", [g.op("Mul", [g.op("MatMul", [q, k]), scale]), additive])
        probs = g.op("Softmax", [scores], axis=-1)
        context = g.op("Transpose", [g.op("MatMul", [probs, v])], perm=[0, 2, 1, 3])
        context = g.op("Reshape", [context, merge])
        attended = g.linear(context, p + "attention.output.dense")
        x = g.layer_norm(g.op("Add", [attended, x]), p + "attention.output.LayerNorm", eps)
        inner = g.linear(x, p + "intermediate.dense")
        # Exact (erf) GELU, as BERT's "gelu": 0.5·x·(1 + erf(x/√2)).
        erf = g.op(
            "Erf", [g.op("Div", [inner, g.const("sqrt2", np.array(math.sqrt(2.0), np.float32))])]
        )
        gelu = g.op(
            "Mul",
            [
                g.op(
                    "Mul", [inner, g.op("Add", [erf, g.const("onef", np.array(1.0, np.float32))])]
                ),
                g.const("half", np.array(0.5, np.float32)),
            ],
        )
        out = g.linear(gelu, p + "output.dense")
        x = g.layer_norm(g.op("Add", [out, x]), p + "output.LayerNorm", eps)

    # Mean over attended tokens, then unit length.
    weights3 = g.op("Unsqueeze", [mask, g.const("axis2", np.array([2], i64))])
    summed = g.op("ReduceSum", [g.op("Mul", [x, weights3]), g.const("axis1", np.array([1], i64))],
                  keepdims=0)  # fmt: skip
    count = g.op("ReduceSum", [weights3, g.const("axis1", np.array([1], i64))], keepdims=0)
    count = g.op("Max", [count, g.const("tiny", np.array(1e-9, np.float32))])
    mean = g.op("Div", [summed, count])
    norm = g.op("ReduceL2", [mean], axes=[-1], keepdims=1)  # axes an attribute before opset 18
    norm = g.op("Max", [norm, g.const("tiny", np.array(1e-12, np.float32))])
    g.nodes.append(helper.make_node("Div", [mean, norm], ["embedding"]))

    graph = helper.make_graph(
        g.nodes,
        "all-MiniLM-L6-v2",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"]),
        ],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", hidden])],
        g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8  # readable by onnxruntime releases back to 1.14
    onnx.checker.check_model(model)
    return model


def build_graphs(folder: Path) -> None:
    """Write the fp32 graph and its dynamically quantised int8 copy beside the weights."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from safetensors.numpy import load_file

    weights = load_file(str(folder / "model.safetensors"))
    config = json.loads((folder / "config.json").read_text())
    layers = int(config["num_hidden_layers"])
    fp32 = folder / FP32_GRAPH
    partial = fp32.with_suffix(".partial")
    onnx.save(build_model(weights, config), str(partial))
    partial.replace(fp32)
    partial = folder / (INT8_GRAPH + ".partial")
    quantize_dynamic(
        fp32,
        partial,
        weight_type=QuantType.QInt8,
        per_channel=True,
        # Measured on the reference fixture (tests/fixtures): quantising everything gave a worst
        # cosine of 0.984 vs fp32; the word-embedding table (Gather) and the feed-forward
        # down-projections (their GELU inputs have outliers) kept in fp32 give ≥ 0.99.
        op_types_to_quantize=["MatMul"],
        nodes_to_exclude=[f"encoder.layer.{n}.output.dense.matmul" for n in range(layers)],
    )
    partial.replace(folder / INT8_GRAPH)
