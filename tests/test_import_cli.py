"""`flask import organisations FILE [--dry-run] [--json]` as DESIGN 5 promises, `flask import
contacts`, `flask import resume JOB_ID`, and the progress bar (issue 6 points 4 and 5)."""

from __future__ import annotations

import io
import json
import re

import sqlalchemy as sa

from import_support import count, sample
from sdd_crm.extensions import db
from sdd_crm.imports.cli import ProgressBar
from sdd_crm.jobs.models import Job
from sdd_crm.organisations.models import Organisation


def _write(tmp_path, name, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_json_summary_is_the_last_line(runner, tmp_path):
    path = _write(tmp_path, "kvk_export_nl.csv", sample("kvk_export_nl.csv"))
    result = runner.invoke(args=["import", "organisations", path, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert {k: summary[k] for k in ("created", "updated", "unchanged", "held_for_review",
                                    "rejected")} == {
        "created": 31, "updated": 0, "unchanged": 0, "held_for_review": 0, "rejected": 2}
    assert summary["errors"] == [
        {"row": 32, "column": "Naam", "message": "De naam ontbreekt."},
        {"row": 33, "column": "KVK nummer", "message": "Een KvK-nummer bestaat uit 8 cijfers."}]
    assert (summary["dry_run"], summary["row_numbers"]) == (False, "spreadsheet")
    job = db.session.get(Job, summary["job_id"])
    assert (job.kind, job.status, job.params["filename"]) == (
        "import_organisations", "finished", "kvk_export_nl.csv")
    again = runner.invoke(args=["import", "organisations", path, "--json"])
    summary = json.loads(again.output.strip().splitlines()[-1])
    assert (summary["created"], summary["updated"], summary["unchanged"]) == (0, 0, 31)


def test_dry_run_prints_the_same_summary_and_saves_nothing(runner, tmp_path):
    path = _write(tmp_path, "en.csv", sample("organisations_en.csv"))
    result = runner.invoke(args=["import", "organisations", path, "--dry-run", "--json"])
    assert result.exit_code == 0
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert (summary["created"], summary["dry_run"]) == (20, True)
    assert count(Organisation) == 0


def test_human_output_in_dutch_with_spreadsheet_row_numbers(runner, tmp_path):
    path = _write(tmp_path, "kvk.csv", sample("kvk_export_nl.csv"))
    result = runner.invoke(args=["import", "organisations", path])
    assert result.exit_code == 0
    # What the terminal shows, less the log's own lines (sdd_crm.logs, on standard error).
    lines = [line for line in result.output.splitlines()
             if not re.match(r"\d{4}-\d\d-\d\dT[\d:.]+Z (DEBUG|INFO) ", line)]
    assert lines[0].startswith("Import gestart: job ")
    assert lines[0].endswith("(33 rijen, kolommen automatisch herkend).")
    assert lines[1:] == [
        "Klaar: 31 nieuw, 0 bijgewerkt, 0 ongewijzigd, 0 ter beoordeling, 2 afgewezen.",
        "vestigingen: 30 nieuw, 0 bijgewerkt.",
        "Afgewezen (rijnummers zoals in het spreadsheet, kopregel = rij 1):",
        "  rij 32, kolom Naam: De naam ontbreekt.",
        "  rij 33, kolom KVK nummer: Een KvK-nummer bestaat uit 8 cijfers.",
        # Issue 14: the three Breda rows are imported without a municipality, and say so; the
        # rows in Gorinchem (a neighbour, outside the seven) keep it, and say so too.
        "Aangepast en wel geïmporteerd (rijnummers zoals in het spreadsheet):",
        *[message for n in (10, 20, 30) for message in (
            f"  rij {n}, kolom Woonplaats: Gorinchem ligt buiten de regio Drechtsteden "
            "(buurgemeente); de gemeente is ingevuld.",
            f"  rij {n + 1}, kolom Woonplaats: Breda ligt buiten de regio Drechtsteden; de "
            "gemeente is leeg gelaten.")],
    ]


def test_contacts_from_the_command_line(runner, tmp_path):
    runner.invoke(args=["import", "organisations", _write(tmp_path, "a.csv", sample("kvk_export_nl.csv"))])
    result = runner.invoke(args=["import", "contacts", _write(tmp_path, "b.csv",
                                                                sample("contacts_outlook.csv")),
                                 "--json"])
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert (summary["created"], summary["rejected"]) == (11, 1)


def test_an_unreadable_file_or_mapping_exits_2_with_a_dutch_message(runner, tmp_path):
    result = runner.invoke(args=["import", "organisations", _write(tmp_path, "leeg.csv", b""),
                                 "--json"])
    assert result.exit_code == 2
    assert json.loads(result.output.strip().splitlines()[-1]) == {  # DESIGN 5's keys (issue 10)
        "created": 0, "updated": 0, "unchanged": 0, "held_for_review": 0, "rejected": 0,
        "errors": [{"row": None, "column": "", "message": "Het bestand is leeg."}],
        "warnings": [], "error": "Het bestand is leeg."}
    result = runner.invoke(args=["import", "organisations",
                                 _write(tmp_path, "x.csv", b"Plaats;Postcode\r\nDordrecht;3311AB\r\n")])
    assert result.exit_code == 2
    assert result.output.strip() == ("Koppel een kolom aan: Naam. Herkende kolommen: "
                                     "Plaats → Plaats, Postcode → Postcode.")
    result = runner.invoke(args=["import", "organisations", str(tmp_path / "bestaat-niet.csv")])
    assert result.exit_code == 2 and "Kan " in result.output and "niet lezen" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0


def test_async_only_enqueues_and_resume_runs_it(runner, tmp_path, monkeypatch):
    from sdd_crm.imports import jobs

    enqueued = []
    monkeypatch.setattr(jobs.import_task, "enqueue", lambda *a, **k: enqueued.append((a, k)))
    path = _write(tmp_path, "en.csv", sample("organisations_en.csv"))
    result = runner.invoke(args=["import", "organisations", path, "--async", "--json"])
    queued = json.loads(result.output.strip().splitlines()[-1])
    assert queued["status"] == "queued"
    assert enqueued == [((queued["job_id"],), {"job_id": queued["job_id"], "job_timeout": 3600})]
    assert count(Organisation) == 0
    result = runner.invoke(args=["import", "resume", queued["job_id"], "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["created"] == 20
    result = runner.invoke(args=["import", "resume", queued["job_id"]])
    assert result.output.splitlines()[0] == "Deze import was al klaar; er is niets opnieuw gedaan."
    assert count(Organisation) == 20
    assert runner.invoke(args=["import", "resume", "geen-job"]).exit_code == 2


def test_a_failed_import_can_be_resumed_to_the_same_end_state(runner, tmp_path, monkeypatch):
    from sdd_crm.imports import apply

    real = apply.insert_tuples
    calls = []

    def crash_on_establishments(table, columns, rows):
        calls.append(table.name)
        if table.name == "establishment" and calls.count("establishment") == 1:
            raise ConnectionError("verbinding weg")
        return real(table, columns, rows)

    monkeypatch.setattr(apply, "insert_tuples", crash_on_establishments)
    path = _write(tmp_path, "kvk.csv", sample("kvk_export_nl.csv"))
    result = runner.invoke(args=["import", "organisations", path, "--json"])
    assert result.exit_code == 1
    error = json.loads(result.output.strip().splitlines()[-1])["error"]
    assert error == ("De import is mislukt (ConnectionError); er is niets opgeslagen. Probeer het "
                     "opnieuw of vraag de beheerder het logboek te bekijken.")
    job = db.session.scalars(sa.select(Job)).one()
    assert job.status == "failed" and count(Organisation) == 0
    result = runner.invoke(args=["import", "resume", job.id, "--json"])
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert (summary["created"], summary["establishments"], count(Organisation)) == (31, 30, 31)


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_the_progress_bar_draws_on_a_terminal_only():
    tty, pipe = _Terminal(), io.StringIO()
    for stream in (tty, pipe):
        bar = ProgressBar(stream, width=10)
        bar(0, "Bestand lezen")
        bar(50, "Opslaan")
        bar(50, "Opslaan")  # unchanged: not drawn again
        bar(100, "Klaar")
    assert pipe.getvalue() == ""
    assert tty.getvalue().split("\r")[1:] == [
        "[----------]   0%  Bestand lezen" + " " * 47,
        "[#####-----]  50%  Opslaan" + " " * 53,
        "[##########] 100%  Klaar" + " " * 55 + "\n",
    ]
