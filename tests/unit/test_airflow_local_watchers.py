"""`AirflowClient.unpause` of a DAG scheduled on a watched Asset asks for a re-parse of its file and
waits until the watcher is registered, because Airflow registers watchers only while parsing an
unpaused DAG. Against a small fake of the `/api/v2` routes that keeps that rule: a watcher appears
only once a parse request was made while the DAG was unpaused."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from gdx.airflow_local import WATCHED_ASSET_URIS, AirflowClient, AirflowLocalError, _asset_uris

ACTIVITY = "gdx://kafka/activity"
INCOMING = "gdx://incoming/dga"


class FakeAirflow:
    """Two DAGs: `gdx_dispatch` on cron-or-activity (watched), `ingest_dga` on an incoming Asset."""

    def __init__(self, parses: bool = True) -> None:
        self.parses = parses  # False: a dag-processor that never honours the parse request
        self.paused = {"gdx_dispatch": True, "ingest_dga": True}
        self.watchers: list[dict[str, Any]] = []
        self.calls: list[tuple[str, str]] = []
        self.expressions = {
            "gdx_dispatch": {"any": [{"asset": {"uri": ACTIVITY, "name": ACTIVITY, "id": 1}}]},
            "ingest_dga": {"asset": {"uri": INCOMING, "name": INCOMING, "id": 2}},
        }

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        self.calls.append((method, path))
        if path == "/auth/token":
            return 201, {"access_token": "t"}
        parts = path.removeprefix("/api/v2/").split("/")
        if parts[0] == "dags" and method == "PATCH":
            self.paused[parts[1]] = body["is_paused"]
            return 200, {"dag_id": parts[1], "is_paused": body["is_paused"]}
        if parts[0] == "dags" and parts[-1] == "details":
            dag_id = parts[1]
            return 200, {
                "dag_id": dag_id,
                "is_paused": self.paused[dag_id],
                "file_token": f"token-{dag_id}",
                "asset_expression": self.expressions[dag_id],
            }
        if parts[0] == "parseDagFile" and method == "PUT":
            # Airflow's rule (add_asset_trigger_references): watchers only for unpaused DAGs
            if self.parses and parts[1] == "token-gdx_dispatch" and not self.paused["gdx_dispatch"]:
                self.watchers = [{"name": "gdx_kafka_activity", "trigger_id": 7}]
            return 201, None
        if parts[0] == "assets":
            dag_ids = query.get("dag_ids", [""])[0]
            assets = [
                {"uri": ACTIVITY, "watchers": self.watchers, "scheduled_dags": [{"dag_id": "gdx_dispatch"}]}
            ]
            return 200, {"assets": [a for a in assets if dag_ids == "gdx_dispatch"], "total_entries": 1}
        if parts[0] == "importErrors":
            return 200, {"import_errors": [], "total_entries": 0}
        return 404, {"detail": path}


@pytest.fixture
def fake() -> Iterator[tuple[FakeAirflow, str]]:
    state = FakeAirflow()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            url = urlparse(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            status, answer = state.handle(self.command, url.path, parse_qs(url.query), body)
            data = json.dumps(answer).encode() if answer is not None else b""
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_PUT = _serve

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_unpause_of_a_watched_dag_reparses_its_file_and_waits_for_the_watcher(
    fake: tuple[FakeAirflow, str],
) -> None:
    state, url = fake
    client = AirflowClient(url, "admin", "pw")
    client.unpause("gdx_dispatch", watcher_timeout=5)
    calls = [c for c in state.calls if c[0] in ("PATCH", "PUT")]
    # the re-parse comes after the unpause (a parse of a still-paused DAG registers nothing)
    assert calls == [
        ("PATCH", "/api/v2/dags/gdx_dispatch"),
        ("PUT", "/api/v2/parseDagFile/token-gdx_dispatch"),
    ]
    assert state.watchers and not state.paused["gdx_dispatch"]


def test_unpause_of_a_dag_without_watched_assets_requests_no_parse(fake: tuple[FakeAirflow, str]) -> None:
    state, url = fake
    AirflowClient(url, "admin", "pw").unpause("ingest_dga", watcher_timeout=5)
    assert not [c for c in state.calls if c[0] == "PUT"]
    assert not state.paused["ingest_dga"] and not state.watchers


def test_a_watcher_that_never_registers_is_a_clear_error(fake: tuple[FakeAirflow, str]) -> None:
    state, url = fake
    state.parses = False
    with pytest.raises(AirflowLocalError, match=r"no watcher is registered for \['gdx://kafka/activity'\]"):
        AirflowClient(url, "admin", "pw").unpause("gdx_dispatch", watcher_timeout=1.5)


def test_ensure_watchers_refuses_a_paused_dag(fake: tuple[FakeAirflow, str]) -> None:
    _, url = fake
    with pytest.raises(AirflowLocalError, match="is paused"):
        AirflowClient(url, "admin", "pw").ensure_watchers("gdx_dispatch", timeout=1)


def test_asset_uris_walks_nested_expressions() -> None:
    expression = {
        "any": [
            {"asset": {"uri": "a://1", "name": "1"}},
            {"all": [{"asset": {"uri": "a://2"}}, {"alias": {"name": "x"}}, {"asset_ref": {"name": "y"}}]},
        ]
    }
    assert _asset_uris(expression) == {"a://1", "a://2"}
    assert _asset_uris(None) == set()


def test_the_watched_uris_are_the_dispatchers_activity_asset() -> None:
    from gdx.orchestration.dispatch_dag import ACTIVITY_URI

    assert ACTIVITY_URI in WATCHED_ASSET_URIS
