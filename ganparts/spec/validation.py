"""Validating a spec's plain data into an :class:`~ganparts.spec.experiment.Experiment`.

Every failure is a :class:`SpecError` whose lines name the field path and, where
known, the allowed values — what the CLI prints before exiting with status 2.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import ValidationError

from ganparts.errors import SpecError
from ganparts.spec.checks import Problems, check_experiment
from ganparts.spec.experiment import Experiment, spec_model
from ganparts.spec.messages import at_most, describe_error, join_path, shorten
from ganparts.spec.registry import Registry


def validate_spec(data: dict[str, Any], registry: Registry) -> Experiment:
    """Validate plain data against the registry's spec model, raising :class:`SpecError`.

    Beyond the fields' own types: every number must be finite, and the checks across
    fields in :mod:`ganparts.spec.checks` must hold.
    """
    model = spec_model(registry)
    problems = _non_finite_numbers(data)
    if not problems:
        try:
            spec = model.model_validate(data)
        except ValidationError as err:
            problems = [describe_error(e, data, model) for e in err.errors()]
        except RecursionError:
            problems = [("", "nested too deeply to be a spec")]
        else:
            problems = check_experiment(spec)
    if problems:
        raise SpecError(at_most(problems))
    return spec


def _non_finite_numbers(data: Any) -> Problems:
    """``.nan`` and ``.inf`` pass ``gt=0``-style bounds, but no spec field means them."""
    problems, stack = [], [("", data)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            problems.append((path, f"{node} is not a finite number"))
        elif isinstance(node, dict):
            stack.extend((join_path(path, shorten(str(k))), v) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((join_path(path, str(i)), v) for i, v in enumerate(node))
    return sorted(problems)
