"""docs/spec.md stays true: every spec field and built-in block is documented."""

import re

from pydantic import BaseModel

from ganparts.spec.registry import KINDS
from ganparts.spec.experiment import Experiment
from tests.conftest import ROOT

DOC = (ROOT / "docs" / "spec.md").read_text()
DOCUMENTED = {m.removeprefix("kind: ") for m in re.findall(r"`([^`]+)`", DOC)}


def section_paths(model: type[BaseModel], prefix: str = ""):
    for name, field in model.model_fields.items():
        path = prefix + name
        yield path
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            yield from section_paths(field.annotation, path + ".")


def test_every_section_field_is_documented():
    missing = [p for p in section_paths(Experiment) if p not in DOCUMENTED]
    assert not missing, f"docs/spec.md lacks: {missing}"


def test_every_builtin_block_and_its_fields_are_documented(registry):
    missing = []
    for kind in KINDS:
        for entry in registry.entries(kind):
            if not entry.builtin:
                continue  # plugins document themselves
            names = [entry.name] + [f for f in entry.spec.model_fields if f != "kind"]
            missing += [f"{kind}:{entry.name}.{n}" for n in names if n not in DOCUMENTED]
    assert not missing, f"docs/spec.md lacks: {missing}"

