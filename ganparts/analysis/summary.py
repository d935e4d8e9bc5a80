"""A readable table of a network: each stage, its output shape, parameters, origin."""

from __future__ import annotations

import torch
from torch import nn

from ganparts.blocks.losses import build_objective
from ganparts.blocks.conditional import call
from ganparts.data.images import image_shape
from ganparts.models import build_discriminator, build_generator
from ganparts.spec.blocks import blocks_used
from ganparts.spec.registry import Registry


def layer_table(model: nn.Module, example: torch.Tensor, labels: torch.Tensor | None = None) -> list[dict]:
    """One row per top-level stage of ``model`` after a forward pass on ``example`` (and
    ``labels``, for a class-conditional network).

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
            call(model.eval(), example, labels)
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
    labels = torch.zeros(2, dtype=torch.long) if spec.model.num_classes else None
    return {
        "generator": layer_table(build_generator(spec, registry=registry, image_shape=shape), torch.zeros(2, spec.model.z_dim), labels),
        "discriminator": layer_table(build_discriminator(spec, registry=registry, image_shape=shape), torch.zeros(2, *shape), labels),
    }


def format_blocks(spec, *, registry: Registry) -> str:
    """Every block of an experiment ``spec``: where it sits, what it is, which plugin and
    distribution provided it (what ``ganparts build`` prints, and what a run records)."""
    rows = [("where", "block", "plugin", "distribution")] + [
        (use.path, f"{use.kind}:{use.name}", use.entry.plugin, " ".join(p for p in (use.entry.distribution, use.entry.version) if p) or "-")
        for use in blocks_used(spec, registry)
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["blocks:"] + ["  " + "  ".join([*(c.ljust(w) for c, w in zip(row, widths)), row[3]]).rstrip() for row in rows]
    lines.insert(2, "  " + "  ".join("-" * w for w in [*widths, len(rows[0][3])]))
    return "\n".join(lines)


def describe_objective(spec, *, registry: Registry) -> str:
    """``loss: wgan-gp from plugin ganparts.blocks.losses (ganparts 0.1.0); penalties: gp ×10 (the loss's own)``:
    the loss, its plugin, and every penalty D trains with — the loss's own ones included."""
    loss, penalties = build_objective(spec, registry)
    own = {id(p) for p in loss.penalties}
    listed = [f"{p.label} ×{p.weight:g}" + (" (the loss's own)" if id(p) in own else "") for p in penalties]
    entry = registry.get("loss", spec.loss.kind)
    return f"loss: {entry.name} {entry.origin()}; penalties: {', '.join(listed) or 'none'}"
