"""The package's public API: every name in ``__all__`` resolves to the object its module defines."""

import importlib

import pytest

import ganparts


def test_every_public_name_resolves_to_its_defining_module():
    for name in ganparts.__all__:
        value = getattr(ganparts, name)
        if name != "__version__":
            assert value is getattr(importlib.import_module(ganparts._EXPORTS[name]), name)
    assert set(dir(ganparts)) >= set(ganparts.__all__)


def test_unknown_names_raise_attribute_error():
    with pytest.raises(AttributeError, match="not_a_thing"):
        ganparts.not_a_thing


def test_version_is_the_installed_distributions():
    from importlib.metadata import version

    assert ganparts.__version__ == version("ganparts")
