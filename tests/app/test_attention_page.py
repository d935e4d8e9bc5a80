"""The Attention page renders where a query pixel attends, for G and for D on a real digit."""

import shutil

from tests.app.conftest import captions


def test_renders_the_map_of_a_query_pixel(app, runs_with_trained):
    at = app("attention")
    assert "attn14: where pixel (14, 9) attends · step 6" in [c.value for c in at.caption]
    assert at.get("vega_lite_chart"), "the clickable picture is missing"
    assert captions(at) == ["attn14", "the image"]
    at.slider(key="attn.x").set_value(3)
    at.slider(key="attn.y").set_value(25).run()
    assert "attn14: where pixel (3, 25) attends · step 6" in [c.value for c in at.caption]
    assert len(at.get("vega_lite_chart")) == 2  # the picture and the gamma curve


def test_discriminator_on_a_real_digit(app, runs_with_trained):
    at = app("attention")
    at.radio(key="attn.network").set_value("D").run()
    assert at.radio(key="attn.image").value == "real"
    at.number_input(key="attn.digit").set_value(123).run()
    assert not at.exception
    assert "attn14: where pixel (14, 9) attends · step 6" in [c.value for c in at.caption]


def test_a_run_without_attention_says_so(app, runs, trained_baseline):
    shutil.copytree(trained_baseline, runs / trained_baseline.name)
    at = app("attention")
    assert "has no attention layers" in at.warning[0].value


def test_a_conditional_run_draws_the_chosen_digit(app, runs, trained_conditional):
    shutil.copytree(trained_conditional, runs / trained_conditional.name)
    at = app("attention")
    assert at.selectbox(key="attn.class").value == 0
    at.selectbox(key="attn.class").set_value(4).run()
    assert not at.exception
    assert "attn14: where pixel (14, 9) attends · step 6" in [c.value for c in at.caption]
    at.radio(key="attn.network").set_value("D").run()  # a real digit, judged as its own class
    at.number_input(key="attn.digit").set_value(123).run()
    assert not at.exception
    assert any(c.value.startswith("D judges it as a ") for c in at.caption)
