"""Property-based fuzzing of the spec loader: whatever the input — bytes, text that looks
like YAML, arbitrary data, a valid spec with one part changed — nothing escapes but a
SpecError. Bounded and deterministic (derandomize) so the suite stays fast and repeatable."""

import copy
import math

import torch
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ganparts.errors import SpecError
from ganparts.plugins import default_registry
from ganparts.training.preflight import preflight
from ganparts.training.resources import ResourceError
from ganparts.spec.files import apply_overrides, load_spec, parse_spec_text, read_spec_data, spec_to_data, validate_spec
from tests.conftest import SPECS

FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
VALID = spec_to_data(load_spec(SPECS / "sagan_mnist.yaml", registry=default_registry()))
KEYS = ["name", "seed", "data", "source", "batch_size", "model", "z_dim", "generator", "discriminator", "kind", "width",
        "spectral_norm", "attention", "resolution", "heads", "key_ratio", "norm", "loss", "gp_weight", "penalties",
        "weight", "optim", "g_lr", "d_lr", "betas", "d_steps", "train", "steps", "ema_decay", "on_nonfinite", "<<"]
KINDS = ["dcgan", "sagan", "sagan_pooled", "hinge", "wgan-gp", "gp", "batch", "none", "mnist-5k", "os.system", "../x"]
TOKENS = KEYS + KINDS + [": ", "\n", "  ", "- ", "{", "}", "[", "]", ", ", "&a ", "*a", "!!python/object:os.system ", "!!binary ",
                         "'", '"', "#", "---\n", "? ", "|", ">", "0", "-1", "1e400", ".nan", ".inf", "~", "true", "14", "2024-01-01",
                         "\t", "\x00", "\ufeff", "é"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20), st.sampled_from(KINDS),
)
data = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=5),
    max_leaves=30,
)


def only_spec_errors(check):
    """Run ``check``; a SpecError is the one failure allowed."""
    try:
        check()
    except SpecError as err:
        assert str(err).strip() and "Traceback" not in str(err)


@FUZZ
@given(st.text(max_size=300))
def test_any_text(text):
    only_spec_errors(lambda: validate_spec(parse_spec_text(text), default_registry()))


@FUZZ
@given(st.lists(st.sampled_from(TOKENS), max_size=60).map("".join))
def test_text_that_looks_like_yaml(text):
    only_spec_errors(lambda: validate_spec(parse_spec_text(text), default_registry()))


@FUZZ
@given(st.binary(max_size=300), st.sampled_from(["spec.yaml", "spec.json"]))
def test_any_file_bytes(tmp_path_factory, content, name):
    path = tmp_path_factory.mktemp("fuzz") / name
    path.write_bytes(content)
    only_spec_errors(lambda: validate_spec(read_spec_data(path), default_registry()))


@FUZZ
@given(data)
def test_any_data(value):
    only_spec_errors(lambda: validate_spec(value if isinstance(value, dict) else {"model": value}, default_registry()))


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(KEYS), st.sampled_from(KEYS), st.text(max_size=12) | st.sampled_from(KINDS)), max_size=3))
def test_any_overrides(assignments):
    only_spec_errors(lambda: load_spec(VALID, [f"{a}.{b}={v}" for a, b, v in assignments], registry=default_registry()))


def paths(node, prefix=()):
    """Every path into a spec's data, as tuples of keys and list indices."""
    yield prefix
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        yield from paths(child, prefix + (key,))


ALL_PATHS = [p for p in paths(VALID) if p]


# Each valid example builds both networks on the meta device (~0.3 s), hence fewer examples.
@settings(FUZZ, max_examples=30)
@given(st.sampled_from(ALL_PATHS), data, st.sampled_from(["replace", "delete", "add"]))
def test_a_valid_spec_with_one_part_changed(path, value, how):
    """Validation, then the shapes-only build and estimate of whatever validates."""
    spec = copy.deepcopy(VALID)
    *parents, last = path
    node = spec
    for key in parents:
        node = node[key]
    if how == "delete":
        del node[last]
    elif how == "add" and isinstance(node, dict):
        node[f"{last}_extra"] = value
    else:
        node[last] = value

    def check():
        spec_ = validate_spec(spec, default_registry())
        try:  # what `validate` and `train` decide after validation
            estimate = preflight(spec_, registry=default_registry(), device=torch.device("cpu"))
        except ResourceError as err:  # a valid spec too big for this machine: refused as clearly
            assert "this spec needs" in str(err)
            return
        assert estimate.parameters > 0 and math.isfinite(estimate.total_bytes)

    only_spec_errors(check)


def test_yaml_dates_sets_and_binary_become_spec_errors():
    """Types plain YAML makes that JSON lacks (they used to break the --set deep copy)."""
    for text in ("name: 2024-01-01\nmodel: {}", "model: !!set {a, b}", "model: !!binary aGVsbG8="):
        only_spec_errors(lambda: load_spec(parse_spec_text(text), ["train.steps=3"], registry=default_registry()))
    assert apply_overrides(yaml.safe_load("a: 2024-01-01"), ["b=1"])["b"] == 1
