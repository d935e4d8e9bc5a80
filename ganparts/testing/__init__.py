"""Testing helpers for plugin authors (and for ganparts' own blocks).

Contract checkers — each takes a registered block (its name, or its spec as data), runs every
check of its kind's contract (docs/plugins.md), and raises :class:`ContractError` naming each
failed check, or with ``raise_on_failure=False`` returns one :class:`CheckResult` per check::

    from ganparts.testing import check_attention_block

    def test_axial_keeps_the_attention_contract():
        check_attention_block("axial")                       # its defaults
        check_attention_block({"kind": "axial", "heads": 2})  # other settings

- :func:`check_attention_block`, :func:`check_norm`, :func:`check_loss`,
  :func:`check_penalty`, :func:`check_family`, :func:`check_augment`;
- :func:`check_block` picks the checker for a kind; :func:`check_plugin` runs them on every
  block an installed plugin registers (``ganparts plugins --check NAME``);
- ``train_block``: a pytest fixture that trains a block a few steps through the real
  ``Trainer`` (:func:`~ganparts.testing.training.train_tiny` without pytest);
- :func:`record_attention` and :class:`AttentionRecording`: the attention maps a forward
  pass makes, by layer, for tests and pictures (from :mod:`ganparts.blocks.attention`).

``ganparts new-plugin NAME`` writes a plugin package whose tests use all of this.
"""

from __future__ import annotations

import importlib

# public name -> module that defines it; loaded on first use (PEP 562), so that importing a
# checker neither needs pytest nor loads the others.
_EXPORTS = {
    "CheckResult": "ganparts.testing.results",
    "ContractError": "ganparts.testing.results",
    "check_attention_block": "ganparts.testing.attention",
    "check_norm": "ganparts.testing.networks",
    "check_family": "ganparts.testing.networks",
    "check_loss": "ganparts.testing.losses",
    "check_penalty": "ganparts.testing.losses",
    "check_augment": "ganparts.testing.augment",
    "check_block": "ganparts.testing.plugin",
    "check_plugin": "ganparts.testing.plugin",
    "train_tiny": "ganparts.testing.training",
    "train_block": "ganparts.testing.pytest_plugin",
    "record_attention": "ganparts.blocks.attention",
    "AttentionRecording": "ganparts.blocks.attention",
    "AttentionMap": "ganparts.blocks.attention",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'ganparts.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
