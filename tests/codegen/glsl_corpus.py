"""Every generated GLSL program, by label, so a refactor can prove it changed none of them.

The corpus has two parts:
- builder calls: every op builder, forward and backward, over a grid of shapes and
  attributes (labels such as `conv2d_forward x=1x5x7x3 k=3x3x3x4 s=2x2 same relu`);
- plans over FakeGL: the draws of `predict` (batch 1 and 8) and of `fit_batch` (each
  optimizer, all layers and the last one trainable, and with training dropout where the
  model has Dropout) for the default model, an MLP, models holding every layer class and
  two official converter files with BatchNormalization (whose steps draw it unfolded, then
  refold it); per draw the fragment source, and per call the GL method sequence and the
  counters (draws, gl_calls, compiles).

Each entry is stored as a sha256 of its text in `glsl_corpus.sha256` beside this file;
`test_glsl_corpus.py` compares. After a change that is meant to alter GLSL, rewrite it:

    .venv/bin/python -m tests.codegen.glsl_corpus --write
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import sys
from array import array
from pathlib import Path
from typing import Callable, Iterator

from webgl_backend import layer_gather
from webgl_backend.codegen import Program
from webgl_backend.ops import (
    activations,
    conv,
    conv_groups,
    dense,
    dense_grouped_grads,
    dropout,
    gather,
    losses,
    optimizers,
    pool,
    reshape,
    softmax,
)

DIGEST_FILE = Path(__file__).with_name("glsl_corpus.sha256")
ROOT = Path(__file__).resolve().parents[2]
ACTIVATIONS = ("linear", "relu", "leaky_relu", "elu", "sigmoid", "tanh")
MAX_TEXTURE_SIZES = (8192, 256)
DIGEST_CHARS = 20  # 80 bits of sha256: no accidental collision among a few thousand


def _dims(shape) -> str:
    return "x".join(str(d) for d in shape)


def _program_text(program: Program) -> str:
    return (f"name={program.name}\ninputs={list(program.inputs)}\n"
            f"output_shape={tuple(program.output_shape)}\noutputs={program.outputs}\n"
            f"{program.source}")


def _alpha(activation: str) -> float | None:
    return 0.2 if activation == "leaky_relu" else None


# ----------------------------------------------------------------------------- builders

def _activation_calls() -> Iterator[tuple[str, Callable[[], Program]]]:
    shapes = [(1, 5), (3, 13), (2, 5, 7, 3), (1, 11, 28, 6), (7, 600)]
    for act, shape, mts in itertools.product(ACTIVATIONS[1:], shapes, MAX_TEXTURE_SIZES):
        tag = f"{act} x={_dims(shape)} mts={mts}"
        yield (f"activation_forward {tag}",
               lambda a=act, s=shape, m=mts: activations.activation_forward(
                   a, s, _alpha(a), max_texture_size=m))
        yield (f"activation_backward {tag}",
               lambda a=act, s=shape, m=mts: activations.activation_backward(
                   a, s, s, _alpha(a), max_texture_size=m))
    yield ("leaky_relu_forward default alpha",
           lambda: activations.leaky_relu_forward((2, 9)))
    for shape in [(1, 10), (3, 7), (2, 130)]:
        yield (f"softmax_forward x={_dims(shape)}", lambda s=shape: softmax.softmax_forward(s))


def _dense_calls() -> Iterator[tuple[str, Callable[[], Program]]]:
    cases = [((1, 7), (7, 3)), ((3, 16), (16, 10)), ((8, 784), (784, 16)),
             ((9, 13), (13, 5)), ((32, 200), (200, 10)), ((2, 3, 5), (5, 4))]
    for (x, k), act, bias, mts in itertools.product(cases, ACTIVATIONS, (True, False),
                                                    MAX_TEXTURE_SIZES):
        b = (k[1],) if bias else None
        y = x[:-1] + (k[1],)
        tag = f"x={_dims(x)} k={_dims(k)} bias={bias} {act} mts={mts}"
        common = {"activation": act, "alpha": _alpha(act), "max_texture_size": mts}
        yield (f"dense_forward {tag}",
               lambda x=x, k=k, b=b, c=common: dense.dense_forward(x, k, b, **c))
        yield (f"dense_forward_programs {tag}",
               lambda x=x, k=k, b=b, c=common: dense.dense_forward_programs(x, k, b, **c))
        if len(x) != 2:
            continue
        y_shape = y if act != "linear" else None
        yield (f"dense_backward_input {tag}",
               lambda x=x, k=k, y=y_shape, c=common: dense.dense_backward_input(
                   (x[0], k[1]), k, y, x_shape=x, **c))
        yield (f"dense_backward_kernel {tag}",
               lambda x=x, k=k, y=y_shape, c=common: dense.dense_backward_kernel(
                   x, (x[0], k[1]), y, **c))
        yield (f"dense_backward_bias {tag}",
               lambda x=x, k=k, y=y_shape, c=common: dense.dense_backward_bias(
                   (x[0], k[1]), y, **c))
    for x in [(1, 7), (3, 16), (8, 784), (9, 13)]:
        yield (f"dense_transpose_input x={_dims(x)}", lambda x=x: dense.dense_transpose_input(x))
    for x, units, width, mts in [((8, 784), 16, None, 8192), ((9, 13), 5, None, 8192),
                                 ((32, 200), 10, None, 256), ((5, 1176), 200, 42, 8192)]:
        yield (f"dense_backward_kernel_rows4 x={_dims(x)} units={units} width={width} mts={mts}",
               lambda x=x, u=units, w=width, m=mts: dense_grouped_grads.dense_backward_kernel_rows4(
                   x, (x[0], u), max_texture_size=m, widths={"x": w} if w else None))
        yield (f"dense_backward_input_rows4 x={_dims(x)} units={units} mts={mts}",
               lambda x=x, u=units, m=mts: dense_grouped_grads.dense_backward_input_rows4(
                   (x[0], u), (x[1], u), max_texture_size=m))
    for y, rows in [((8, 784), 8), ((9, 13), 9), ((5, 7, 7, 24), 5), ((100, 200), 100)]:
        yield (f"gather_rows4_flat y={_dims(y)} rows={rows}",
               lambda y=y, r=rows: dense_grouped_grads.gather_rows4_flat(y, r))
    yield ("dense_backward_input flattened x=2x3x4x8 k=96x7",
           lambda: dense.dense_backward_input((2, 7), (96, 7), x_shape=(2, 3, 4, 8)))
    yield ("dense_forward widths x=3x16 width=5",
           lambda: dense.dense_forward((3, 16), (16, 4), (4,), widths={"x": 5}))


CONV_CASES = [
    ((1, 5, 7, 3), (3, 3, 3, 4), (1, 1), "valid"),
    ((1, 5, 7, 3), (3, 3, 3, 4), (2, 2), "same"),
    ((2, 11, 28, 1), (5, 5, 1, 6), (2, 2), "valid"),
    ((3, 28, 28, 1), (6, 6, 1, 6), (1, 1), "same"),
    ((1, 28, 28, 6), (5, 5, 6, 12), (2, 2), "same"),
    ((2, 14, 14, 12), (4, 4, 12, 24), (2, 2), "same"),
    ((1, 6, 6, 5), (1, 1, 5, 3), (1, 1), "valid"),
    ((1, 9, 8, 2), (2, 2, 2, 8), (3, 2), "valid"),
]


def _conv_out(x, k, strides, padding) -> tuple[int, ...]:
    n, h, w, _ = x
    if padding == "same":
        return (n, -(-h // strides[0]), -(-w // strides[1]), k[3])
    return (n, (h - k[0]) // strides[0] + 1, (w - k[1]) // strides[1] + 1, k[3])


def _conv_calls() -> Iterator[tuple[str, Callable[[], Program]]]:
    for (x, k, s, pad), act, bias, mts in itertools.product(CONV_CASES, ACTIVATIONS,
                                                            (True, False), MAX_TEXTURE_SIZES):
        b = (k[3],) if bias else None
        dy = _conv_out(x, k, s, pad)
        y = dy if act != "linear" else None
        tag = f"x={_dims(x)} k={_dims(k)} s={_dims(s)} {pad} bias={bias} {act} mts={mts}"
        common = {"strides": s, "padding": pad, "activation": act, "alpha": _alpha(act),
                  "max_texture_size": mts}
        yield (f"conv2d_forward {tag}",
               lambda x=x, k=k, b=b, c=common: conv.conv2d_forward(x, k, b, **c))
        yield (f"conv2d_backward_input {tag}",
               lambda x=x, k=k, dy=dy, y=y, c=common: conv.conv2d_backward_input(
                   dy, k, y, x_shape=x, **c))
        yield (f"conv2d_backward_kernel {tag}",
               lambda x=x, k=k, dy=dy, y=y, c=common: conv.conv2d_backward_kernel(
                   x, dy, y, kernel_size=k[:2], **c))
        c = {key: common[key] for key in ("activation", "alpha", "max_texture_size")}
        yield (f"conv2d_backward_bias {tag}",
               lambda dy=dy, y=y, c=c: conv.conv2d_backward_bias(dy, y, **c))
        yield (f"conv2d_forward_batch4 {tag}",
               lambda x=x, k=k, b=b, c=common: conv_groups.conv2d_forward_batch4(x, k, b, **c))
        if act == "linear" and bias:  # the gradient programs read dz: no activation
            g = {"strides": s, "padding": pad, "max_texture_size": mts}
            yield (f"conv2d_backward_input_batch4 {tag}",
                   lambda x=x, k=k, dy=dy, g=g: conv_groups.conv2d_backward_input_batch4(
                       dy, k, x_shape=x, **g))
            yield (f"conv2d_backward_kernel_cin4 {tag}",
                   lambda x=x, k=k, dy=dy, g=g: conv_groups.conv2d_backward_kernel_cin4(
                       x, dy, kernel_size=k[:2], **g))
            for axis in (0, 2):
                yield (f"gather_groups4 y={_dims(x)} axis={axis} mts={mts}",
                       lambda x=x, a=axis, m=mts: conv_groups.gather_groups4(
                           x, a, max_texture_size=m))


def _pool_calls() -> Iterator[tuple[str, Callable[[], Program]]]:
    cases = [((1, 5, 7, 3), (2, 2), (2, 2), "valid"), ((2, 5, 7, 3), (2, 2), (2, 2), "same"),
             ((1, 11, 28, 6), (3, 3), (2, 2), "same"), ((3, 28, 28, 4), (2, 2), (1, 1), "valid"),
             ((1, 9, 9, 5), (3, 2), (3, 1), "valid")]
    for (x, p, s, pad), mts in itertools.product(cases, MAX_TEXTURE_SIZES):
        dy = _conv_out(x, p + (x[3], x[3]), s, pad)
        tag = f"x={_dims(x)} p={_dims(p)} s={_dims(s)} {pad} mts={mts}"
        for kind in ("max_pool2d", "avg_pool2d"):
            forward = getattr(pool, f"{kind}_forward")
            backward = getattr(pool, f"{kind}_backward")
            yield (f"{kind}_forward {tag}",
                   lambda f=forward, x=x, p=p, s=s, pad=pad, m=mts: f(
                       x, p, s, pad, max_texture_size=m))
            yield (f"{kind}_backward {tag}",
                   lambda f=backward, x=x, dy=dy, p=p, s=s, pad=pad, m=mts: f(
                       dy, x, p, s, pad, max_texture_size=m))


def _other_calls() -> Iterator[tuple[str, Callable[[], Program]]]:
    for x, y in [((2, 5, 7, 3), (2, 105)), ((1, 3, 3, 5), (1, 45)), ((4, 6), (4, 2, 3))]:
        yield (f"reshape_forward x={_dims(x)} y={_dims(y)}",
               lambda x=x, y=y: reshape.reshape_forward(x, y))
    for logits in [(1, 10), (32, 10), (5, 3), (7, 130)]:
        labels = (logits[0],)
        for kind in ("forward", "backward"):
            builder = getattr(losses, f"softmax_cross_entropy_{kind}")
            yield (f"softmax_cross_entropy_{kind} logits={_dims(logits)}",
                   lambda b=builder, lg=logits, lb=labels: b(lg, lb))
    for shape, l2 in itertools.product([(10,), (784, 16), (3, 3, 1, 4)], (0.0, 0.01)):
        tag = f"param={_dims(shape)} l2={l2}"
        yield (f"sgd_update {tag}", lambda s=shape, l2=l2: optimizers.sgd_update(s, l2=l2))
        yield (f"momentum_update {tag}",
               lambda s=shape, l2=l2: optimizers.momentum_update(s, l2=l2))
        yield (f"adam_update {tag}", lambda s=shape, l2=l2: optimizers.adam_update(s, l2=l2))


def _dropout_calls() -> Iterator[tuple[str, Callable[[], Program]]]:
    for shape, rate, salt in [((16, 784), 0.25, 0), ((100, 30), 0.5, 3), ((2, 5, 7, 3), 0.1, 1),
                              ((7, 10), 0.0, 0)]:
        tag = f"x={_dims(shape)} rate={rate} salt={salt}"
        yield (f"dropout_mask {tag}",
               lambda s=shape, r=rate, t=salt: dropout.dropout_mask(s, r, t))
    for shape, widths in [((16, 200), None), ((3, 30), None), ((2, 1176), {"x": 42})]:
        yield (f"dropout_apply x={_dims(shape)} widths={widths}",
               lambda s=shape, w=widths: dropout.dropout_apply(s, widths=w))


def _gather_calls() -> Iterator[tuple[str, Callable[[], Program]]]:
    for out, data, mts in [((100, 784), (60000, 784), 8192), ((9, 28, 28, 1), (1000, 784), 8192),
                           ((3, 2, 2, 3), (5, 12), 256), ((2, 28, 28, 1), (60000, 784), 4096)]:
        yield (f"gather_images out={_dims(out)} data={_dims(data)} mts={mts}",
               lambda o=out, d=data, m=mts: gather.gather_images(o, d, max_texture_size=m))


def _layer_gather_calls() -> Iterator[tuple[str, Callable[[], Program]]]:
    # The Layers view's atlas: the default CNN's outputs, a chained pass, a small texture.
    cnn = [((1, 28, 28, 6), 294), ((1, 14, 14, 12), 147), ((1, 7, 7, 24), 294), ((1, 200), 50),
           ((1, 10), 3)]
    for layouts, units, mts in [(cnn, 16, 4096), (cnn, 3, 4096), ([((1, 5), 2), ((2, 3, 3, 5), 6)],
                                                                    16, 8)]:
        regions = layer_gather.layout_regions(layouts)
        total = regions[-1].end
        for index, chunk in enumerate(layer_gather.chunk_sources(len(regions), units)):
            tag = f"sources={len(regions)} units={units} mts={mts} pass={index}"
            yield (f"layer_gather {tag}",
                   lambda r=regions, c=chunk, t=total, i=index, m=mts: layer_gather.layer_gather(
                       r, c, t, chained=i > 0, max_texture_size=m))


def builder_corpus() -> dict[str, str]:
    """label -> program text, or the class of the error a builder raised (its wording may
    change; that it refuses may not)."""
    corpus = {}
    families = (_activation_calls, _dense_calls, _conv_calls, _pool_calls, _other_calls,
                _dropout_calls, _gather_calls, _layer_gather_calls)
    for label, call in itertools.chain.from_iterable(family() for family in families):
        try:
            result = call()
        except Exception as error:  # noqa: BLE001 - a refusal is part of the behaviour
            corpus[label] = f"raises {type(error).__name__}"
            continue
        programs = result if isinstance(result, list) else [result]
        corpus[label] = "\n----\n".join(_program_text(p) for p in programs)
    return corpus


# ----------------------------------------------------------------------------- plans

def _model_files() -> dict[str, tuple]:
    from model_export.architectures import cnn_layers, mlp_layers
    from model_export.export import build_files
    from model_export.layers import (
        Activation,
        AveragePooling2D,
        Conv2D,
        Dense,
        Dropout,
        Flatten,
        LeakyReLU,
        MaxPooling2D,
    )
    from model_export.model import Sequential

    def files(layers, input_shape=(28, 28, 1)):
        return build_files(Sequential(layers, input_shape=input_shape, seed=0))

    def folder_files(folder: Path):
        return ((folder / "model.json").read_bytes(),
                {p.name: p.read_bytes() for p in folder.glob("group*-shard*.bin")})

    keras = ROOT / "tests" / "keras_corpus"
    return {
        "default": folder_files(ROOT / "models" / "default"),
        # Official converter files with BatchNormalization: their steps unfold and refold it.
        "keras_batchnorm_step": folder_files(keras / "batchnorm_step"),
        "keras_dense_batchnorm": folder_files(keras / "dense_batchnorm"),
        "cnn": files(cnn_layers()),
        "mlp": files(mlp_layers()),
        "mlp_small": files([Flatten(), Dense(16, activation="relu"),
                            Dense(10, activation="softmax")]),
        "every_layer": files([Conv2D(4, 3, padding="same", activation="elu"),
                              AveragePooling2D(2), Conv2D(6, 3, strides=2),
                              LeakyReLU(0.1), MaxPooling2D(2, padding="same"),
                              Flatten(), Dropout(0.5), Dense(12, activation="tanh"),
                              Dense(10), Activation("softmax")], (12, 11, 1)),
        "leaky_dense": files([Flatten(), Dense(16), LeakyReLU(0.2),
                              Dense(10, activation="sigmoid"), Activation("softmax")],
                             (5, 7, 1)),
    }


class _DrawRecorder:
    """Reads FakeGL's call log: the fragment source of each draw, the method sequence."""

    def __init__(self, gl) -> None:
        self.gl = gl
        self.start = len(gl.calls)

    def take(self) -> dict[str, object]:
        calls = self.gl.calls[self.start:]
        self.start = len(self.gl.calls)
        return {"methods": [name for name, _ in calls],
                "draws": self._fragment_sources(self.gl.calls, len(self.gl.calls) - len(calls))}

    @staticmethod
    def _fragment_sources(calls, first: int) -> list[str]:
        sources: dict[int, str] = {}
        current = None
        drawn = []
        for index, (name, args) in enumerate(calls):
            if name == "attachShader":
                program, shader = args
                if shader.data.get("kind") == 0x8B30:  # FRAGMENT_SHADER
                    sources[program.serial] = shader.data["source"]
            elif name == "useProgram":
                current = args[0]
            elif name == "drawArrays" and index >= first:
                drawn.append(sources[current.serial])
        return drawn


