"""A small client of Airflow 3's REST API (`/api/v2`): asset events, DAG runs.

Authentication: a bearer JWT — `GDX_AIRFLOW_API_TOKEN` if set (a managed Airflow hands one out),
else one from the simple auth manager's `POST /auth/token` with `GDX_AIRFLOW_API_USER` (default
`gdx-ingest`, role op) and `GDX_AIRFLOW_API_PASSWORD` or, on the Airflow machine itself, the
password `gdx.orchestration.airflow_env` generated into the state folder. A token that expires
mid-session is fetched again once.

Used by `gdx ingest` (`notify_bronze_landed`): when `GDX_AIRFLOW_API_URL` is set and rows landed,
the dataset's bronze Asset `gdx://bronze/<agency>/<dataset>` gets an event, with counts and batch
ids in `extra` only (never data), so the dbt DAG builds what the CLI landed. Endpoints as in
airflow/api_fastapi/core_api/routes/public/{assets,dag_run}.py of Airflow 3.3.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gdx.orchestration.registry import bronze_asset_uri

log = logging.getLogger(__name__)

URL_ENV = "GDX_AIRFLOW_API_URL"
TOKEN_ENV = "GDX_AIRFLOW_API_TOKEN"
USER_ENV = "GDX_AIRFLOW_API_USER"
PASSWORD_ENV = "GDX_AIRFLOW_API_PASSWORD"
TIMEOUT_S = 10.0


class AirflowApiError(RuntimeError):
    """The API refused or could not be reached; the message has the status and Airflow's detail."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class AirflowApi:
    base_url: str
    token: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout_s: float = TIMEOUT_S

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self._fetched = False

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, state_dir: Path | None = None
    ) -> AirflowApi | None:
        """The client `GDX_AIRFLOW_API_URL` points at, or None when it is not set."""
        env = os.environ if env is None else env
        url = env.get(URL_ENV, "").strip()
        if not url:
            return None
        from gdx.orchestration.airflow_env import API_USER

        token = env.get(TOKEN_ENV, "").strip() or None
        user = env.get(USER_ENV, "").strip() or API_USER
        password = env.get(PASSWORD_ENV) or None
        if token is None and password is None:
            password = _local_password(user, state_dir)
        return cls(url, token=token, username=user, password=password)

    # -- transport --------------------------------------------------------------------------------
    def _send(self, method: str, url: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                raw = response.read()
                return int(response.status), json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                detail = json.loads(raw).get("detail", raw.decode(errors="replace"))
            except (ValueError, AttributeError):
                detail = raw.decode(errors="replace")
            return int(exc.code), {"detail": detail}
        except (urllib.error.URLError, OSError) as exc:
            raise AirflowApiError(f"{method} {url}: {getattr(exc, 'reason', exc)}") from None

    def _token(self, refresh: bool = False) -> str:
        if self.token and not (refresh and self._fetched):
            return self.token
        if not self.username or not self.password:
            raise AirflowApiError(
                f"no API token: set {TOKEN_ENV}, or {USER_ENV}/{PASSWORD_ENV} for the simple auth manager"
            )
        status, got = self._send(
            "POST", f"{self.base_url}/auth/token", {"username": self.username, "password": self.password}
        )
        if status not in (200, 201) or not got or "access_token" not in got:
            raise AirflowApiError(
                f"POST /auth/token as {self.username}: {status} {(got or {}).get('detail')}", status
            )
        self.token, self._fetched = got["access_token"], True
        return self.token

    def request(
        self, method: str, path: str, body: Any = None, query: Mapping[str, Any] | None = None
    ) -> Any:
        """`method /api/v2<path>` → the decoded JSON; AirflowApiError unless 2xx."""
        url = f"{self.base_url}/api/v2{path}"
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        status, got = self._send(method, url, body, self._token())
        if status == 401 and self._fetched:  # expired: one fresh token
            status, got = self._send(method, url, body, self._token(refresh=True))
        if not 200 <= status < 300:
            raise AirflowApiError(f"{method} {path}: {status} {(got or {}).get('detail')}", status)
        return got

    # -- the calls GDX makes ----------------------------------------------------------------------
    def find_asset(self, uri: str) -> dict[str, Any] | None:
        """The asset whose URI is exactly `uri` (the API's `uri_pattern` is a substring search)."""
        got = self.request("GET", "/assets", query={"uri_pattern": uri, "limit": 100})
        return next((a for a in got.get("assets", []) if a.get("uri") == uri), None)

    def post_asset_event(self, uri: str, extra: Mapping[str, Any]) -> dict[str, Any]:
        """An event on the asset `uri` (which a DAG must declare, else Airflow does not know it)."""
        asset = self.find_asset(uri)
        if asset is None:
            raise AirflowApiError(f"Airflow knows no asset {uri} (no parsed DAG declares it)", 404)
        return self.request("POST", "/assets/events", {"asset_id": asset["id"], "extra": dict(extra)})

    def trigger_dag(
        self, dag_id: str, conf: Mapping[str, Any] | None = None, run_id: str | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"logical_date": None, "conf": dict(conf or {})}
        if run_id:
            body["dag_run_id"] = run_id
        return self.request("POST", f"/dags/{urllib.parse.quote(dag_id, safe='')}/dagRuns", body)

    def get_dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        dag = urllib.parse.quote(dag_id, safe="")
        return self.request("GET", f"/dags/{dag}/dagRuns/{urllib.parse.quote(run_id, safe='')}")


def _local_password(user: str, state_dir: Path | None) -> str | None:
    from gdx.orchestration.airflow_env import passwords_file

    if state_dir is None:
        from gdx.settings import Settings

        state_dir = Settings.from_env().state_dir
    try:
        return json.loads(passwords_file(state_dir).read_text()).get(user)
    except (OSError, ValueError):
        return None


def notify_bronze_landed(summary: Any, env: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """After `gdx ingest` landed rows: the bronze Asset event, when `GDX_AIRFLOW_API_URL` is set.

    Returns the event (None when not configured or nothing landed). A failure is a warning: the
    rows are landed and committed either way, and the dbt DAG's plan also picks up ledger entries
    newer than its last build, so a lost event delays the build, it never loses the rows."""
    if not summary.rows_landed:
        return None
    api = AirflowApi.from_env(env)
    if api is None:
        return None
    agency, _, dataset = summary.contract_id.partition(".")
    uri = bronze_asset_uri(agency, dataset)
    extra = {
        "contract_id": summary.contract_id,
        "rows_landed": summary.rows_landed,
        "rows_quarantined": summary.rows_quarantined,
        "batch_ids": [b.batch_id for b in summary.batches],
    }
    try:
        event = api.post_asset_event(uri, extra)
    except AirflowApiError as exc:
        log.warning(
            "%s: landed, but the Airflow asset event %s was not posted: %s", summary.contract_id, uri, exc
        )
        return None
    log.info("%s: posted asset event %s (id %s)", summary.contract_id, uri, event.get("id"))
    return event
