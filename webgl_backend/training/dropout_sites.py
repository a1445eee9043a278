"""Where a model's Dropout layers act while training: after which GPU op (`step_plan`
multiplies that op's output by the step's mask). Dropout draws nothing at inference, so
it has no op of its own; it belongs after the op that holds the layer before it."""

from __future__ import annotations

from webgl_backend.errors import TrainingError
from webgl_backend.forward_plan import fold_batch_norms
from webgl_backend.runtime import GpuModel
from webgl_backend.training.step_plan import INPUT_SITE, DropoutSite


def dropout_sites(model: GpuModel) -> dict[object, DropoutSite]:
    """id(op) (or INPUT_SITE for the images) -> the Dropout after it; rate-0 layers are
    left out (the identity)."""
    owner = {part: op for op in model.ops for part in op.layer_name.split("+")}
    sites: dict[object, DropoutSite] = {}
    last_key: object = INPUT_SITE
    salt = 0
    open_site: DropoutSite | None = None
    for spec in fold_batch_norms(model.artifacts.layers):
        op = owner.get(spec.name)
        if op is not None and id(op) == last_key and open_site is not None:
            raise TrainingError(f"training dropout: layer '{open_site.layer_name}' sits between "
                                f"'{op.layer_name.split('+')[0]}' and the activation fused into "
                                "it; put the Dropout after the activation")
        if op is not None:
            last_key, open_site = id(op), None
        if spec.class_name != "Dropout" or not spec.config["rate"] > 0:
            continue
        if last_key in sites:
            raise TrainingError(f"training dropout: layers '{sites[last_key].layer_name}' and "
                                f"'{spec.name}' follow each other; merge them into one")
        open_site = DropoutSite(spec.name, float(spec.config["rate"]), salt)
        sites[last_key] = open_site
        salt += 1
    return sites