def _plan_entries(label: str, record: dict, counters: dict) -> dict[str, str]:
    entries = {f"{label} draw {i}": source for i, source in enumerate(record["draws"])}
    entries[f"{label} gl methods"] = "\n".join(record["methods"])
    entries[f"{label} counters"] = repr(sorted((k, v) for k, v in counters.items() if k != "ms"))
    return entries


# The models holding a Dropout layer: their training plan is also recorded with dropout on.
DROPOUT_MODELS = ("cnn", "mlp", "every_layer")


def plan_corpus() -> dict[str, str]:
    """label -> text of each draw, the GL method sequence and counters of each plan."""
    from webgl_backend.fake_gl import FakeGL
    from webgl_backend.runtime import Runtime
    from webgl_backend.training import FineTuner

    corpus = {}
    for name, files in _model_files().items():
        for n in (1, 8):
            gl = FakeGL()
            model = Runtime(gl).load_model(*files)
            images = array("f", [(i % 17) / 17.0 for i in range(n * _per_image(model))])
            recorder = _DrawRecorder(gl)
            model.predict(images, n)  # compiles the plan
            recorder.take()
            model.predict(images, n)
            corpus.update(_plan_entries(f"plan {name} predict n={n}", recorder.take(),
                                        model.last_forward))
        runs = [("sgd", "all", False), ("momentum", "all", False), ("adam", "all", False),
                ("adam", 1, False)]
        if name in DROPOUT_MODELS:
            runs.append(("adam", "all", True))
        for optimizer, trainable, dropout in runs:
            gl = FakeGL()
            model = Runtime(gl).load_model(*files)
            tuner = FineTuner(model)
            tuner.configure_training(optimizer, 0.01, trainable, l2=0.001, dropout=dropout)
            n = 8
            images = array("f", [(i % 13) / 13.0 for i in range(n * _per_image(model))])
            labels = [i % 10 for i in range(n)]
            recorder = _DrawRecorder(gl)
            tuner.fit_batch(images, labels, n)
            recorder.take()
            tuner.fit_batch(images, labels, n)
            label = f"plan {name} fit {optimizer} trainable={trainable}"
            corpus.update(_plan_entries(label + (" dropout" if dropout else ""),
                                        recorder.take(), tuner.last_step))
    return corpus


