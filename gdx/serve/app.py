"""The Starlette application: routes, shared state, security headers.

/                               governor dashboard: the five pilot provinces
/province/<TH-xx>               one province: KPIs, trends, data quality of their datasets
/catalog, /dataset/<name>       catalog browser and dataset pages
/api/3/action/<action>          CKAN Action API (also /api/action/<action>, as ckanapi calls it)
/catalog.jsonld                 the catalog as DCAT-AP JSON-LD
/dataset/<name>.jsonld          one dataset as DCAT-AP JSON-LD
/download/<name>.csv|.parquet   public datasets, and restricted ones for the agencies they grant
/healthz                        liveness + whether the marts are readable

Every route but /healthz and /static identifies the caller by API token and answers what that
caller may see (gdx/serve/access.py); answers therefore vary with the token headers, which the
`Vary` header says, and an authenticated answer is never cached by anyone in between.
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

from gdx.security.tokens import TokenStore
from gdx.serve import ckan_api, dashboard, dcat, downloads
from gdx.serve.access import TOKEN_HEADERS, AccessDenied, AuditSink, AuditUnavailable, RequestAccess
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
        names = {name.decode("latin-1").lower() for name, _ in scope.get("headers", [])}
        with_token = any(h in names for h in TOKEN_HEADERS)
        per_caller = not path.startswith("/static/") and path != "/healthz"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if per_caller:
                    headers.add_vary_header("Authorization")
                    headers.add_vary_header("X-CKAN-API-Key")
                if with_token:  # an agency's answer: no shared cache may keep it
                    headers["Cache-Control"] = "private, no-store"
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
    access = await run_in_threadpool(RequestAccess.of, request)
    packages = await run_in_threadpool(access.packages)
    access.disclose(packages)
    await run_in_threadpool(access.record_reads)
    return _jsonld(dcat.catalog_document(packages, access.base_url, request.app.state.settings.site_title))


async def dataset_jsonld(request: Request) -> Response:
    access = await run_in_threadpool(RequestAccess.of, request)
    package = await run_in_threadpool(access.find, request.path_params["name"])
    if package is None:
        return _error(404, "Not Found Error", f"Not found: no dataset {request.path_params['name']!r}")
    await _require(access, package)
    access.disclose([package])
    await run_in_threadpool(access.record_reads)
    return _jsonld(dcat.dataset_document(package, access.base_url))


async def _require(access: RequestAccess, package: dict, anonymous_too: bool = False) -> None:
    """AccessDenied (recorded for an agency) when the caller may not read this dataset."""
    try:
        access.require(access.contract(package), anonymous_too=anonymous_too)
    except AccessDenied as exc:
        await run_in_threadpool(access.record_denied, exc)
        raise


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
    access = await run_in_threadpool(RequestAccess.of, request)
    package = await run_in_threadpool(access.find, name)
    if package is None:
        return _error(404, "Not Found Error", f"Not found: no dataset {name!r}")
    contract = access.contract(package)
    await _require(access, package, anonymous_too=True)
    access.disclose([package])
    await run_in_threadpool(access.record_reads)  # recorded before a byte of data is read
    media_type, render = _FORMATS[ext]

    def build() -> bytes:
        table = downloads.load_table(contract, settings.lake_root, settings.contracts_dir.parent)
        return render(table)

    try:
        body = await run_in_threadpool(build)
    except downloads.LakeUnavailable as exc:
        log.error("download of %s: the lake cannot be read (%s)", name, exc)  # details for the operator only
        return _error(
            503, "Service Unavailable",
            "ดาวน์โหลดไม่ได้ชั่วคราว: ระบบอ่านคลังข้อมูลไม่ได้ โปรดลองใหม่ภายหลัง "
            "(the data lake cannot be read right now; the operator has the details in the service log)",
        )  # fmt: skip
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


def _wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith(("/api/", "/download/")) or path.endswith(".jsonld")


async def access_denied(request: Request, exc: Exception) -> Response:
    """403 with the reason: CKAN's JSON error for the API, DCAT and downloads, a page otherwise."""
    assert isinstance(exc, AccessDenied)
    if _wants_json(request):
        return _error(403, "Authorization Error", exc.message)
    return dashboard.templates.TemplateResponse(
        request, "denied.html", dashboard._context(request, reason=exc.message), status_code=403
    )


async def audit_unavailable(request: Request, exc: Exception) -> Response:
    """Restricted data is served only when its read is on the record (fail closed)."""
    message = "the audit log cannot be written; try again later"
    if _wants_json(request):
        return _error(503, "Service Unavailable", message)
    return Response(message, status_code=503, media_type="text/plain; charset=utf-8")


def audit_log(settings: ServeSettings) -> AuditSink:
    """The audit log the service appends restricted reads to (gdx.audit, in the lake)."""
    from gdx.audit import AuditLog

    return AuditLog.from_settings(settings.base_settings())


async def not_found(request: Request, exc: Exception) -> Response:
    if request.url.path.startswith("/api/"):
        return _error(404, "Not Found Error", "Not found")
    return dashboard.templates.TemplateResponse(
        request, "not_found.html", dashboard._context(request, what=request.url.path), status_code=404
    )


def create_app(settings: ServeSettings | None = None, audit: AuditSink | None = None) -> Starlette:
    """The service; `audit` defaults to the audit log `settings` point at."""
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
        routes=routes,
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={
            404: not_found,
            AccessDenied: access_denied,
            AuditUnavailable: audit_unavailable,
        },
    )
    app.state.settings = settings
    app.state.catalog = Catalog(settings.contracts_dir, MartStore(settings.warehouse, settings.exports_dir))
    app.state.tokens = TokenStore(settings.tokens_file)
    app.state.audit = audit if audit is not None else audit_log(settings)
    return app
