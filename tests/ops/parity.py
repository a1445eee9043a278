"""Parity helper: run many GLSL op cases in the page in one round trip, compare to numpy.

A `Case` names an op builder of `webgl_backend.ops`, its inputs (seeded float32 arrays,
in the program's input order) and attributes, plus the numpy reference from
`model_export.nn`. `run_cases` uploads every case's inputs, builds, compiles and draws
each program, reads the outputs back and disposes every texture, all in one call; then
each test compares its own case with `assert_close` (atol + rtol * |ref|).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

ATOL = 1e-4
RTOL = 1e-4

# Runs in Pyodide. CASES: [{id, module, op, inputs: [[name, shape]], attrs}].
_PAGE_CODE = """
import json
from importlib import import_module
from webgl_backend.tensor import GpuTensor

def _run_cases(cases):
    results = {}
    textures_before = CTX.live_textures
    for case in cases:
        builder = getattr(import_module("webgl_backend.ops." + case["module"]), case["op"])
        tensors = [GpuTensor.from_host(CTX, tuple(shape), INPUTS[case["id"] + "/" + name])
                   for name, shape in case["inputs"]]
        made = []
        try:
            built = builder(*[t.shape for t in tensors], **case["attrs"],
                            max_texture_size=CTX.max_texture_size)
            # A builder may return several draws: each reads the previous one's outputs.
            inputs = [t.texture for t in tensors]
            for program in (built if isinstance(built, list) else [built]):
                outputs = [GpuTensor.empty(CTX, program.output_shape)
                           for _ in range(program.outputs)]
                made.extend(outputs)
                targets = [t.texture for t in outputs]
                CTX.draw(CTX.compile(program), inputs,
                         targets if program.outputs > 1 else targets[0])
                inputs = targets
            y = made[-1]
            results[case["id"]] = {"y": y.read(), "shape": list(program.output_shape),
                                   "draws": len(built) if isinstance(built, list) else 1}
        finally:
            for t in tensors + made:
                t.dispose()
    results["__leaked_textures__"] = CTX.live_textures - textures_before
    return results

_run_cases(json.loads(CASES_JSON))
"""


@dataclass
class Case:
    """One op call: `module.op(*input shapes, **attrs)` in the page vs `reference(*arrays)`."""

    id: str
    module: str
    op: str
    inputs: dict[str, np.ndarray]
    reference: Callable[..., np.ndarray]
    attrs: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Unique across ops (max and avg pool share case ids)."""
        return f"{self.op}:{self.id}"

    def expected(self) -> np.ndarray:
        # The reference runs in float64: the truth both float32 implementations approach.
        return np.asarray(self.reference(*[v.astype(np.float64) for v in self.inputs.values()]))


def run_cases(pyodide_page, cases: list[Case]) -> dict[str, dict]:
    """Outputs of every case ({id: {'y': flat float32, 'shape': [...]}}), one page call."""
    keys = [c.key for c in cases]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    assert not duplicates, f"parity cases with the same op and id: {duplicates}"
    specs = [{"id": c.key, "module": c.module, "op": c.op,
              "inputs": [[name, list(value.shape)] for name, value in c.inputs.items()],
              "attrs": c.attrs} for c in cases]
    arrays = {f"{c.key}/{name}": value for c in cases for name, value in c.inputs.items()}
    code = f"CASES_JSON = {json.dumps(json.dumps(specs))}\n" + _PAGE_CODE
    results = pyodide_page.run(code, **arrays)
    assert results.pop("__leaked_textures__") == 0, "parity cases leaked textures"
    return results


def assert_close(name: str, got: np.ndarray, ref: np.ndarray,
                 atol: float = ATOL, rtol: float = RTOL) -> None:
    """Fail naming the tensor, shape, max abs/rel error, first mismatch index and values."""
    ref = np.asarray(ref, dtype=np.float64)
    got = np.asarray(got, dtype=np.float64).reshape(ref.shape)
    error = np.abs(got - ref)
    bad = ~(error <= atol + rtol * np.abs(ref))  # NaN counts as a mismatch
    if bad.any():
        first = tuple(int(i) for i in np.unravel_index(np.argmax(bad), ref.shape))
        rel = error / np.maximum(np.abs(ref), 1e-12)
        raise AssertionError(
            f"{name} {tuple(ref.shape)}: {int(bad.sum())} of {ref.size} values differ; "
            f"max abs error {np.nanmax(error):.3g}, max rel error {np.nanmax(rel):.3g}; "
            f"first at index {first}: got {got[first]!r}, expected {ref[first]!r} "
            f"(atol {atol}, rtol {rtol})"
        )


def check_case(case: Case, results: dict[str, dict]) -> None:
    """Compare one case's GPU output with its reference (shape first, then values)."""
    ref = case.expected()
    result = results[case.key]
    assert tuple(result["shape"]) == ref.shape, (
        f"{case.op} {case.id}: output shape {tuple(result['shape'])}, numpy gives {ref.shape}"
    )
    assert_close(f"{case.op} output y [{case.id}]", result["y"], ref)


def shape_id(shape: tuple[int, ...]) -> str:
    return "x".join(str(d) for d in shape)
