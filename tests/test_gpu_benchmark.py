"""benchmarks/gpu.py and many_runs.py, the GPU tables, run their code on the CPU too (their numbers need a GPU)."""

from benchmarks import gpu, many_runs
from ganparts.runs.threads import share


def test_the_table_measures_reports_failures_and_keeps_to_its_budget(monkeypatch):
    table = gpu.run(device="cpu", quick=True, batches=[8], options=["eager"])
    (row,) = table["rows"]
    assert row[:2] == [8, "eager"] and row[4] > 0 and abs(row[5] - 8 * row[4]) < 1e-9 and float(row[6]) > 0

    monkeypatch.setitem(gpu.OPTIONS, "eager", ["train.precision=fp17"])  # a variant that cannot be built
    rows = gpu.run(device="cpu", quick=True, batches=[8], options=["eager"])["rows"]
    assert rows[0][2].startswith("failed: ") and rows[0][3:] == [""] * 5

    skipped = gpu.run(device="cpu", quick=True, batches=[8], options=["eager"], budget_s=-1)["rows"]
    assert skipped == [[8, "eager", "not measured (time budget)", "", "", "", "", ""]]


def test_many_runs_trains_k_processes_at_once_and_adds_their_speeds():
    table = many_runs.run(device="cpu", jobs=(1, 2), steps=4)
    assert [row[:2] for row in table["rows"]] == [[1, share(1)], [2, share(2)]]
    assert len(table["raw"][2]) == 2 and all(rate > 0 for rates in table["raw"].values() for rate in rates)
    assert float(table["rows"][1][3]) == round(sum(table["raw"][2]), 1) and table["rows"][0][4] == "1.00"
