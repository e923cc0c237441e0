"""HTML pages: the governor dashboard (`/`, `/province/<code>`), the catalog browser (`/catalog`) and
dataset pages (`/dataset/<name>`). Server-rendered with Jinja2 (autoescape on), no scripts, no CDN:
the pages work offline and under a strict Content-Security-Policy.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from gdx.serve import ckan_api
from gdx.serve.access import DATA_DETAIL_KEYS, AccessDenied, RequestAccess
from gdx.serve.data import KPI_MART
from gdx.serve.i18n import choose, format_number, freshness_label, label
from gdx.serve.kpis import PILOT_CODES, PILOTS, freshness_class, lower_is_better, province_kpis
from gdx.serve.svg import sparkline_svg, trend_svg
from gdx.thai.provinces import province_name

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates = Jinja2Templates(env=_env)
BANGKOK = ZoneInfo("Asia/Bangkok")


def _lang(request: Request) -> str:
    return "en" if request.query_params.get("lang") == "en" else "th"


def _context(request: Request, **extra: Any) -> dict[str, Any]:
    lang = _lang(request)

    def url(path: str, **params: Any) -> str:
        query = {k: v for k, v in params.items() if v not in (None, "")}
        if lang == "en":
            query["lang"] = "en"
        return path + ("?" + urlencode(query) if query else "")

    other = dict(request.query_params)
    if lang == "en":
        other.pop("lang", None)
    else:
        other["lang"] = "en"
    return {
        "request": request,
        "lang": lang,
        "t": lambda key: label(key, lang),
        "pick": lambda th, en: choose(th, en, lang),
        "num": lambda v: format_number(v, lang),
        "url": url,
        "switch_url": request.url.path + ("?" + urlencode(other) if other else ""),
        "province_name": lambda code: _province(code, lang),
        "when": local_time,
        "freshness": lambda status: freshness_label(status, lang),
        **extra,
    }


def local_time(value: Any) -> str:
    """A timestamp as Thailand's wall-clock time (what a governor reads), `YYYY-MM-DD HH:MM`."""
    if not value:
        return "–"
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(BANGKOK)
    return moment.strftime("%Y-%m-%d %H:%M")


def _province(code: str, lang: str) -> str:
    try:
        return province_name(code, lang)
    except ValueError:
        return code


def _sources(access: RequestAccess, keys: list[str]) -> list[dict[str, Any]]:
    """The packages behind a KPI as the caller may see them. A metadata-only package gets its data
    details as None, so templates show "–" rather than failing on a missing key."""
    found = []
    for key in keys:
        package = access.find(key)
        if package is not None and package not in found:
            found.append(package)
    access.disclose(found)
    return [{**dict.fromkeys(DATA_DETAIL_KEYS), **p} if p.get("metadata_only") else p for p in found]


def _access(request: Request) -> RequestAccess:
    """The caller of this page request (one per request: pages call it once and share it)."""
    access = getattr(request.state, "access", None)
    if access is None:
        access = request.state.access = RequestAccess.of(request)
    return access


def _kpi_views(request: Request, code: str, agenda_only: bool = False) -> list[dict[str, Any]]:
    catalog = request.app.state.catalog
    lang = _lang(request)
    access = _access(request)
    views = []
    for kpi in province_kpis(catalog.marts.rows(KPI_MART), code):
        if agenda_only and not kpi.agenda:
            continue
        name = choose(kpi.name_th, kpi.name_en, lang)
        lower = lower_is_better(kpi.direction)
        views.append(
            {
                "kpi": kpi,
                "name": name,
                "agenda": choose(kpi.agenda_th, kpi.agenda_en, lang),
                "unit": choose(kpi.unit_th, kpi.unit_en, lang),
                "direction": label("lower_better" if lower else "higher_better", lang)
                if lower is not None
                else "",
                "chart": Markup(
                    trend_svg(kpi.series, kpi.target, f"{name} — {label('trend', lang)}", kpi.status)
                ),
                "spark": Markup(
                    sparkline_svg(kpi.series, kpi.target, f"{name} — {label('trend', lang)}", kpi.status)
                ),
                "sources": [
                    {"package": p, "fresh": freshness_class(p.get("freshness_status"))}
                    for p in _sources(access, kpi.sources)
                ],
            }
        )
    return views


