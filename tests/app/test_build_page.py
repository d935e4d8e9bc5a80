"""The Build page turns widget choices into a spec that validates, and marks invalid choices."""

import yaml

from ganparts.spec.files import load_spec, spec_to_data
from ganparts.analysis.summary import network_tables
from ganparts.plugins import default_registry
from tests.conftest import SPECS

G = "spec0:model.generator[dcgan]"
D = "spec0:model.discriminator[dcgan]"


def built(at) -> dict:
    return at.session_state["build.spec"]


def texts(elements) -> str:
    return "\n".join(e.value for e in elements)


def test_starts_from_the_example_sagan_with_its_parameter_counts(app):
    at = app()
    assert at.title[0].value == "Build a GAN"
    spec = load_spec(SPECS / "sagan_mnist.yaml", registry=default_registry())
    assert built(at) == spec_to_data(spec)
    tables = network_tables(spec, registry=default_registry())
    shown = {m.label: m.value for m in at.metric}
    assert shown == {f"{net.title()} parameters": f"{sum(r['params'] for r in rows):,}" for net, rows in tables.items()}
    assert yaml.safe_load(at.code[0].value) == spec_to_data(spec)  # the live YAML preview


def test_widget_choices_become_a_valid_spec(app):
    at = app()
    at.number_input(key=f"{G}.width").set_value(16)
    at.button(key=f"{D}.attention#0.remove").click().run()  # D without attention
    at.button(key=f"{G}.attention.add").click().run()  # a second G attention block…
    at.selectbox(key=f"{G}.attention#1.kind").set_value("sagan_pooled").run()
    at.selectbox(key=f"{G}.attention#1[sagan_pooled].resolution").set_value(7)  # …at 7×7
    at.selectbox(key="spec0:loss.kind").set_value("wgan-gp").run()
    at.number_input(key="spec0:loss[wgan-gp].gp_weight").set_value(5.0)
    at.toggle(key=f"{D}.spectral_norm").set_value(False)
    at.number_input(key="spec0:train.steps").set_value(300).run()
    assert not at.exception and not at.error, texts(at.error)

    spec = load_spec(built(at), registry=default_registry())  # what Build hands to Train validates on its own
    assert spec.model.generator.width == 16
    assert [(a.kind, a.resolution) for a in spec.model.generator.attention] == [("sagan", 14), ("sagan_pooled", 7)]
    assert spec.model.discriminator.attention == [] and spec.model.discriminator.spectral_norm is False
    assert (spec.loss.kind, spec.loss.gp_weight, spec.train.steps) == ("wgan-gp", 5.0, 300)
    assert yaml.safe_load(at.code[0].value) == built(at)


def test_an_invalid_choice_is_marked_at_its_field(app):
    at = app()
    at.number_input(key=f"{G}.attention#0[sagan].heads").set_value(3).run()  # 8 query channels ∤ 3 heads
    assert not at.exception
    assert "multiples of heads (3)" in texts(at.error)
    assert not at.success and not at.metric  # no "Valid", no parameter counts for an invalid spec
    at.number_input(key=f"{G}.attention#0[sagan].heads").set_value(2)
    at.number_input(key="spec0:optim.g_lr").set_value(0.0).run()
    assert "`optim.g_lr`: Input should be greater than 0" in texts(at.error)
    assert "heads" not in texts(at.error)


def test_switching_the_example_resets_the_form(app):
    at = app()
    at.number_input(key=f"{G}.width").set_value(64).run()
    at.selectbox(key="build.example").set_value("dcgan_mnist.yaml").run()
    assert built(at) == spec_to_data(load_spec(SPECS / "dcgan_mnist.yaml", registry=default_registry()))
    assert not built(at)["model"]["generator"]["attention"]
    # New widgets (new keys): a browser would otherwise keep showing, and send back, width 64.
    assert at.number_input(key="spec1:model.generator[dcgan].width").value == 32
    assert not [w for w in at.number_input if w.key.startswith("spec0:")]
