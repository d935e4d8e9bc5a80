"""The Train page starts a run in the background, shows its progress and samples, stops and resumes it."""

import pytest

from ganparts.runs import jobs
from ganparts.spec.files import load_spec, spec_to_data
from ganparts.plugins import default_registry
from tests.app.conftest import APP, captions
from tests.conftest import SPECS, tiny_overrides


def by_label(widgets, label):
    return next(w for w in widgets if w.label == label)


@pytest.fixture
def train_page(app):
    """The Train page holding a tiny SAGAN handed over from the Build page."""

    def open_page(**overrides):
        from streamlit.testing.v1 import AppTest

        at = AppTest.from_file(str(APP), default_timeout=60)
        at.session_state["build.spec"] = spec_to_data(load_spec(SPECS / "sagan_mnist.yaml", tiny_overrides(**overrides), registry=default_registry()))
        at.session_state["train.source"] = "build"  # as the Build page's "Train this spec" button does
        at.switch_page("app_pages/train.py").run()
        assert not at.exception, at.exception
        return at

    return open_page


def start(at, name):
    by_label(at.text_input, "Run name").set_value(name)
    at.button(key="train.start").click().run()
    assert not at.exception, at.exception


def test_a_tiny_run_completes_and_shows_its_samples(train_page, runs):
    at = train_page()
    assert "No runs yet." in [c.value for c in at.caption]
    start(at, "tiny")
    status = jobs.wait(runs / "tiny", timeout=120)
    assert status.state == "finished", status.message
    at.run()
    assert any(":green-badge[finished]" in m.value for m in at.markdown)
    assert at.get("progress")[0].proto.value == 100
    assert "Samples at step 6 (EMA generator, fixed noise)" in captions(at)
    assert (runs / "tiny" / "samples" / "step_00000006.png").is_file()
    # The name field now suggests a fresh name: starting again must not reuse "tiny".
    assert by_label(at.text_input, "Run name").value == "sagan-mnist"


def test_stop_saves_a_checkpoint_and_resume_continues(train_page, runs):
    at = train_page(**{"train.steps": "100000", "train.log_every": "1"})
    start(at, "long")
    for _ in range(600):  # wait until it trains (the process takes a few seconds to start)
        if jobs.job_status(runs / "long").progress.get("step", 0) >= 2:
            break
        jobs.wait(runs / "long", timeout=0.2)
    at.run()
    at.button(key="train.stop").click().run()
    status = jobs.wait(runs / "long", timeout=60)
    assert status.state == "stopped"
    stopped_at = status.progress["step"]
    assert (runs / "long" / "checkpoints" / f"step_{stopped_at:08d}").is_dir()

    at.run()
    at.number_input(key="train.resume_steps").set_value(stopped_at + 3)
    at.button(key="train.resume").click().run()
    status = jobs.wait(runs / "long", timeout=120)
    assert (status.state, status.progress["step"]) == ("finished", stopped_at + 3)


@pytest.mark.parametrize("name, message", [("../escape", "run name '../escape'"), ("taken", "is taken")])
def test_a_bad_or_taken_run_name_is_refused(train_page, runs, name, message):
    (runs / "taken").mkdir()
    at = train_page()
    start(at, name)
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert sorted(p.name for p in runs.parent.iterdir()) == ["runs"] and [p.name for p in runs.iterdir()] == ["taken"]
