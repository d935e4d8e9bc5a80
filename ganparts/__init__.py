"""ganparts: interchangeable GAN components (SAGAN and baselines) built from spec files.

The public API, importable from the package itself::

    from ganparts import load_spec, Trainer, load_trained, generate

Names are resolved on first use (PEP 562), so ``import ganparts`` and the CLI's start-up
stay light; each name still lives in the module that defines it.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ganparts")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

# public name -> module that defines it
_EXPORTS = {
    "Registry": "ganparts.spec.registry",
    "RegistryError": "ganparts.spec.registry",
    "hookimpl": "ganparts.hookspecs",
    "default_registry": "ganparts.plugins",
    "plugin_reports": "ganparts.plugins",
    "Experiment": "ganparts.spec.experiment",
    "load_spec": "ganparts.spec.files",
    "validate_spec": "ganparts.spec.validation",
    "dump_spec": "ganparts.spec.files",
    "SpecError": "ganparts.errors",
    "build_generator": "ganparts.models",
    "build_discriminator": "ganparts.models",
    "load_images": "ganparts.data.sources",
    "Trainer": "ganparts.training.trainer",
    "load_checkpoint": "ganparts.runs.checkpoints",
    "latest_checkpoint": "ganparts.runs.checkpoints",
    "load_trained": "ganparts.analysis.inference",
    "generate": "ganparts.analysis.inference",
    "UserError": "ganparts.errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'ganparts' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
