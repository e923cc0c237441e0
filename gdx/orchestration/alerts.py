"""Operator alerts: one structured log line always, plus the hook and/or webhook a deployment sets.

* `GDX_ALERT_HOOK=package.module:function` — called with an `Alert`; point it at email, LINE
  Notify, Slack… (the function is the deployment's; any exception it raises is logged, not raised).
* `GDX_ALERT_WEBHOOK_URL=https://…` — the alert as JSON, POSTed with a 5 s timeout (a failed POST
  is logged, never raised: an alert must not fail or retry the task it reports on).

An alert names what happened and where (DAG, task, run, try, log URL) and never carries records:
messages are built from counts, ids and offsets only, so personal data cannot leak into a chat.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

log = logging.getLogger("gdx.alerts")

TASK_FAILED = "task_failed"
TASK_RETRY = "task_retry"
DAG_FAILED = "dag_failed"
DEADLINE_MISSED = "deadline_missed"
OFFSETS_DISAGREE = "offsets_disagree"
KINDS = frozenset({TASK_FAILED, TASK_RETRY, DAG_FAILED, DEADLINE_MISSED, OFFSETS_DISAGREE})

HOOK_ENV = "GDX_ALERT_HOOK"
WEBHOOK_ENV = "GDX_ALERT_WEBHOOK_URL"
WEBHOOK_TIMEOUT_S = 5.0
MAX_MESSAGE = 4000
"""Chat services cut long messages anyway; an exception's text is the useful head."""


@dataclass(frozen=True)
class Alert:
    kind: str
    dag_id: str | None = None
    task_id: str | None = None
    run_id: str | None = None
    try_number: int | None = None
    message: str = ""
    log_url: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown alert kind {self.kind!r} (one of {sorted(KINDS)})")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_hook(spec: str) -> Callable[[Alert], Any]:
    """`package.module:function` → the function (ValueError with the reason if it is not one)."""
    module_name, sep, attr = spec.strip().partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"{HOOK_ENV}={spec!r}: expected package.module:function")
    target: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise ValueError(f"{HOOK_ENV}={spec!r} is not callable")
    return target


def post_webhook(url: str, alert: Alert, timeout_s: float = WEBHOOK_TIMEOUT_S) -> int:
    """POST the alert as JSON; returns the HTTP status (raises on a network error or non-2xx)."""
    body = json.dumps(alert.as_dict(), ensure_ascii=False).encode()
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json; charset=utf-8"}
    )
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        return int(response.status)


def send(alert: Alert, env: Mapping[str, str] | None = None) -> None:
    """Log the alert, then deliver it to the configured hook and webhook; never raises."""
    env = os.environ if env is None else env
    alert = alert if len(alert.message) <= MAX_MESSAGE else _truncated(alert)
    log.warning("gdx alert %s", json.dumps(alert.as_dict(), ensure_ascii=False, sort_keys=True))
    hook = env.get(HOOK_ENV, "").strip()
    if hook:
        try:
            load_hook(hook)(alert)
        except Exception as exc:  # the operator's hook failing must not fail the task it reports on
            log.error("alert hook %s failed: %s: %s", hook, type(exc).__name__, exc)
    url = env.get(WEBHOOK_ENV, "").strip()
    if url:
        try:
            post_webhook(url, alert)
        except Exception as exc:
            log.error("alert webhook %s failed: %s: %s", _without_credentials(url), type(exc).__name__, exc)


def _truncated(alert: Alert) -> Alert:
    from dataclasses import replace

    return replace(alert, message=alert.message[: MAX_MESSAGE - 1] + "…")


def _without_credentials(url: str) -> str:
    """Webhook URLs often embed a token (Slack, LINE): log scheme and host only."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}{':' + str(parts.port) if parts.port else ''}/…"


# -- Airflow callbacks ------------------------------------------------------------------------------
def alert_from_context(kind: str, context: Mapping[str, Any], message: str | None = None) -> Alert:
    ti = context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    exc = context.get("exception")
    reason = message if message is not None else (context.get("reason") or "")
    if exc is not None and message is None:
        reason = f"{type(exc).__name__}: {exc}"
    dag_id = getattr(ti, "dag_id", None) or getattr(dag_run, "dag_id", None)
    if dag_id is None and context.get("dag") is not None:
        dag_id = getattr(context["dag"], "dag_id", None)
    log_url = None
    if ti is not None:
        try:
            log_url = ti.log_url
        except Exception:  # a URL needs the api-server's base URL configured; the alert goes without
            log_url = None
    try_number = getattr(ti, "try_number", None)
    return Alert(
        kind=kind,
        dag_id=dag_id,
        task_id=getattr(ti, "task_id", None),
        run_id=getattr(ti, "run_id", None) or getattr(dag_run, "run_id", None),
        try_number=int(try_number) if try_number is not None else None,
        message=str(reason),
        log_url=log_url,
    )


_ALERTED = "_gdx_alerted"


def mark_alerted(exc: BaseException) -> None:
    """The code raising `exc` already sent a more specific alert (e.g. `offsets_disagree`)."""
    setattr(exc, _ALERTED, True)


def on_task_failure(context: Mapping[str, Any]) -> None:
    """`on_failure_callback` of every GDX task (runs in the task's process after its last try)."""
    if getattr(context.get("exception"), _ALERTED, False):
        return
    send(alert_from_context(TASK_FAILED, context))


def on_task_retry(context: Mapping[str, Any]) -> None:
    """`on_retry_callback`: a try failed and another one is scheduled."""
    send(alert_from_context(TASK_RETRY, context))


def on_dag_failure(context: Mapping[str, Any]) -> None:
    """DAG-level `on_failure_callback` (runs in the dag-processor): the run as a whole failed."""
    send(alert_from_context(DAG_FAILED, context))


async def on_deadline_missed(context: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
    """A `DeadlineAlert`'s `AsyncCallback` (runs in the triggerer): a run was not done in time.

    Airflow passes `context = {"dag_run": <DAGRunResponse as JSON>, "deadline": {...}}` plus the
    callback's kwargs (`minutes`, the deadline's interval, set by `common.deadline_alert`)."""
    import asyncio

    run = dict((context or {}).get("dag_run") or {})
    deadline = dict((context or {}).get("deadline") or {})
    minutes = kwargs.get("minutes")
    # DAGRunResponse serialises the run id as `dag_run_id` (`run_id` is only its validation alias)
    run_id = run.get("dag_run_id") or run.get("run_id")
    message = (
        f"run {run_id} of {run.get('dag_id')} not finished "
        f"{f'{minutes} min ' if minutes is not None else ''}after it was queued "
        f"(deadline {deadline.get('deadline_time')}, state {run.get('state')})"
    )
    alert = Alert(kind=DEADLINE_MISSED, dag_id=run.get("dag_id"), run_id=run_id, message=message)
    await asyncio.to_thread(send, alert)  # the webhook blocks up to 5 s: not on the triggerer's loop
