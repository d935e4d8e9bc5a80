"""``ganparts sample`` and ``attention`` with ``--class``: a chosen digit, or one row per digit."""

import numpy as np
import pytest

from ganparts.cli import main
from tests.conftest import SPECS, tiny_overrides


def sets(**extra):
    return [arg for kv in tiny_overrides(**extra) for arg in ("--set", kv)]


@pytest.fixture(scope="module")
def conditional_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "cond"
    assert main(["train", str(SPECS / "sagan_cond_mnist.yaml"), "--out", str(run), "--no-progress", *sets(**{"train.steps": "2"})]) == 0
    return run


@pytest.fixture(scope="module")
def unconditional_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "plain"
    overrides = sets(**{"train.steps": "1", "model.generator.attention": "[]", "model.discriminator.attention": "[]"})
    assert main(["train", str(SPECS / "dcgan_mnist.yaml"), "--out", str(run), "--no-progress", *overrides]) == 0
    return run


def test_one_class_and_the_labels_in_the_npz(conditional_run, tmp_path, capsys):
    out = tmp_path / "sevens.npz"
    assert main(["sample", str(conditional_run), "--class", "7", "--n", "5", "--out", str(out)]) == 0
    saved = np.load(out)
    assert saved["images"].shape == (5, 28, 28) and saved["labels"].tolist() == [7] * 5
    assert "5 images of class 7" in capsys.readouterr().out


def test_all_classes_make_one_row_per_digit_with_the_same_latents_per_column(conditional_run, tmp_path):
    out = tmp_path / "all.npz"
    assert main(["sample", str(conditional_run), "--class", "all", "--n", "3", "--out", str(out)]) == 0
    labels = np.load(out)["labels"]
    assert labels.tolist() == [c for c in range(10) for _ in range(3)]
    assert main(["sample", str(conditional_run), "--class", "all", "--n", "3", "--out", str(tmp_path / "all.png")]) == 0
    from PIL import Image

    assert Image.open(tmp_path / "all.png").size == (3 * 30 + 2, 10 * 30 + 2)  # 3 columns, 10 rows of 28 px + padding


def test_without_a_class_a_conditional_run_draws_every_class_in_turn(conditional_run, tmp_path):
    out = tmp_path / "mixed.npz"
    assert main(["sample", str(conditional_run), "--n", "12", "--out", str(out)]) == 0
    assert np.load(out)["labels"].tolist() == [*range(10), 0, 1]


def test_an_unconditional_npz_has_no_labels(unconditional_run, tmp_path):
    out = tmp_path / "plain.npz"
    assert main(["sample", str(unconditional_run), "--n", "2", "--out", str(out)]) == 0
    assert set(np.load(out).files) == {"images", "step"}


@pytest.mark.parametrize("command", ["sample", "attention"])
def test_attention_and_sample_accept_a_class(command, conditional_run, tmp_path, capsys):
    out = tmp_path / "x.png"
    assert main([command, str(conditional_run), "--class", "3", "--n", "2", "--out", str(out)]) == 0
    assert out.stat().st_size > 0
    assert main(["attention", str(conditional_run), "--network", "D", "--class", "3", "--n", "2", "--out", str(out)]) == 0


@pytest.mark.parametrize(
    "run, args, message",
    [
        ("conditional_run", ["--class", "12"], "--class 12: {run} draws classes 0 to 9 (model.num_classes: 10)"),
        ("conditional_run", ["--class", "seven"], "--class 'seven': expected a class number"),
        ("unconditional_run", ["--class", "3"], "--class 3: {run} is unconditional (model.num_classes: 0)"),
    ],
)
@pytest.mark.parametrize("command", ["sample", "attention"])
def test_a_bad_class_is_one_line_with_status_2(command, run, args, message, request, tmp_path, capsys):
    path = request.getfixturevalue(run)
    assert main([command, str(path), *args, "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ganparts: error: " + message.format(run=path)), err
    assert not (tmp_path / "x.png").exists()