def _per_image(model) -> int:
    size = 1
    for dim in model.input_shape:
        size *= dim
    return size


# ----------------------------------------------------------------------------- digests

def digests() -> dict[str, str]:
    corpus = {**builder_corpus(), **plan_corpus()}
    return {label: hashlib.sha256(text.encode()).hexdigest()[:DIGEST_CHARS]
            for label, text in corpus.items()}


def read_digests(path: Path = DIGEST_FILE) -> dict[str, str]:
    entries = {}
    for line in path.read_text().splitlines():
        digest, label = line.split(" ", 1)
        entries[label] = digest
    return entries


def write_digests(entries: dict[str, str], path: Path = DIGEST_FILE) -> None:
    path.write_text("".join(f"{digest} {label}\n" for label, digest in entries.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"rewrite {DIGEST_FILE.name}")
    args = parser.parse_args(argv)
    entries = digests()
    if args.write:
        write_digests(entries)
        print(f"{len(entries)} entries written to {DIGEST_FILE}")
        return 0
    stored = read_digests()
    changed = [label for label in entries if stored.get(label) != entries[label]]
    missing = [label for label in stored if label not in entries]
    for label in changed + missing:
        print(label)
    print(f"{len(entries)} entries, {len(changed)} changed or new, {len(missing)} missing")
    return 1 if changed or missing else 0


if __name__ == "__main__":
    sys.exit(main())
