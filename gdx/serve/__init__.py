"""The catalog service: a read-only CKAN-compatible API, DCAT-AP, downloads and the governor dashboard.

`gdx serve` runs `create_app()` (gdx/serve/app.py) with uvicorn. Everything it shows comes from the
contracts (metadata) and the dbt marts (numbers), read without ever taking the warehouse's write
lock (gdx/serve/data.py).
"""
