"""A readable table of a network: each stage, its output shape, parameters, origin."""

from __future__ import annotations

import torch
from torch import nn

from ganparts.data.images import image_shape
from ganparts.models import build_discriminator, build_generator
from ganparts.spec.registry import Registry


def layer_table(model: nn.Module, example: torch.Tensor) -> list[dict]:
    """One row per top-level stage of ``model`` after a forward pass on ``example``.

    Rows: ``name``, ``type``, ``output`` shape (batch dim dropped), ``params``, and
    ``block`` — ``kind:name (plugin)`` for stages built from the registry.
    """
    rows: list[dict] = []
    hooks = []
    for name, layer in model.named_children():
        def record(module, args, output, name=name):
            rows.append({"name": name, "type": type(module).__name__, "output": tuple(output.shape[1:]),
                         "params": sum(p.numel() for p in module.parameters()), "block": _origin(module)})
        hooks.append(layer.register_forward_hook(record))
    try:
        with torch.no_grad():
            model.eval()(example)
    finally:
        for hook in hooks:
            hook.remove()
    return rows


def _origin(module: nn.Module) -> str:
    origins = {f"{e.kind}:{e.name} ({e.plugin})" for m in module.modules() if (e := getattr(m, "ganparts_entry", None))}
    return ", ".join(sorted(origins))


def format_table(title: str, rows: list[dict]) -> str:
    total = sum(r["params"] for r in rows)
    header = ("layer", "type", "output", "params", "block")
    cells = [header] + [(r["name"], r["type"], "×".join(map(str, r["output"])) or "scalar", f"{r['params']:,}", r["block"]) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    lines = [f"{title}: {total:,} parameters"]
    for i, cell in enumerate(cells):
        lines.append("  " + "  ".join(c.ljust(w) if j != 3 else c.rjust(w) for j, (c, w) in enumerate(zip(cell, widths))).rstrip())
        if i == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def network_tables(spec, *, registry: Registry) -> dict[str, list[dict]]:
    """:func:`layer_table` of the generator and the discriminator an experiment ``spec`` describes."""
    shape = image_shape(spec.data.source, registry)
    return {
        "generator": layer_table(build_generator(spec, registry=registry, image_shape=shape), torch.zeros(2, spec.model.z_dim)),
        "discriminator": layer_table(build_discriminator(spec, registry=registry, image_shape=shape), torch.zeros(2, *shape)),
    }
