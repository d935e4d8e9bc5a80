import json
import os

import pytest

from ganparts.runs.listing import (
    RunNameError, check_run_name, curves, list_runs, new_run_path, read_evaluation, run_path, spec_differences,
    suggest_run_name,
)


@pytest.mark.parametrize("name", ["x", "sagan-mnist", "run_2.b", "A" * 64])
def test_good_run_names(name):
    assert check_run_name(name) == name


@pytest.mark.parametrize("name", ["", "../x", "a/b", "/abs", ".hidden", "-x", "a..b", "a b", "A" * 65, "ä", "x\n"])
def test_bad_run_names(name):
    with pytest.raises(RunNameError, match="use 1-64 letters"):
        check_run_name(name)


def test_a_run_stays_inside_the_runs_folder(tmp_path):
    root = tmp_path / "runs"
    root.mkdir()
    assert run_path(root, "a") == root.resolve() / "a"
    (root / "link").symlink_to(tmp_path)  # a name that is fine but points outside
    with pytest.raises(RunNameError, match="outside the runs folder"):
        run_path(root, "link")


def test_a_new_run_never_takes_an_existing_name(tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(RunNameError, match="is taken"):
        new_run_path(tmp_path, "taken")
    assert new_run_path(tmp_path, "free") == tmp_path.resolve() / "free"
    assert suggest_run_name(tmp_path, "taken") == "taken-2"
    (tmp_path / "taken-2").mkdir()
    assert suggest_run_name(tmp_path, "taken") == "taken-3"
    assert suggest_run_name(tmp_path, "my spec/../x") == "my-spec-.-x"  # whatever a spec is named, a valid name
    assert suggest_run_name(tmp_path, "../..") == "run"


def test_listing_reads_progress_and_orders_by_recency(tmp_path):
    for name, age, progress in (("old", 100, {"state": "finished", "step": 5, "steps": 5}), ("new", 0, None)):
        run = tmp_path / name
        (run / "checkpoints" / "step_00000005").mkdir(parents=True)
        (run / "spec.yaml").write_text("name: x\n")
        if progress:
            (run / "progress.json").write_text(json.dumps(progress))
        for path in run.iterdir():
            os.utime(path, (path.stat().st_mtime - age,) * 2)
    (tmp_path / "not-a-run").mkdir()
    listed = list_runs(tmp_path)
    assert [(r.name, r.state, r.step, r.checkpoints) for r in listed] == [("new", "new", 0, 1), ("old", "finished", 5, 1)]


def test_spec_differences_lists_only_what_differs():
    a = {"name": "a", "model": {"z_dim": 8, "generator": {"attention": [{"kind": "sagan", "resolution": 14}]}}}
    b = {"name": "b", "model": {"z_dim": 8, "generator": {"attention": []}}}
    assert spec_differences({"A": a, "B": b}) == {
        "model.generator.attention": {"A": None, "B": []},
        "model.generator.attention.0.kind": {"A": "sagan", "B": None},
        "model.generator.attention.0.resolution": {"A": 14, "B": None},
        "name": {"A": "a", "B": "b"},
    }


def test_curves_are_smoothed_and_thinned():
    rows = [{"step": s, "loss": float(s % 2)} for s in range(1, 1001)]  # 0, 1, 0, 1 …
    columns = curves(rows, ["loss", "absent"], points=100)
    assert len(columns["step"]) == 100 and columns["step"][-1] == 1000
    assert all(abs(v - 0.5) < 1e-9 for v in columns["loss"][1:])  # a window over both values
    assert all(v != v for v in columns["absent"])  # NaN where a row lacks the key
    assert curves(rows[:10], ["loss"])["loss"] == [r["loss"] for r in rows[:10]]  # short runs: every step, raw
    assert curves([], ["loss"]) == {"step": [], "loss": []}


def test_evaluation_scores(tmp_path):
    assert read_evaluation(tmp_path) == {}
    report = {"step": 40, "generated": {"n": 500, "fid": 31.5, "is_mean": 7.5}, "held_out_floor": {"n": 1000, "fid": 1.25}}
    (tmp_path / "evaluation.json").write_text(json.dumps(report))
    assert read_evaluation(tmp_path) == {"eval step": 40, "fid": 31.5, "is_mean": 7.5, "fid floor": 1.25}
    (tmp_path / "evaluation.json").write_text('{"step": 4')  # torn
    assert read_evaluation(tmp_path) == {}
