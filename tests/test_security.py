"""Nothing untrusted executes: no unpickling anywhere, YAML through the safe loader only,
and no spec (or file named in one) can make ganparts import a module."""

import ast
import pickle
import sys

import pytest

from ganparts.data.sources import DataError, load_images
from ganparts.errors import SpecError
from ganparts.spec.files import load_spec
from ganparts.plugins import default_registry
from tests.conftest import ROOT, SPECS

SOURCES = sorted(p for folder in ("ganparts", "apps", "plugins", "benchmarks") for p in (ROOT / folder).rglob("*.py"))
# Modules that import by name; each name comes from a constant or an installed entry point, never from input.
DYNAMIC_IMPORTS_ALLOWED = {  # the two __init__: public API tables loaded on first use
    "ganparts/__init__.py", "ganparts/testing/__init__.py", "ganparts/cli/__init__.py", "ganparts/plugins.py",
}


def calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield ast.unparse(node.func), node


def keyword(node, name):
    return next((ast.unparse(k.value) for k in node.keywords if k.arg == name), None)


def test_there_are_sources_to_scan():
    assert len(SOURCES) > 30


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_code_executing_loader_is_used(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    where = str(path.relative_to(ROOT))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            assert not {"pickle", "marshal", "shelve", "dill", "cloudpickle", "joblib"} & {n.split(".")[0] for n in names}, where
    for func, node in calls(tree):
        assert func not in ("eval", "exec", "compile", "yaml.unsafe_load", "yaml.full_load", "yaml.load_all"), f"{where}: {func}"
        if func == "torch.load":
            assert keyword(node, "weights_only") == "True", f"{where}: torch.load without weights_only=True"
        if func in ("np.load", "numpy.load"):
            assert keyword(node, "allow_pickle") in (None, "False"), f"{where}: np.load(allow_pickle=True)"
        if func == "yaml.load":
            assert keyword(node, "Loader") == "_GuardedLoader", f"{where}: yaml.load with another loader"
        if func in ("importlib.import_module", "__import__", "importlib.util.spec_from_file_location"):
            assert where in DYNAMIC_IMPORTS_ALLOWED or where.startswith("benchmarks/"), f"{where}: imports a module by name"


@pytest.fixture
def booby_trapped_module(tmp_path, monkeypatch):
    """An importable module whose import writes a marker file."""
    marker = tmp_path / "imported"
    (tmp_path / "ganparts_trap.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path / "ganparts_trap.py", marker
    sys.modules.pop("ganparts_trap", None)


@pytest.mark.parametrize(
    "override",
    [
        "loss.kind={name}",
        "loss.kind={name}:build",
        "loss.kind={path}",
        "model.generator.kind={name}",
        "model.generator.attention=[{{kind: {path}, resolution: 14}}]",
        "penalties=[{{kind: {name}}}]",
        "data.source={name}",
        "model.generator.norm.kind={name}",
    ],
)
def test_a_spec_cannot_name_a_module_or_file_to_import(override, booby_trapped_module):
    path, marker = booby_trapped_module
    with pytest.raises(SpecError, match="is not one of"):
        load_spec(SPECS / "sagan_mnist.yaml", [override.format(name="ganparts_trap", path=path)], registry=default_registry())
    assert not marker.exists() and "ganparts_trap" not in sys.modules


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_a_pickle_planted_in_the_mnist_data_root_is_not_executed(tmp_path):
    """torchvision reads old processed MNIST files with torch.load(weights_only=True): a pickle there fails to load instead of running."""
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    processed = tmp_path / "MNIST" / "processed"
    processed.mkdir(parents=True)
    for name in ("training.pt", "test.pt"):
        (processed / name).write_bytes(pickle.dumps(Exploit()))
    with pytest.raises(DataError, match="full MNIST could not be loaded from"):
        load_images("mnist", root=tmp_path, download=False, registry=default_registry())
    assert load_images("auto", root=tmp_path, download=False, registry=default_registry()).source == "mnist-5k"  # auto falls back, saying so
    assert not marker.exists()
