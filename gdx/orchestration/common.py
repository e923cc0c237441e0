"""Defaults every GDX DAG shares, so the DAG-integrity test has one thing to check."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

OWNER = "gdx-data-engineering"


def default_args(retries: int = 2) -> dict[str, Any]:
    return {"owner": OWNER, "retries": retries, "retry_delay": timedelta(minutes=1)}
