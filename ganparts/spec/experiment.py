"""The experiment spec: pydantic models of a whole run, YAML/JSON in and out.

The static models below mark block fields with :func:`~ganparts.spec.markers.Block`;
:func:`build_spec_model` turns them into discriminated unions (on ``kind``) of what
the registry holds, once plugins have loaded — so a plugin's block validates, and
shows in the JSON Schema, exactly like a built-in one.
"""

from __future__ import annotations

import functools
import typing
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, create_model

from ganparts.spec.introspection import block_ref, is_model
from ganparts.spec.markers import Block, BlockName, BlockRef
from ganparts.spec.registry import Registry


class _Strict(BaseModel):
    # Frozen: a validated spec is what the Trainer, its checkpoints and run files agree on, so
    # nothing may change it behind their back; a change is a new spec (``model_copy(update=...)``).
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataSpec(_Strict):
    source: BlockName("dataset") = Field("auto", description="which registered dataset to train on")
    batch_size: int = Field(64, gt=0, le=65536)
    root: str | None = Field(None, description="data root for full MNIST (default: $GANPARTS_DATA or ~/.cache/ganparts/data)")
    download: bool = Field(True, description="allow downloading full MNIST into the data root")


class ModelSpec(_Strict):
    z_dim: int = Field(128, gt=0, le=65536, description="latent size")
    num_classes: int = Field(
        0, ge=0, le=65536, description="classes G draws on request and D judges per class (conditional BatchNorm, projection D); 0: unconditional"
    )
    generator: Block("generator")
    discriminator: Block("discriminator")


class OptimSpec(_Strict):
    g_lr: float = Field(1e-4, gt=0, description="generator Adam learning rate (TTUR: lower than D's)")
    d_lr: float = Field(4e-4, gt=0, description="discriminator Adam learning rate")
    betas: tuple[Annotated[float, Field(ge=0, lt=1)], Annotated[float, Field(ge=0, lt=1)]] = (0.0, 0.9)
    d_steps: int = Field(1, gt=0, le=100, description="discriminator updates per generator update")
    lr_decay: Literal["none", "linear"] = Field(
        "none", description="none: constant rates; linear: G's and D's rates fall in a straight line to 0 at train.steps (SNGAN)"
    )
    lr_decay_start: float = Field(0.0, ge=0, lt=1, description="the fraction of the run trained at the full rates before lr_decay begins")


class TrainSpec(_Strict):
    steps: int = Field(5000, gt=0, description="generator updates in total")
    ema_decay: float = Field(0.999, ge=0, lt=1, description="EMA of generator weights; 0 copies G")
    match_data_brightness: bool = Field(
        True, description="before training, shift G's last bias so its first images are as bright on average as the data "
        "(against the early collapse of seeds whose G starts bright; docs/results.md)",
    )
    sample_every: int = Field(500, ge=0, description="write a sample grid every N steps (0: only at the end)")
    checkpoint_every: int = Field(500, ge=0, description="write a checkpoint every N steps (0: only at the end)")
    log_every: int = Field(10, gt=0, description="flush per-step metrics to disk every N steps")
    keep_checkpoints: int = Field(3, gt=0, description="how many recent checkpoints to keep")
    grid_size: int = Field(64, gt=0, le=1024, description="images in each sample grid (fixed noise)")
    eval_every: int = Field(0, ge=0, description="FID, KID, IS, precision/recall every N steps into eval.jsonl (0: off)")
    on_nonfinite: Literal["stop", "skip"] = Field("stop", description="a NaN/Inf loss or weight stops the run (stop) or its update is skipped (skip)")
    compile: bool = Field(False, description="torch.compile the networks: slow first steps, faster after (CPU needs a C++ compiler)")
    compile_mode: Literal["default", "reduce-overhead", "max-autotune-no-cudagraphs"] = Field(
        "default", description="torch.compile's mode with compile: true (reduce-overhead: CUDA graphs; max-autotune-no-cudagraphs: searches kernels, compiles slowly)",
    )
    precision: Literal["fp32", "bf16", "fp16"] = Field("fp32", description="autocast precision of forward passes (fp16: with loss scaling)")
    cuda_graph: bool = Field(
        False, description="CUDA only: after 3 eager steps, replay each training step as one captured CUDA graph (docs/performance.md)",
    )
    threads: int = Field(
        0, ge=0, le=1024, description="CPU threads for torch (0: $GANPARTS_THREADS, else $OMP_NUM_THREADS, else this process's share of the cores)"
    )
    # Adaptive augmentation strength (ADA, Karras et al. 2020): multiplies every augment's p.
    ada_target: float = Field(0, ge=0, lt=1, description="target of E[sign(D(real))], the overfitting heuristic the strength steers by (0: off, strength fixed at 1; ADA uses 0.6)")
    ada_interval: int = Field(4, gt=0, description="steps between strength adjustments")
    ada_ramp: int = Field(500, gt=0, description="steps the strength takes to go from 0 to 1 while D stays on one side of the target")


