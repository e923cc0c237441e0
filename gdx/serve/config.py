"""Settings of the catalog service, resolved from environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from gdx.settings import Settings

MAX_BODY_BYTES = 64 * 1024
"""Largest API request body accepted; the actions take a handful of short parameters."""

ROWS_MAX = 1000
"""package_search `rows` cap, as CKAN's `ckan.search.rows_max` default."""


@dataclass(frozen=True)
class ServeSettings:
    """How and what `gdx serve` serves; build with `ServeSettings.from_env()`."""

    host: str = "127.0.0.1"
    """GDX_SERVE_HOST: interface to listen on (loopback by default: nothing is exposed by accident)."""

    port: int = 8000
    """GDX_SERVE_PORT: TCP port."""

    warehouse: Path = field(default_factory=lambda: Settings().warehouse)
    """GDX_WAREHOUSE: the DuckDB file dbt builds; the marts' Parquet exports sit in `exports/` beside it."""

    contracts_dir: Path = field(default_factory=lambda: Settings().contracts_dir)
    """GDX_CONTRACTS_DIR: the contracts, source of every dataset's catalog metadata."""

    lake_root: str = field(default_factory=lambda: Settings().lake_root)
    """GDX_LAKE_ROOT: bronze Parquet, the last-resort source of public downloads."""

    export_dir: Path | None = None
    """GDX_EXPORT_DIR: where dbt exports the marts as Parquet; unset = `exports/` beside the warehouse."""

    base_url: str | None = None
    """GDX_SERVE_BASE_URL: public URL of the service (behind a proxy). Unset = the request's own URL;
    set it in production so that the absolute URLs of the API and DCAT never depend on a Host header."""

    site_title: str = "GDX One Data"

    state_dir: Path = field(default_factory=lambda: Settings().state_dir)
    """GDX_STATE_DIR: local state; the API token store defaults to `auth/api_tokens.json` in it."""

    api_tokens_file: Path | None = None
    """GDX_API_TOKENS_FILE: the API token store (hashes only); unset = `<state>/auth/api_tokens.json`."""

    @property
    def exports_dir(self) -> Path:
        return self.export_dir or self.warehouse.parent / "exports"

    @property
    def tokens_file(self) -> Path:
        return self.api_tokens_file or self.state_dir / "auth" / "api_tokens.json"

    def base_settings(self) -> Settings:
        """The platform settings these serve settings stand for (the audit log is found from them)."""
        return replace(
            Settings.from_env(),
            state_dir=self.state_dir,
            contracts_dir=self.contracts_dir,
            lake_root=self.lake_root,
            warehouse=self.warehouse,
        )

    @classmethod
    def from_env(cls) -> ServeSettings:
        base = Settings.from_env()
        port_text = os.environ.get("GDX_SERVE_PORT") or "8000"
        try:
            port = int(port_text)
        except ValueError:
            raise ValueError(f"GDX_SERVE_PORT={port_text!r} is not a port number") from None
        return cls(
            host=os.environ.get("GDX_SERVE_HOST") or "127.0.0.1",
            port=port,
            warehouse=base.warehouse,
            contracts_dir=base.contracts_dir,
            lake_root=base.lake_root,
            export_dir=Path(os.environ["GDX_EXPORT_DIR"]).expanduser()
            if os.environ.get("GDX_EXPORT_DIR")
            else None,
            base_url=(os.environ.get("GDX_SERVE_BASE_URL") or "").rstrip("/") or None,
            state_dir=base.state_dir,
            api_tokens_file=Path(os.environ["GDX_API_TOKENS_FILE"]).expanduser()
            if os.environ.get("GDX_API_TOKENS_FILE")
            else None,
        )
