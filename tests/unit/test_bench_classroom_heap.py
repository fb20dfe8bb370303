"""The classroom soak reads each worker's heap report from the server log."""

from __future__ import annotations

from pathlib import Path

from bench.classroom import heap_reports


def test_heap_reports_are_summarised_per_worker_from_the_first_minute_on(tmp_path: Path):
    start = 1_800_000_000.0
    lines = ["[INFO] Booting worker with pid: 11"]
    for i in range(30):
        t = start + 10 * i
        # worker 11 holds 90 MiB once the model is loaded at 60 s; worker 12 grows by 1 MiB a sample (a leak)
        lines.append(f"[INFO] heap pid=11 t={t:.1f} in_use_mb={15.0 if i < 6 else 90.0} free_mb=5.0 "
                     f"mmapped_mb=1148.9 sqlite_mb=2.9")
        lines.append(f"[INFO] heap pid=12 t={t:.1f} in_use_mb={90.0 + i} free_mb=1.0 mmapped_mb=1148.9 sqlite_mb=3")
    log = tmp_path / "serve.log"
    log.write_text("\n".join(lines) + "\n")

    found = heap_reports(log, start, settle=60.0)

    assert set(found) == {"worker 11", "worker 12"}
    steady, leaking = found["worker 11"]["in_use"], found["worker 12"]["in_use"]
    assert steady["start"] == 90.0 and steady["growth_per_10_min"] == 0.0
    assert leaking["start"] == 96.0 and leaking["growth_per_10_min"] == 60.0
    assert found["worker 11"]["mmapped"]["end"] == 1148.9
