"""Registry-driven tests: every registered block (plugins included) keeps its kind's contract
and trains through the real Trainer.

Like timm's tests, a new block is tested the moment it is registered. The checks are
ganparts.testing's — the ones plugin authors run and ``ganparts plugins --check`` runs — so they
are proven on the built-in blocks here.
"""

import math

import pytest

from ganparts.plugins import default_registry
from ganparts.testing import (
    check_attention_block, check_augment, check_block, check_family, check_loss, check_norm, check_penalty,
)
from ganparts.testing.plugin import CHECKERS

REGISTRY = default_registry()
FAMILIES = sorted(set(REGISTRY.list("generator")) | set(REGISTRY.list("discriminator")))


@pytest.mark.parametrize("name", REGISTRY.list("attention"))
def test_every_attention_keeps_the_attention_contract(name):
    check_attention_block(name, registry=REGISTRY)


@pytest.mark.parametrize("name", REGISTRY.list("norm"))
def test_every_norm_keeps_the_norm_contract(name):
    check_norm(name, registry=REGISTRY)


@pytest.mark.parametrize("name", REGISTRY.list("loss"))
def test_every_loss_keeps_the_loss_contract(name):
    check_loss(name, registry=REGISTRY)


@pytest.mark.parametrize("name", REGISTRY.list("penalty"))
def test_every_penalty_reaches_d(name):
    check_penalty(name, registry=REGISTRY)


@pytest.mark.parametrize("name", REGISTRY.list("augment"))
def test_every_augmentation_keeps_the_augment_contract(name):
    check_augment(name, registry=REGISTRY)


@pytest.mark.parametrize("name", FAMILIES)
def test_every_family_keeps_the_network_contract(name):
    check_family(name, registry=REGISTRY)


def test_every_kind_that_networks_or_training_use_has_a_checker():
    assert set(CHECKERS) == {"attention", "norm", "loss", "penalty", "augment", "generator", "discriminator"}
    (skipped,) = check_block("dataset", "mnist-5k", registry=REGISTRY)
    assert skipped.status == "skip"


TRAINED = [(kind, name) for kind in ("attention", "norm", "loss", "penalty", "augment") for name in REGISTRY.list(kind)]
TRAINED += [("generator", name) for name in FAMILIES]


@pytest.mark.parametrize("kind, name", TRAINED, ids=[f"{k}-{n}" for k, n in TRAINED])
def test_every_block_trains_through_the_trainer(kind, name, train_block):
    trained = train_block(kind, name, steps=2, registry=REGISTRY)
    assert trained.trainer.step == 2 and [row["step"] for row in trained.rows] == [1, 2]
    assert all(math.isfinite(row["d_loss"]) and math.isfinite(row["g_loss"]) for row in trained.rows)
    assert (trained.trainer.run.path / "checkpoints").is_dir()
