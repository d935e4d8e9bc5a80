"""``validate``, ``build`` and ``schema``: look at a spec without training it."""

from __future__ import annotations

import json

import torch

from ganparts.analysis.summary import describe_objective, format_blocks, format_table, layer_table
from ganparts.cli import add_spec_options, resolve_device
from ganparts.data.images import image_shape
from ganparts.models import build_discriminator, build_generator
from ganparts.plugins import default_registry
from ganparts.spec.experiment import json_schema
from ganparts.spec.files import dump_spec, load_spec
from ganparts.training.preflight import preflight


def add_commands(commands) -> None:
    p = commands.add_parser("validate", help="check a spec file; print it in full with --print")
    p.add_argument("spec", help="YAML or JSON spec file")
    p.add_argument("--print", action="store_true", help="print the validated spec with every default filled in")
    add_spec_options(p)
    p.set_defaults(handler=validate, threads=1)

    p = commands.add_parser("build", help="build a spec's networks and print each layer, shape, parameters, origin")
    p.add_argument("spec")
    add_spec_options(p)
    p.set_defaults(handler=build, threads=1)

    p = commands.add_parser("schema", help="print the JSON Schema of spec files (plugin blocks included)")
    p.set_defaults(handler=schema, threads=1)


def validate(args) -> int:
    registry = default_registry()
    spec = load_spec(args.spec, args.overrides, registry=registry)
    estimate = preflight(spec, registry=registry, device=resolve_device("auto"))  # the same decision train makes
    if args.print:
        print(dump_spec(spec), end="")
    else:
        print(f"{args.spec}: valid ({spec.name}: {spec.model.generator.kind} generator, {spec.model.discriminator.kind} discriminator, loss {spec.loss.kind})")
        print(f"training needs {estimate.describe()}")
    return 0


def build(args) -> int:
    registry = default_registry()
    spec = load_spec(args.spec, args.overrides, registry=registry)
    preflight(spec, registry=registry, device=resolve_device("auto"))
    shape = image_shape(spec.data.source, registry)
    generator = build_generator(spec, registry=registry, image_shape=shape)
    discriminator = build_discriminator(spec, registry=registry, image_shape=shape)
    for title, net, example in (
        ("generator", generator, torch.zeros(2, spec.model.z_dim)),
        ("discriminator", discriminator, torch.zeros(2, *shape)),
    ):
        entry = net.ganparts_entry
        labels = torch.zeros(2, dtype=torch.long) if spec.model.num_classes else None  # a conditional network needs classes
        print(format_table(f"{title} {entry.name} (from {entry.plugin})", layer_table(net, example, labels)))
        print()
    print(format_blocks(spec, registry=registry))
    print()
    print(f"{describe_objective(spec, registry=registry)}; spectral norm: G {spec.model.generator.spectral_norm}, D {spec.model.discriminator.spectral_norm}")
    return 0


def schema(args) -> int:
    print(json.dumps(json_schema(default_registry()), indent=2))
    return 0
