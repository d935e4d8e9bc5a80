"""What every generator/discriminator family spec has in common."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ganparts.spec.markers import Block


class NetworkSpec(BaseModel):
    """Base of family specs: spectral norm switch and attention placement.

    Subclasses set ``resolutions``: the feature-map sizes attention may sit at.
    """

    model_config = ConfigDict(extra="forbid")
    resolutions: ClassVar[tuple[int, ...]] = ()

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
