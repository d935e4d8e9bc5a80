"""A spec ganparts recorded before a field existed reads as what it trained (spec.recorded)."""

from ganparts.plugins import default_registry
from ganparts.spec.files import load_spec, spec_to_data

REGISTRY = default_registry()


def plain_generator_spec() -> dict:
    return {"data": {"source": "mnist-5k"}, "model": {"generator": {"kind": "dcgan"}, "discriminator": {"kind": "dcgan"}}}


def test_a_new_spec_gets_the_current_default():
    assert load_spec(plain_generator_spec(), registry=REGISTRY).model.generator.stem_bias is False


def test_a_record_that_lacks_the_field_gets_the_value_of_its_time():
    spec = load_spec(plain_generator_spec(), registry=REGISTRY, recorded=True)
    assert spec.model.generator.stem_bias is True
    assert spec.model.discriminator == load_spec(plain_generator_spec(), registry=REGISTRY).model.discriminator  # nothing else moves
    assert spec_to_data(spec)["model"]["generator"]["stem_bias"] is True  # and it is recorded from now on


def test_a_record_that_sets_the_field_keeps_its_value():
    data = plain_generator_spec()
    data["model"]["generator"]["stem_bias"] = False
    assert load_spec(data, registry=REGISTRY, recorded=True).model.generator.stem_bias is False
    assert load_spec(plain_generator_spec(), ["model.generator.stem_bias=false"], registry=REGISTRY, recorded=True).model.generator.stem_bias is False


def test_every_record_written_now_reads_back_unchanged():
    spec = load_spec(plain_generator_spec(), registry=REGISTRY)
    assert load_spec(spec_to_data(spec), registry=REGISTRY, recorded=True) == spec
