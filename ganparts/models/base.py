"""What every generator/discriminator family has in common: the spec's base, attention placement."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator
from torch import nn

from ganparts.spec.markers import Block
from ganparts.spec.registry import Registry


class NetworkSpec(BaseModel):
    """Base of family specs: spectral norm switch and attention placement.

    Subclasses set ``resolutions``: the feature-map sizes attention may sit at, and
    ``conditional``: whether the family builds class-conditional networks (its builder then
    takes ``num_classes=`` and its networks ``forward(x, labels)``); preflight refuses
    ``model.num_classes`` for a family that does not.
    """

    model_config = ConfigDict(extra="forbid")
    resolutions: ClassVar[tuple[int, ...]] = ()
    conditional: ClassVar[bool] = False

    spectral_norm: bool = Field(True, description="spectral norm on every conv/linear, attention included")
    attention: list[Block("attention")] = Field(
        default_factory=list, description="attention blocks; an empty list gives the baseline network"
    )

    @field_validator("attention")
    @classmethod
    def _at_existing_resolutions(cls, blocks):
        allowed = ", ".join(map(str, cls.resolutions))
        for i, block in enumerate(blocks):
            if block.resolution not in cls.resolutions:
                raise ValueError(
                    f"item {i} ({block.kind}): resolution {block.resolution} does not exist in this network; "
                    f"allowed: {allowed}"
                )
        return blocks


# A conditional G's default (blocks/output.py). It saved 3 of the 4 runs that lost class 0 when
# retrained one by one, but alone it did not stop attention runs losing a class; the
# non-saturating loss did (docs/results.md, "The lost class"). It stays: the baseline improved with it.
CONDITIONAL_SLOPE_FLOOR = 0.05


class GeneratorSpec(NetworkSpec):
    """Base of generator family specs: adds how G's output ``tanh`` passes gradients back."""

    output_slope_floor: float | None = Field(
        None, ge=0, le=1,
        description="least slope G's output tanh passes back (its forward is unchanged), so an image pushed to blank "
        "can return; default (null): 0.05 in a conditional G (against a lost class), 0 otherwise",
    )

    def slope_floor(self, num_classes: int) -> float:
        """The floor to build with: the field, or its default for a G of ``num_classes`` classes."""
        if self.output_slope_floor is not None:
            return self.output_slope_floor
        return CONDITIONAL_SLOPE_FLOOR if num_classes else 0.0


def attention_stages(spec: NetworkSpec, resolution: int, channels: int, registry: Registry) -> Iterator[tuple[str, nn.Module]]:
    """The ``(name, block)`` stages of ``spec.attention`` that sit at ``resolution``, in spec order.

    Names are ``attn14``, or ``attn14_0``, ``attn14_1``, … when several share a resolution: what
    attention pictures, summaries and state-dict keys call them in every family.
    """
    blocks = [b for b in spec.attention if b.resolution == resolution]
    for i, block in enumerate(blocks):
        name = f"attn{resolution}" if len(blocks) == 1 else f"attn{resolution}_{i}"
        yield name, registry.create("attention", block, channels=channels)
