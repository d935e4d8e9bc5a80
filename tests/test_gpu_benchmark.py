"""benchmarks/gpu.py, the GPU table, runs its code on the CPU too (its numbers need a GPU)."""

from benchmarks import gpu


def test_the_table_measures_reports_failures_and_keeps_to_its_budget(monkeypatch):
    table = gpu.run(device="cpu", quick=True, batches=[8], options=["eager"])
    (row,) = table["rows"]
    assert row[:2] == [8, "eager"] and row[4] > 0 and abs(row[5] - 8 * row[4]) < 1e-9 and float(row[6]) > 0

    monkeypatch.setitem(gpu.OPTIONS, "eager", ["train.precision=fp17"])  # a variant that cannot be built
    rows = gpu.run(device="cpu", quick=True, batches=[8], options=["eager"])["rows"]
    assert rows[0][2].startswith("failed: ") and rows[0][3:] == [""] * 5

    skipped = gpu.run(device="cpu", quick=True, batches=[8], options=["eager"], budget_s=-1)["rows"]
    assert skipped == [[8, "eager", "not measured (time budget)", "", "", "", "", ""]]
