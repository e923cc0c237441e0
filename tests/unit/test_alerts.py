"""Operator alerts (`gdx.orchestration.alerts`): the structured log line, a hook module on
sys.path, and the JSON webhook against a real local HTTP server."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from gdx.orchestration import alerts
from gdx.orchestration.alerts import Alert


class _Receiver:
    """A real HTTP server on a free port recording each POST (path, headers, JSON body)."""

    def __init__(self, status: int = 200) -> None:
        received: list[dict[str, Any]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(
                    {"path": self.path, "type": self.headers["Content-Type"], "body": json.loads(body)}
                )
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/T0K3N"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A deployment's hook module `my_alert_hook` on sys.path: writes each alert it gets to a
    JSON-lines file (a fresh module per test: Python caches imported modules)."""
    out = tmp_path / "alerts.jsonl"
    monkeypatch.delitem(sys.modules, "my_alert_hook", raising=False)
    (tmp_path / "my_alert_hook.py").write_text(
        textwrap.dedent(f"""
            import json
            from dataclasses import asdict

            def notify(alert):
                with open({str(out)!r}, "a") as fh:
                    fh.write(json.dumps({{"type": type(alert).__name__, **asdict(alert)}}) + "\\n")

            def broken(alert):
                raise RuntimeError("LINE is down")
        """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return out


ALERT = Alert(
    kind=alerts.TASK_FAILED, dag_id="ingest_pcd", task_id="ingest__air_quality_hourly",
    run_id="manual__2026-12-03", try_number=3, message="LockTimeout: another ingestion holds it",
    log_url="http://localhost:8080/dags/ingest_pcd/runs/manual__2026-12-03/tasks/ingest__air_quality_hourly",
)  # fmt: skip


def test_webhook_gets_the_alert_as_json(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="gdx.alerts")
    with _Receiver() as receiver:
        alerts.send(ALERT, env={alerts.WEBHOOK_ENV: receiver.url})
    assert len(receiver.received) == 1
    got = receiver.received[0]
    assert got["path"] == "/hooks/T0K3N" and got["type"].startswith("application/json")
    assert got["body"] == {
        "kind": "task_failed", "dag_id": "ingest_pcd", "task_id": "ingest__air_quality_hourly",
        "run_id": "manual__2026-12-03", "try_number": 3, "message": "LockTimeout: another ingestion holds it",
        "log_url": ALERT.log_url,
    }  # fmt: skip
    # and always one structured log line with the same fields
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("gdx alert ")]
    assert len(lines) == 1 and json.loads(lines[0].removeprefix("gdx alert ")) == got["body"]


def test_a_failing_webhook_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    with _Receiver(status=500) as receiver:
        alerts.send(ALERT, env={alerts.WEBHOOK_ENV: receiver.url})
    assert len(receiver.received) == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "HTTP Error 500" in errors[0]
    assert "T0K3N" not in errors[0]  # the URL's secret path is not logged
    receiver_port = receiver.server.server_port
    caplog.clear()
    alerts.send(
        ALERT, env={alerts.WEBHOOK_ENV: f"http://127.0.0.1:{receiver_port}/gone"}
    )  # nothing listens now
    assert any("alert webhook" in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)


def test_hook_module_gets_the_alert(hook_module: Path) -> None:
    alerts.send(ALERT, env={alerts.HOOK_ENV: "my_alert_hook:notify"})
    (line,) = hook_module.read_text().splitlines()
    assert json.loads(line) == {"type": "Alert", **ALERT.as_dict()}


def test_hook_and_webhook_together_and_a_broken_hook_does_not_stop_the_webhook(
    hook_module: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with _Receiver() as receiver:
        alerts.send(ALERT, env={alerts.HOOK_ENV: "my_alert_hook:broken", alerts.WEBHOOK_ENV: receiver.url})
    assert len(receiver.received) == 1
    assert any("LINE is down" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)
    with pytest.raises(ValueError, match="package.module:function"):
        alerts.load_hook("my_alert_hook.notify")


def test_alert_kinds_are_closed_and_long_messages_are_cut(hook_module: Path) -> None:
    with pytest.raises(ValueError, match="unknown alert kind"):
        Alert(kind="exploded")
    alerts.send(
        Alert(kind=alerts.DAG_FAILED, message="x" * 10_000), env={alerts.HOOK_ENV: "my_alert_hook:notify"}
    )
    got = json.loads(hook_module.read_text().splitlines()[0])
    assert len(got["message"]) == alerts.MAX_MESSAGE and got["message"].endswith("…")


def test_task_callbacks_build_the_alert_from_the_context(
    hook_module: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(alerts.HOOK_ENV, "my_alert_hook:notify")
    ti = SimpleNamespace(dag_id="ingest_dopa", task_id="ingest__population", run_id="r1", try_number=2,
                         log_url="http://airflow/log")  # fmt: skip
    alerts.on_task_retry({"ti": ti, "exception": TimeoutError("broker unreachable")})
    alerts.on_task_failure({"ti": ti, "exception": ValueError("bad")})
    alerts.on_dag_failure(
        {"dag_run": SimpleNamespace(dag_id="ingest_dopa", run_id="r1"), "reason": "task_failure"}
    )
    got = [json.loads(x) for x in hook_module.read_text().splitlines()]
    assert [(g["kind"], g["task_id"], g["try_number"], g["message"]) for g in got] == [
        ("task_retry", "ingest__population", 2, "TimeoutError: broker unreachable"),
        ("task_failed", "ingest__population", 2, "ValueError: bad"),
        ("dag_failed", None, None, "task_failure"),
    ]
    assert got[2]["dag_id"] == "ingest_dopa" and got[2]["run_id"] == "r1"


def test_deadline_callback_with_airflows_context(hook_module: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(alerts.HOOK_ENV, "my_alert_hook:notify")
    # what Deadline.handle_miss passes: the DAGRunResponse as JSON and the deadline
    context = {
        "dag_run": {"dag_id": "gdx_dispatch", "run_id": "scheduled__2026-12-03T14:00", "state": "running"},
        "deadline": {"id": "0193", "deadline_time": "2026-12-03T14:10:00+00:00"},
    }
    asyncio.run(alerts.on_deadline_missed(context=context, minutes=10))
    (got,) = [json.loads(x) for x in hook_module.read_text().splitlines()]
    assert got["kind"] == "deadline_missed" and got["dag_id"] == "gdx_dispatch"
    assert got["run_id"] == "scheduled__2026-12-03T14:00"
    assert "10 min after it was queued" in got["message"] and "2026-12-03T14:10:00" in got["message"]