def _overview(request: Request) -> list[dict[str, Any]]:
    lang = _lang(request)
    provinces = []
    for code, agenda_th, agenda_en in PILOTS:
        kpis = _kpi_views(request, code, True)
        agenda = next((k["agenda"] for k in kpis if k["agenda"]), None) or choose(agenda_th, agenda_en, lang)
        sources = {s["package"]["name"]: s for k in kpis for s in k["sources"]}.values()
        summary = {
            "datasets": len(sources),
            "fresh": sum(1 for s in sources if s["fresh"] == "good"),
        }
        provinces.append({"code": code, "agenda": agenda, "kpis": kpis, "summary": summary})
    _access(request).record_reads()
    return provinces


async def overview(request: Request) -> Response:
    provinces = await run_in_threadpool(_overview, request)  # one worker-thread hop, not six
    return templates.TemplateResponse(request, "overview.html", _context(request, provinces=provinces))


async def province(request: Request) -> Response:
    code = request.path_params["code"].upper()
    known = dict((c, (th, en)) for c, th, en in PILOTS)
    kpis = await run_in_threadpool(_kpi_views, request, code)
    if code not in known and not kpis:
        return templates.TemplateResponse(
            request, "not_found.html", _context(request, what=code), status_code=404
        )
    agenda = next((k["agenda"] for k in kpis if k["agenda"]), None) or choose(
        *known.get(code, ("", "")), _lang(request)
    )
    await run_in_threadpool(_access(request).record_reads)
    return templates.TemplateResponse(
        request, "province.html", _context(request, code=code, agenda=agenda, kpis=kpis, pilots=PILOT_CODES)
    )


def _search(request: Request) -> dict[str, Any]:
    """The catalog page runs the same package_search action the API serves."""
    params = request.query_params
    q = (params.get("q") or "")[:200]
    org = params.get("organization") or ""
    category = params.get("data_category") or ""
    fq = " ".join(
        f'{field}:"{value.replace(chr(34), "")}"'
        for field, value in (("organization", org), ("data_category", category))
        if value
    )
    access = _access(request)
    ctx = ckan_api.ActionContext(
        request.app.state.catalog, access.base_url, request.app.state.settings.site_title, access
    )
    data = {
        "q": q,
        "fq": fq,
        "rows": 100,
        "sort": "score desc, name asc" if q else "name asc",
        "facet.field": ["organization", "data_category"],
    }
    error = None
    try:
        result = ckan_api.package_search(ctx, data)
    except ckan_api.ActionError as exc:
        error = exc.error.get("message") or str(exc)
        result = {"count": 0, "results": [], "search_facets": {}}
    everything = ckan_api.package_search(
        ctx, {"rows": 0, "facet.field": ["organization", "data_category"], "facet.limit": -1}
    )
    api_query = urlencode({k: v for k, v in {"q": q, "fq": fq}.items() if v})
    return {
        "q": q,
        "organization": org,
        "data_category": category,
        "result": result,
        "error": error,
        "all_facets": everything["search_facets"],
        "api_url": "/api/3/action/package_search" + ("?" + api_query if api_query else ""),
    }


async def catalog_page(request: Request) -> Response:
    found = await run_in_threadpool(_search, request)
    await run_in_threadpool(_access(request).record_reads)
    return templates.TemplateResponse(request, "catalog.html", _context(request, **found))


async def dataset_page(request: Request) -> Response:
    catalog = request.app.state.catalog
    root = ckan_api.base_url(request, request.app.state.settings.base_url)
    access = request.state.access = await ckan_api.request_access(request, catalog, root)
    package = await ckan_api.in_memory(catalog, root, access.find, request.path_params["name"])
    if package is None:
        return templates.TemplateResponse(
            request, "not_found.html", _context(request, what=request.path_params["name"]), status_code=404
        )
    try:
        access.require(access.contract(package))
    except AccessDenied as exc:  # an agency without a grant: the metadata, the reason, and a 403
        await run_in_threadpool(access.record_denied, exc)
        return templates.TemplateResponse(
            request,
            "dataset.html",
            _context(request, p=package, fresh="none", denied=exc.message),
            status_code=403,
        )
    access.disclose([package])
    await ckan_api.record_reads(access)
    return templates.TemplateResponse(
        request,
        "dataset.html",
        _context(request, p=package, fresh=freshness_class(package.get("freshness_status")), denied=None),
    )


async def organization_page(request: Request) -> Response:
    query = {"organization": request.path_params["name"]}
    if _lang(request) == "en":
        query["lang"] = "en"
    return RedirectResponse("/catalog?" + urlencode(query), status_code=303)
