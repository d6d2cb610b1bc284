"""`make bench` itself: at a tiny size it must build the data, time every case as both users,
find the raw SQL valid, and write RESULTS.md by itself — keeping the load-test section."""

from __future__ import annotations

import re

import pytest

from benchmarks import pages, run


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench")
    out = folder / "RESULTS.md"
    out.write_text("old table\n<!-- load:start -->\nload figures kept\n<!-- load:end -->\n",
                   encoding="utf-8")
    run.main(["--organisations", "300", "--interactions", "1500", "--repeat", "2",
              "--sqlite-only", "--no-bulk", "--data-dir", str(folder), "--out", str(out)])
    return out.read_text(encoding="utf-8")


def _rows(text: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.strip("|").split("|")]
            for line in text.splitlines() if line.startswith("| ") and "---" not in line]


def test_every_case_is_timed_as_both_users_with_its_raw_sql(results):
    rows = [r for r in _rows(results) if r[0] != "Request"]
    timed = {(r[0], r[1]) for r in rows}
    for case in pages.CASES:
        for user, _label in run.USERS:
            assert (case.label, user) in timed
    for row in rows:
        _label, _user, _kind, p50, p95, statements, sql_ms, raw_ms = row[:8]
        assert re.fullmatch(r"\d+\.\d", p50) and re.fullmatch(r"\d+\.\d", p95), row
        assert int(statements) > 0, row
        assert re.fullmatch(r"\d+\.\d", raw_ms), row  # the raw SQL ran on this database
        assert re.fullmatch(r"\d+\.\d", sql_ms), row


def test_results_describe_the_machine_and_data_and_keep_the_load_section(results):
    assert "- Machine: " in results and "cores" in results
    assert "SQLite 3." in results
    assert "organisation 300" in results and "interaction 1,500" in results
    assert "Built by `flask seed synthetic` in" in results
    assert "old table" not in results
    assert results.count("<!-- load:start -->") == 1
    assert "load figures kept" in results
    assert "## Targets missed" in results


def test_a_miss_is_listed_with_its_reason():
    timing = run.Timing(pages.CASES[0], "regionaal", "/organisations/", 200, p50=80.0, p95=120.0,
                        statements=6, raw_p50=1.0, sql_p50=5.0)
    assert timing.misses() == ["p95 120 > 50 ms", "SQL/raw 5.0 > 3"]
    page = run.Timing(next(c for c in pages.CASES if c.kind == "page"), "regionaal", "/", 200,
                      p50=60.0, p95=90.0, statements=7, raw_p50=1.0, sql_p50=5.0)
    assert page.misses() == []  # pages: ≤ 100 ms, no ratio target
    assert run.Timing(pages.CASES[0], "regionaal", "/x", 500).misses() == ["HTTP 500"]
