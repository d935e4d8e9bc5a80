"""The Compare page: results (with evaluation scores), spec differences, curves, samples side by side."""

import json
import shutil

from tests.app.conftest import captions


def test_sagan_against_its_baseline(app, runs, trained_run, trained_baseline):
    for run in (trained_run, trained_baseline):
        shutil.copytree(run, runs / run.name)
    report = {"step": 6, "generated": {"n": 100, "fid": 123.5, "kid_mean": 0.1, "is_mean": 1.5}, "held_out_floor": {"fid": 2.5}}
    (runs / "tiny-sagan" / "evaluation.json").write_text(json.dumps(report))  # as `ganparts eval` leaves it
    (runs / "tiny-sagan" / "eval.jsonl").write_text("".join(json.dumps({"step": s, "fid": f}) + "\n" for s, f in ((3, 200.0), (6, 123.5))))
    at = app("compare")
    assert sorted(at.multiselect(key="compare.runs").value) == ["tiny-dcgan", "tiny-sagan"]
    results, differences = (frame.value for frame in at.dataframe)
    assert set(results["run"]) == {"tiny-sagan", "tiny-dcgan"}
    sagan = results.set_index("run").loc["tiny-sagan"]
    assert (sagan["step"], sagan["fid"], sagan["kid_mean"], sagan["fid floor"]) == (6, 123.5, 0.1, 2.5)
    assert "FID during training" in "\n".join(c.value for c in at.caption)
    changed = set(differences.index)
    assert {"name", "model.generator.attention", "model.discriminator.attention"} <= changed
    assert "model.z_dim" not in changed
    assert sorted(captions(at)) == ["tiny-dcgan, step 6", "tiny-sagan, step 6"]


def test_with_one_run_it_asks_for_another(app, runs_with_trained):
    at = app("compare")
    assert "at least two runs" in at.info[0].value
    assert "The specs are identical." in [c.value for c in at.caption]