class Experiment(_Strict):
    name: str = Field("experiment", min_length=1, max_length=128)
    seed: int = Field(0, ge=0, lt=2**63)
    data: DataSpec = Field(default_factory=DataSpec)
    model: ModelSpec
    # A name, not a loss class: the spec layer sits below the blocks and only knows registered names.
    loss: Block("loss") = Field({"kind": "hinge"}, validate_default=True)
    penalties: list[Block("penalty")] = Field(default_factory=list, description="extra D regularisers")
    augment: list[Block("augment")] = Field(default_factory=list, description="differentiable augmentations of every D input, in order")
    optim: OptimSpec = Field(default_factory=OptimSpec)
    train: TrainSpec = Field(default_factory=TrainSpec)


def build_spec_model(registry: Registry) -> type[Experiment]:
    """The :class:`Experiment` model with every block field resolved against ``registry``."""
    return _Resolver(registry).model(Experiment)


class _Resolver:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.resolved: dict[type[BaseModel], type[BaseModel]] = {}

    def model(self, cls: type[BaseModel]) -> type[BaseModel]:
        """``cls``, or a subclass of it whose block fields are resolved (recursively)."""
        if cls in self.resolved:
            return self.resolved[cls]
        overrides = {}
        for name, field in cls.model_fields.items():
            annotation = self.annotation(field.annotation, field.metadata)
            if annotation is not field.annotation:
                overrides[name] = (annotation, field)
        resolved = create_model(cls.__name__, __base__=cls, __module__=cls.__module__, **overrides) if overrides else cls
        resolved.__doc__ = cls.__doc__
        self.resolved[cls] = resolved
        return resolved

    def annotation(self, annotation: Any, metadata: list[Any] = ()) -> Any:
        """``annotation`` with its block marker (and any inside a list or model) resolved;
        the very same object when there is nothing to resolve."""
        ref = block_ref(annotation, metadata)
        if ref is not None:
            return self.block(ref)
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
        if origin is list and args:
            inner = self.annotation(args[0])
            return annotation if inner is args[0] else list[inner]
        if is_model(annotation):
            return self.model(annotation)
        return annotation

    def block(self, ref: BlockRef) -> Any:
        names = self.registry.list(ref.kind)
        if not names:
            raise ValueError(f"no {ref.kind} is registered; a spec cannot refer to one")
        if ref.name_only:
            return Literal[tuple(names)]
        members = tuple(self.model(self.registry.get(ref.kind, n).spec) for n in names)
        union = members[0] if len(members) == 1 else Annotated[Union[members], Discriminator("kind")]
        return Annotated[union, BeforeValidator(_kind_shorthand)]


def _kind_shorthand(value: Any) -> Any:
    """Let a bare name stand for a block with default settings: ``loss: ns`` ≡ ``loss: {kind: ns}``."""
    return {"kind": value} if isinstance(value, str) else value


@functools.lru_cache(maxsize=8)
def _cached_spec_model(registry: Registry, revision: int) -> type[Experiment]:
    # Keyed on the registry and its revision: a registration after the build makes a new model.
    return build_spec_model(registry)


def spec_model(registry: Registry) -> type[Experiment]:
    """The resolved :class:`Experiment` model for ``registry`` (built once per registry revision)."""
    return _cached_spec_model(registry, registry.revision)


def json_schema(registry: Registry) -> dict[str, Any]:
    return spec_model(registry).model_json_schema()
