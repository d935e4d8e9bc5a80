"""The ``train_block`` pytest fixture, for plugin authors' tests.

Installed with ganparts as the pytest plugin ``ganparts`` (entry point group ``pytest11``), so
it is there in any test run of an environment with ganparts; a ``conftest.py`` can also import
it (``from ganparts.testing import train_block``). This module imports nothing heavy until a
test asks for the fixture: every pytest run in the environment loads it.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def train_block(tmp_path):
    """Train a registered block a few steps through the real ``Trainer``, at tiny width::

        def test_trains(train_block):
            trained = train_block("attention", "axial", steps=3)
            assert trained.trainer.step == 3

    Called as ``train_block(kind, block, *, steps=3, registry=None, family="dcgan")``: ``block``
    is the registered name or its spec as data; the run is written under the test's
    ``tmp_path``. It fails the test when a logged loss is not finite or a network's weights
    did not move; it returns a :class:`ganparts.testing.training.TrainedBlock` (``spec``,
    ``trainer``, ``rows``).
    """
    from ganparts.testing.training import train_tiny

    runs = iter(range(1_000_000))

    def train(kind, block, **kwargs):
        return train_tiny(kind, block, run_dir=tmp_path / f"run-{next(runs)}", **kwargs)

    return train
