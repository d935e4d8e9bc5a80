"""Checks across spec fields: combinations each field's own type cannot rule out.

Each check takes a validated :class:`~ganparts.spec.experiment.Experiment` and returns
``(field path, message)`` problems; :func:`ganparts.spec.validation.validate_spec` runs them all.

A block brings its own rules by giving its spec model a method
``check_experiment(self, experiment, path)`` returning such problems (``path`` is where the
block sits, e.g. ``loss`` or ``penalties.1``): :func:`block_rules` calls it for every block
of the experiment, so a plugin's rules apply in ``validate``, ``train`` and the app alike.
"""

from __future__ import annotations

from collections import Counter

from ganparts.errors import one_line
from ganparts.spec.blocks import block_specs
from ganparts.spec.experiment import Experiment

Problems = list[tuple[str, str]]


def gradient_penalty_given_twice(spec: Experiment) -> Problems:
    """``loss: wgan-gp`` applies a gradient penalty itself; a ``gp`` penalty on top doubles it."""
    own_weight = getattr(spec.loss, "gp_weight", 0) if spec.loss.kind == "wgan-gp" else 0
    if not own_weight:
        return []
    return [
        (
            f"penalties.{i}",
            f"'gp' repeats the gradient penalty that loss wgan-gp already applies (loss.gp_weight: {own_weight}); "
            "remove this entry, or set loss.gp_weight: 0 to use it instead",
        )
        for i, penalty in enumerate(spec.penalties)
        if penalty.kind == "gp"
    ]


def penalty_listed_twice(spec: Experiment) -> Problems:
    """Two penalties of one kind are one penalty with the summed weight, written confusingly."""
    seen: Counter[str] = Counter()
    problems = []
    for i, penalty in enumerate(spec.penalties):
        seen[penalty.kind] += 1
        if seen[penalty.kind] == 2:
            problems.append((f"penalties.{i}", f"a second {penalty.kind!r} penalty; list each penalty once, with the weight you want"))
    return problems


def unconstrained_critic(spec: Experiment) -> Problems:
    """The Wasserstein loss needs a Lipschitz constraint on D, or D's logits grow without bound."""
    if spec.loss.kind != "wgan-gp" or getattr(spec.loss, "gp_weight", 0):
        return []
    if spec.model.discriminator.spectral_norm or any(p.kind == "gp" for p in spec.penalties):
        return []
    return [(
        "loss.gp_weight",
        "0 leaves the Wasserstein critic unconstrained (no gradient penalty, no spectral norm in the discriminator), "
        "so its logits grow without bound; use a gp_weight above 0 (10 is usual), a 'gp' penalty, "
        "or model.discriminator.spectral_norm: true",
    )]


def fp16_skipping_twice(spec: Experiment) -> Problems:
    """fp16's loss scaler already skips updates with non-finite gradients (and lowers the scale);
    ``on_nonfinite: skip`` would count those as divergence and stop the run."""
    if spec.train.precision == "fp16" and spec.train.on_nonfinite == "skip":
        return [("train.on_nonfinite", "'skip' cannot be combined with train.precision: fp16, whose loss scaling skips such updates itself; use 'stop', or precision bf16")]
    return []


def adaptive_augment_without_augment(spec: Experiment) -> Problems:
    """ADA scales the listed augmentations' probabilities; with none listed it would do nothing."""
    if spec.train.ada_target and not spec.augment:
        return [("train.ada_target", "adapts the strength of the augmentations in `augment`, which lists none; add one (e.g. {kind: translation, p: 1}) or set 0")]
    return []


def decay_start_without_decay(spec: Experiment) -> Problems:
    """``lr_decay_start`` delays a decay; with ``lr_decay: none`` there is none to delay."""
    if spec.optim.lr_decay_start and spec.optim.lr_decay == "none":
        return [("optim.lr_decay_start", "delays the decay of optim.lr_decay, which is 'none'; set optim.lr_decay: linear, or 0")]
    return []


def cuda_graph_conflicts(spec: Experiment) -> Problems:
    """A captured step may read nothing on the host and is compiled by no one else (ganparts.training.cuda_graph)."""
    train = spec.train
    if not train.cuda_graph:
        return []
    conflicts = [
        (train.compile, "train.compile: true (choose one; both remove launch overhead)"),
        (train.precision == "fp16", "train.precision: fp16 (its loss scaler reads a flag on the host every update; bf16 needs none)"),
        (train.on_nonfinite == "skip", "train.on_nonfinite: skip (it decides on the host before every update; 'stop' reads its flag at the log flush)"),
        (spec.optim.lr_decay != "none", f"optim.lr_decay: {spec.optim.lr_decay} (the captured update keeps the rate it was captured with)"),
    ]
    return [("train.cuda_graph", f"cannot be combined with {what}; set train.cuda_graph: false, or change that field") for clash, what in conflicts if clash]


def block_rules(spec: Experiment) -> Problems:
    """The problems each block's own ``check_experiment(experiment, path)`` finds.

    A rule that raises is reported as a problem at its block rather than as a traceback:
    it is a bug in that block, and the spec's other problems still show.
    """
    problems: Problems = []
    for path, block in block_specs(spec):
        rule = getattr(block, "check_experiment", None)
        if not callable(rule):
            continue
        try:
            found = list(rule(spec, path) or ())
        except Exception as err:  # noqa: BLE001 — a plugin's rule must not take validation down
            found = [(path, f"the {block.kind!r} block's own check_experiment failed: {one_line(err)}")]
        problems.extend((str(where), str(message)) for where, message in found)
    return problems


CHECKS = (gradient_penalty_given_twice, penalty_listed_twice, unconstrained_critic, fp16_skipping_twice, adaptive_augment_without_augment, decay_start_without_decay, cuda_graph_conflicts, block_rules)


def check_experiment(spec: Experiment) -> Problems:
    """Every problem :data:`CHECKS` find in ``spec``."""
    return [problem for check in CHECKS for problem in check(spec)]
