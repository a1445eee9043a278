"""Backward-op parity: run many gradient/update programs in the page in one round trip.

Like `parity.py`, but a case names which inputs are given to the builder as shapes
(positionally, `args`) and binds textures to the program's samplers by name, since a
backward program reads only some of the tensors its numpy reference takes (avg pool
reads dy but not x) and may take extra ones (dz from dy and y).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from tests.ops.parity import assert_close

_PAGE_CODE = """
import json
from importlib import import_module
from webgl_backend.tensor import GpuTensor

def _run_backward_cases(cases):
    results = {}
    textures_before = CTX.live_textures
    for case in cases:
        builder = getattr(import_module("webgl_backend.ops." + case["module"]), case["op"])
        tensors = {name: GpuTensor.from_host(CTX, tuple(shape),
                                             INPUTS[case["id"] + "/" + name])
                   for name, shape in case["inputs"]}
        views = {name: tensors[name].reshape(tuple(shape))
                 for name, shape in case["views"].items()}
        try:
            widths = {name: tensors[name].texture.width for name in case["widths"]}
            extra = {"widths": widths} if widths else {}
            shapes = {name: views.get(name, tensors[name]).shape for name in tensors}
            built = builder(*[shapes[name] for name in case["args"]],
                            **case["attrs"], **extra,
                            max_texture_size=CTX.max_texture_size)
            # A chain: a multiple-render-target program, then a gather reading part0, ...
            chain = built if isinstance(built, list) else [built]
            named, made = tensors, []
            for program in chain:
                outputs = [GpuTensor.empty(CTX, program.output_shape)
                           for _ in range(program.outputs)]
                made.extend(outputs)
                targets = [t.texture for t in outputs]
                CTX.draw(CTX.compile(program), [named[name].texture for name in program.inputs],
                         targets if program.outputs > 1 else targets[0])
                named = {**tensors, **{f"part{j}": t for j, t in enumerate(outputs)}}
            y = outputs[case["output"]]
            results[case["id"]] = {"y": y.read(), "shape": list(program.output_shape),
                                   "inputs": list(chain[0].inputs), "draws": len(chain),
                                   "outputs": program.outputs}
        finally:
            for t in list(tensors.values()) + made:
                t.dispose()
    results["__leaked_textures__"] = CTX.live_textures - textures_before
    return results

_run_backward_cases(json.loads(CASES_JSON))
"""


@dataclass
class GradCase:
    """`module.op(*shapes of args, **attrs)` in the page vs `expected` from numpy.

    `tensor` names the result in failure messages (dx, dkernel, ...); `widths` lists the
    inputs whose real texture width the builder is told; `views` gives inputs a reshaped
    view (name -> shape, same texel order), as Flatten does. The builder may return a
    chain of programs (each after the first reads the previous one's outputs as part0,
    part1, ..., and any input by name); `output` picks which output of the last one is compared (a program
    writing several tensors at once, as the optimizer updates do).
    """

    id: str
    module: str
    op: str
    tensor: str
    inputs: dict[str, np.ndarray]
    args: tuple[str, ...]
    expected: Callable[[], np.ndarray]
    attrs: dict = field(default_factory=dict)
    widths: tuple[str, ...] = ()
    views: dict = field(default_factory=dict)
    output: int = 0

    @property
    def key(self) -> str:
        return f"{self.op}:{self.id}"


def run_grad_cases(pyodide_page, cases: list[GradCase]) -> dict[str, dict]:
    keys = [c.key for c in cases]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    assert not duplicates, f"cases with the same op and id: {duplicates}"
    specs = [{"id": c.key, "module": c.module, "op": c.op, "args": list(c.args),
              "inputs": [[name, list(value.shape)] for name, value in c.inputs.items()],
              "attrs": c.attrs, "widths": list(c.widths),
              "views": {k: list(v) for k, v in c.views.items()}, "output": c.output}
             for c in cases]
    arrays = {f"{c.key}/{name}": value for c in cases for name, value in c.inputs.items()}
    code = f"CASES_JSON = {json.dumps(json.dumps(specs))}\n" + _PAGE_CODE
    results = pyodide_page.run(code, **arrays)
    assert results.pop("__leaked_textures__") == 0, "backward cases leaked textures"
    return results


def check_grad_case(case: GradCase, results: dict[str, dict], atol: float = 1e-4,
                    rtol: float = 1e-4) -> None:
    expected = np.asarray(case.expected())
    result = results[case.key]
    assert tuple(result["shape"]) == expected.shape, (
        f"{case.op} {case.tensor} [{case.id}]: shape {tuple(result['shape'])}, numpy gives "
        f"{expected.shape}"
    )
    assert_close(f"{case.op} {case.tensor} [{case.id}]", result["y"], expected, atol, rtol)
