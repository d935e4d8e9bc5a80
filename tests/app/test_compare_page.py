"""The Compare page: results (with evaluation scores), spec differences, curves, samples side by side."""

import json
import shutil

from tests.app.conftest import captions
from tests.conftest import run_cli


def test_sagan_against_its_baseline(app, runs, trained_run, trained_baseline):
    for run in (trained_run, trained_baseline):
        shutil.copytree(run, runs / run.name)
    evaluated = run_cli("eval", runs / "tiny-sagan", "--n", "100", "--no-progress")  # the real evaluation.json
    assert evaluated.returncode == 0, evaluated.stderr
    report = json.loads((runs / "tiny-sagan" / "evaluation.json").read_text())
    (runs / "tiny-sagan" / "eval.jsonl").write_text("".join(json.dumps({"step": s, "fid": f}) + "\n" for s, f in ((3, 200.0), (6, 123.5))))
    at = app("compare")
    assert sorted(at.multiselect(key="compare.runs").value) == ["tiny-dcgan", "tiny-sagan"]
    results, differences = (frame.value for frame in at.dataframe)
    assert set(results["run"]) == {"tiny-sagan", "tiny-dcgan"}
    sagan = results.set_index("run").loc["tiny-sagan"]
    generated = report["generated"]
    assert (sagan["step"], sagan["fid"], sagan["kid_mean"], sagan["fid floor"]) == (
        report["step"], generated["fid"], generated["kid_mean"], report["held_out_floor"]["fid"]
    )
    assert sagan["step"] == 6 and sagan["fid"] > sagan["fid floor"] > 0  # an untrained-ish G is far from real digits
    assert "FID during training" in "\n".join(c.value for c in at.caption)
    changed = set(differences.index)
    assert {"name", "model.generator.attention", "model.discriminator.attention"} <= changed
    assert "model.z_dim" not in changed
    assert sorted(captions(at)) == ["tiny-dcgan, step 6", "tiny-sagan, step 6"]


def test_with_one_run_it_asks_for_another(app, runs_with_trained):
    at = app("compare")
    assert "at least two runs" in at.info[0].value
    assert "The specs are identical." in [c.value for c in at.caption]
