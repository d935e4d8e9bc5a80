"""The Samples page: a grid for a seed, an interpolation between two seeds, PNG downloads."""

from tests.app.conftest import captions


def test_without_runs_it_points_to_the_train_page(app):
    at = app("samples")
    assert "No trained runs" in at.info[0].value


def test_grid_and_interpolation_of_a_trained_run(app, runs_with_trained):
    at = app("samples")
    assert at.selectbox(key="samples.run").value == "tiny-sagan"
    assert at.selectbox(key="samples.step").value == 6
    at.number_input(key="samples.seed").set_value(3)
    at.slider(key="samples.n").set_value(9)
    at.number_input(key="samples.seed_b").set_value(7)
    at.slider(key="samples.frames").set_value(5).run()
    assert not at.exception
    assert captions(at) == [
        "9 digits, seed 3, step 6",
        "Spherical interpolation in latent space from seed 0 to seed 7",
    ]
    downloads = [b.proto.label for b in at.get("download_button")]
    assert downloads == ["Download PNG", "Download PNG"]


def test_a_conditional_run_gets_a_digit_picker(app, runs, trained_conditional):
    import shutil

    shutil.copytree(trained_conditional, runs / trained_conditional.name)
    at = app("samples")
    picker = at.selectbox(key="samples.class")
    assert picker.value == "all" and picker.options == ["every digit in turn", *map(str, range(10))]
    at.slider(key="samples.n").set_value(10).run()
    assert captions(at)[0] == "10 digits, seed 0, step 6, every digit in turn"
    picker.set_value(7).run()
    assert not at.exception
    assert captions(at)[0] == "10 digits, seed 0, step 6, digit 7"


def test_an_unconditional_run_has_no_digit_picker(app, runs_with_trained):
    at = app("samples")
    assert not [s for s in at.selectbox if s.key == "samples.class"]
