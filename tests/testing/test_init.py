"""ganparts.testing's public names resolve, and importing the package needs neither torch nor pytest."""

import importlib
import subprocess
import sys

import pytest

import ganparts.testing


def test_every_public_name_resolves_to_its_defining_module():
    for name in ganparts.testing.__all__:
        assert getattr(ganparts.testing, name) is getattr(importlib.import_module(ganparts.testing._EXPORTS[name]), name)
    with pytest.raises(AttributeError, match="check_everything"):
        ganparts.testing.check_everything


def test_the_package_and_its_checkers_load_without_pytest():
    probe = (
        "import sys; sys.modules['pytest'] = None; import ganparts.testing as t; light = 'torch' not in sys.modules; "
        "t.check_norm; print(light, 'pytest' in sys.modules and sys.modules['pytest'] is None)"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == ["True", "True"], result.stderr
