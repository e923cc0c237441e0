"""The Starlette application: routes, shared state, security headers.

/                               governor dashboard: the five pilot provinces
/province/<TH-xx>               one province: KPIs, trends, data quality of their datasets
/catalog, /dataset/<name>       catalog browser and dataset pages
/api/3/action/<action>          CKAN Action API (also /api/action/<action>, as ckanapi calls it)
/catalog.jsonld                 the catalog as DCAT-AP JSON-LD
/dataset/<name>.jsonld          one dataset as DCAT-AP JSON-LD
/download/<name>.csv|.parquet   public datasets only; 403 for the others
/healthz                        liveness + whether the marts are readable
"""

from __future__ import annotations

import logging
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gdx.serve import ckan_api, dashboard, dcat, downloads
from gdx.serve.catalog import Catalog
from gdx.serve.config import ServeSettings
from gdx.serve.data import MARTS, MartStore

log = logging.getLogger(__name__)

_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; frame-ancestors 'none'"


class SecurityHeaders:
    """No scripts, no third-party content, no sniffing; the read-only API may be called from any origin.

    Plain ASGI (not BaseHTTPMiddleware) so that responses are passed through untouched.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("Content-Security-Policy", _CSP)
                if path.startswith("/api/") or path.endswith(".jsonld"):
                    headers.setdefault("Access-Control-Allow-Origin", "*")
            await send(message)

        await self.app(scope, receive, with_headers)


def _jsonld(data: object) -> Response:
    response = ckan_api.json_response(data)
    response.headers["content-type"] = "application/ld+json;charset=utf-8"
    return response


async def catalog_jsonld(request: Request) -> Response:
    root = ckan_api.base_url(request, request.app.state.settings.base_url)
    packages = await run_in_threadpool(request.app.state.catalog.packages, root)
    return _jsonld(dcat.catalog_document(packages, root, request.app.state.settings.site_title))


async def dataset_jsonld(request: Request) -> Response:
    root = ckan_api.base_url(request, request.app.state.settings.base_url)
    package = await run_in_threadpool(request.app.state.catalog.find, root, request.path_params["name"])
    if package is None:
        return _error(404, "Not Found Error", f"Not found: no dataset {request.path_params['name']!r}")
    return _jsonld(dcat.dataset_document(package, root))


def _error(status: int, kind: str, message: str) -> Response:
    return ckan_api.json_response({"success": False, "error": {"__type": kind, "message": message}}, status)


_FORMATS = {
    "csv": ("text/csv; charset=utf-8", downloads.to_csv),
    "parquet": ("application/vnd.apache.parquet", downloads.to_parquet),
}


async def download(request: Request) -> Response:
    filename = request.path_params["filename"]
    name, _, ext = filename.rpartition(".")
    if ext not in _FORMATS or not name:
        return _error(404, "Not Found Error", "Not found: downloads are /download/<dataset>.csv or .parquet")
    settings: ServeSettings = request.app.state.settings
    catalog: Catalog = request.app.state.catalog
    root = ckan_api.base_url(request, settings.base_url)
    package = await run_in_threadpool(catalog.find, root, name)
    if package is None:
        return _error(404, "Not Found Error", f"Not found: no dataset {name!r}")
    contract = catalog.contract_for(package)
    if contract.access_level != "public":
        return _error(
            403,
            "Authorization Error",
            f"Access denied: {package['name']} is not public data; it has no downloads",
        )
    media_type, render = _FORMATS[ext]

    def build() -> bytes:
        table = downloads.load_public_table(contract, settings.lake_root, settings.contracts_dir.parent)
        return render(table)

    body = await run_in_threadpool(build)
    return Response(
        body,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{package["name"]}.{ext}"',
            "Cache-Control": "no-cache",
        },
    )


async def healthz(request: Request) -> Response:
    store: MartStore = request.app.state.catalog.marts
    return ckan_api.json_response({"ok": True, "marts": {m: store.source(m)[0] for m in MARTS}})


async def not_found(request: Request, exc: Exception) -> Response:
    if request.url.path.startswith("/api/"):
        return _error(404, "Not Found Error", "Not found")
    return dashboard.templates.TemplateResponse(
        request, "not_found.html", dashboard._context(request, what=request.url.path), status_code=404
    )


def create_app(settings: ServeSettings | None = None) -> Starlette:
    settings = settings or ServeSettings.from_env()
    routes = [
        Route("/", dashboard.overview),
        Route("/province/{code}", dashboard.province),
        Route("/catalog", dashboard.catalog_page),
        Route("/catalog.jsonld", catalog_jsonld),
        Route("/dataset/{name}.jsonld", dataset_jsonld),
        Route("/dataset/{name}", dashboard.dataset_page),
        Route("/organization/{name}", dashboard.organization_page),
        Route("/download/{filename}", download),
        Route("/api/3/action/{action}", ckan_api.action_endpoint, methods=["GET", "POST"]),
        Route("/api/action/{action}", ckan_api.action_endpoint, methods=["GET", "POST"]),
        Route("/api/3", ckan_api.api_root),
        Route("/healthz", healthz),
        Mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static"),
    ]
    app = Starlette(
        routes=routes, middleware=[Middleware(SecurityHeaders)], exception_handlers={404: not_found}
    )
    app.state.settings = settings
    app.state.catalog = Catalog(settings.contracts_dir, MartStore(settings.warehouse, settings.exports_dir))
    return app
