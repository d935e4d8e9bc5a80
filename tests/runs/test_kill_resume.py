"""The fast version of benchmarks/kill_resume.py: three SIGKILLs (after progress, inside a
checkpoint write, during start-up), and the run still resumes to the same weights, bit for
bit, as a run never interrupted."""

import importlib.util
import sys

from tests.conftest import ROOT

_spec = importlib.util.spec_from_file_location("kill_resume", ROOT / "benchmarks" / "kill_resume.py")
kill_resume = sys.modules.setdefault("kill_resume", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(kill_resume)


def test_a_run_killed_at_random_moments_always_resumes_exactly(tmp_path):
    report = kill_resume.run_trials(3, seed=1, steps=40, work=tmp_path)
    assert not report.problems, report.problems
    assert report.final_ok
    killed = [t for t in report.trials if not t.exited_before_kill]
    assert len(killed) == 3 and killed[-1].newest_after < 40  # every trial was a real kill, mid-run
    assert report.trials[1].strategy == "in-write" and report.trials[1].newest_after is not None
