"""CKAN Action API (read-only subset) under /api/3/action/<name> and /api/action/<name>.

Both paths exist because CKAN serves both and clients use both: data.go.th examples use
`/api/3/action/`, while `ckanapi.RemoteCKAN` POSTs a JSON body to `/api/action/` and does not follow
redirects. GET (query parameters; a repeated parameter becomes a list, as in CKAN) and POST (JSON
object, or a form) are accepted alike.

Responses use CKAN's envelope `{"help": url, "success": true, "result": ...}` and its error shapes,
which ckanapi turns back into exceptions: 404 `Not Found Error` (ckanapi.NotFound), 409
`Validation Error` with one list of messages per bad parameter (ckanapi.ValidationError), 400
`Search Query Error` for a query that does not parse (ckanapi.SearchQueryError), 400
`Bad request - Action name not known: x` for an unknown action, 403 `Authorization Error`.

Who is asking decides what the actions return (gdx/serve/access.py): every action reads packages
through `ActionContext.access`, so a restricted dataset's resources, row counts, quality and time
coverage reach only the agencies its contract grants, in results, facets and counts alike.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from gdx import __version__
from gdx.serve.access import AccessDenied, AuditUnavailable, RequestAccess, presented_token
from gdx.serve.catalog import Catalog
from gdx.serve.config import MAX_BODY_BYTES, ROWS_MAX
from gdx.serve.search import QuerySyntaxError, SortError, free_text_terms, parse_query, parse_sort
from gdx.serve.views import PackageJson, dumps

log = logging.getLogger(__name__)

CKAN_COMPAT_VERSION = "2.10.4"  # the CKAN API release whose shapes these actions follow


class ActionError(Exception):
    """An error CKAN reports inside its envelope: HTTP status + the `error` object."""

    def __init__(self, status: int, error: dict[str, Any]) -> None:
        super().__init__(error.get("message", error))
        self.status = status
        self.error = error


def not_found(what: str) -> ActionError:
    return ActionError(404, {"__type": "Not Found Error", "message": f"Not found: {what}"})


def invalid(**errors: str) -> ActionError:
    return ActionError(409, {"__type": "Validation Error", **{k: [v] for k, v in errors.items()}})


def json_response(data: Any, status: int = 200, packages: PackageJson | None = None) -> Response:
    """`data` as JSON; with `packages`, the catalog's packages in it are copied from their cached text."""
    body = packages.encode(data) if packages is not None else dumps(data)
    return Response(body, status_code=status, media_type="application/json;charset=utf-8")


async def in_memory(catalog: Catalog, base_url: str, func: Callable[..., Any], *args: Any) -> Any:
    """`func(*args)` on the event loop when the catalog is current (lookups in prebuilt
    structures: a hop to a worker thread would cost more CPU than the work), else in a worker
    thread (it may have to rebuild the catalog, which takes seconds at national scale)."""
    if catalog.is_current(base_url):
        return func(*args)
    return await run_in_threadpool(func, *args)


async def request_access(request: Request, catalog: Catalog, base_url: str) -> RequestAccess:
    """`RequestAccess.of`; on the event loop for an anonymous caller of a current catalog (a
    token is checked in a worker thread: its store may be re-read, a refusal audited)."""
    if presented_token(request.headers) is None:
        return await in_memory(catalog, base_url, RequestAccess.of, request)
    return await run_in_threadpool(RequestAccess.of, request)


async def record_reads(access: RequestAccess) -> None:
    """`access.record_reads()`, in a worker thread when there is anything to append."""
    if access.caller.authenticated and access.disclosed:
        await run_in_threadpool(access.record_reads)


def denied(message: str) -> ActionError:
    return ActionError(403, {"__type": "Authorization Error", "message": message})


@dataclass
class ActionContext:
    catalog: Catalog
    base_url: str
    site_title: str
    access: RequestAccess = field(default=None)  # type: ignore[assignment]  # None = anonymous

    def __post_init__(self) -> None:
        if self.access is None:
            self.access = RequestAccess.anonymous(self.catalog, self.base_url)

    def packages(self) -> list[dict[str, Any]]:
        """Every package as the caller may see it."""
        return self.access.packages()


# --- parameter validation, with CKAN's messages ---------------------------------------------------


def natural(data: dict[str, Any], key: str, default: int | None, cap: int | None = None) -> int | None:
    value = data.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, bool) or isinstance(value, list | dict):
        raise invalid(**{key: "Invalid integer"})
    try:
        number = int(str(value).strip())
    except ValueError:
        raise invalid(**{key: "Invalid integer"}) from None
    if number < 0:
        raise invalid(**{key: "Must be a natural number"})
    return min(number, cap) if cap is not None else number


def integer(data: dict[str, Any], key: str, default: int) -> int:
    value = data.get(key)
    if value is None or value == "":
        return default
    try:
        return int(str(value).strip())
    except ValueError:
        raise invalid(**{key: "Invalid integer"}) from None


def boolean(data: dict[str, Any], key: str, default: bool) -> bool:
    value = data.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "yes", "t", "y", "1", "on")


def text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, list):  # a repeated GET parameter
        return " ".join(str(v) for v in value)
    if isinstance(value, dict):
        raise invalid(**{key: "Must be a string"})
    return str(value)


def string_list(data: dict[str, Any], key: str) -> list[str]:
    """A list parameter sent as a JSON list, a JSON-encoded string (CKAN GET style) or a single value."""
    value = data.get(key)
    if value is None or value == "":
        return []
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("["):
            try:
                value = json.loads(stripped)
            except ValueError:
                raise invalid(**{key: "Could not parse as valid JSON"}) from None
        else:
            value = [stripped]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid(**{key: "Not a list of strings"})
    return value


def _query(text_value: str | None, key: str) -> Any:
    try:
        return parse_query(text_value)
    except QuerySyntaxError as exc:
        raise ActionError(
            400, {"__type": "Search Query Error", "message": f"Search Query is invalid: {key}: {exc}"}
        ) from None


# --- actions ---------------------------------------------------------------------------------------


def package_list(ctx: ActionContext, data: dict[str, Any]) -> list[str]:
    """Names of all datasets, sorted. Parameters: limit, offset (natural numbers)."""
    names = ctx.access.view().names
    offset = natural(data, "offset", 0) or 0
    limit = natural(data, "limit", None)
    return names[offset : None if limit is None else offset + limit]


def current_package_list_with_resources(ctx: ActionContext, data: dict[str, Any]) -> list[dict[str, Any]]:
    """Full dataset dicts, most recently modified first. Parameters: limit, offset (or page)."""
    packages = sorted(ctx.packages(), key=lambda p: p["metadata_modified"] or "", reverse=True)
    limit = natural(data, "limit", None)
    offset = natural(data, "offset", 0) or 0
    page = natural(data, "page", None)
    if page and limit:
        offset = (page - 1) * limit
    shown = packages[offset : None if limit is None else offset + limit]
    ctx.access.disclose(shown)
    return shown


def package_search(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    """Search datasets. Parameters: q (free text in Thai or English, or field:value), fq (filters,
    e.g. `organization:pcd tags:pm25 data_category:"ข้อมูลสาธารณะ"`; also fq_list), rows (default 10,
    at most 1000), start, sort (e.g. `metadata_modified desc`, `title asc`, `name asc`; default
    `score desc, metadata_modified desc`), facet.field (list), facet.limit (default 50, -1 = all),
    facet.mincount (default 1), fl (fields to return)."""
    rows = natural(data, "rows", 10, cap=ROWS_MAX)
    start = natural(data, "start", 0) or 0
    facet_fields = string_list(data, "facet.field")
    facet_limit = integer(data, "facet.limit", 50)
    facet_mincount = natural(data, "facet.mincount", 1) or 0
    try:
        sort_spec = parse_sort(text(data, "sort"))
    except SortError as exc:
        raise invalid(sort=str(exc)) from None
    q = _query(text(data, "q"), "q")
    filters = [_query(text(data, "fq"), "fq")]
    filters += [_query(f, "fq_list") for f in string_list(data, "fq_list")]
    terms = free_text_terms(q)

    index = ctx.access.view().index
    scored = terms and any(key == "score" for key, _ in sort_spec)  # score only orders results
    ordered, key = index.query(q, filters, sort_spec, terms if scored else [])
    page = [index.docs[i].package for i in ordered[start : start + (rows or 0)]]
    ctx.access.disclose(page)
    fl = (text(data, "fl") or "").replace(",", " ").split()  # "name,title", "name title" or a list
    results = [package if not fl else {k: package.get(k) for k in fl} for package in page]
    whole_view = len(ordered) == len(index.docs)
    legacy, rich = index.facets(ordered, facet_fields, facet_limit, facet_mincount, whole_view, key)
    return {
        "count": len(ordered),
        "sort": ", ".join(f"{k} {'desc' if d else 'asc'}" for k, d in sort_spec),
        "results": results,
        "facets": legacy,
        "search_facets": rich,
    }


def package_show(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    """One dataset by `id` (its name, its id, or its contract id such as `pcd.air_quality_hourly`).
    A restricted dataset is metadata-only without a token, in full with the token of an agency its
    contract grants, and refused (403) with any other agency's token."""
    key = text(data, "id") or text(data, "name_or_id")
    if not key:
        raise invalid(id="Missing value")
    package = ctx.access.find(key.strip())
    if package is None:
        raise not_found("Dataset not found")
    ctx.access.require(ctx.access.contract(package))
    ctx.access.disclose([package])
    return package


def resource_show(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    """One resource (downloadable file) by `id`; a restricted dataset's resources need the token
    of an agency its contract grants."""
    key = text(data, "id")
    if not key:
        raise invalid(id="Missing value")
    for package in ctx.packages():
        for resource in package["resources"]:
            if resource["id"] == key:
                ctx.access.disclose([package])
                return resource
    for package in ctx.catalog.packages(ctx.base_url):  # a resource the caller's view leaves out
        if any(resource["id"] == key for resource in package["resources"]):
            ctx.access.require(ctx.access.contract(package), anonymous_too=True)
    raise not_found("Resource was not found.")


def _organizations(ctx: ActionContext) -> dict[str, dict[str, Any]]:
    """Organisation name → dict with its `package_count` in the caller's view (shared: not mutated)."""
    return ctx.access.view().organizations


def organization_list(ctx: ActionContext, data: dict[str, Any]) -> list[Any]:
    """Publishing agencies. Parameters: all_fields (dicts instead of names), sort (`name asc`,
    `title asc`, `package_count desc`), organizations (only these names), limit, offset."""
    wanted = string_list(data, "organizations")
    sort = (text(data, "sort") or "name asc").split()
    key = sort[0] if sort else "name"
    if key not in ("name", "title", "package_count"):
        raise invalid(sort="Sort field must be name, title or package_count")
    descending = len(sort) > 1 and sort[1].lower() == "desc"
    orgs, names = ctx.access.view().sorted_organizations(key, descending)
    if wanted:
        orgs = [o for o in orgs if o["name"] in wanted]
        names = [o["name"] for o in orgs]
    offset = natural(data, "offset", 0) or 0
    limit = natural(data, "limit", None)
    end = None if limit is None else offset + limit
    return orgs[offset:end] if boolean(data, "all_fields", False) else names[offset:end]


def organization_show(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    """One agency by `id` (name or id); include_datasets adds its datasets."""
    key = text(data, "id")
    if not key:
        raise invalid(id="Missing value")
    for org in _organizations(ctx).values():
        if key in (org["name"], org["id"]):
            if boolean(data, "include_datasets", False):
                packages = [p for p in ctx.packages() if p["organization"]["name"] == org["name"]]
                ctx.access.disclose(packages)
                org = {**org, "packages": packages}
            return org
    raise not_found("Organization was not found.")


def tag_list(ctx: ActionContext, data: dict[str, Any]) -> list[Any]:
    """Tags in use. Parameters: query (substring), all_fields, vocabulary_id (no vocabularies here)."""
    if data.get("vocabulary_id"):
        return []
    query = (text(data, "query") or text(data, "q") or "").casefold()
    tags: dict[str, dict[str, Any]] = {}
    for package in ctx.packages():
        for tag in package["tags"]:
            if query in tag["name"].casefold():
                tags.setdefault(tag["name"], {"id": tag["id"], "name": tag["name"], "vocabulary_id": None})
    ordered = [tags[name] for name in sorted(tags)]
    return ordered if boolean(data, "all_fields", False) else [t["name"] for t in ordered]


def status_show(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    """Site information."""
    return {
        "site_title": ctx.site_title,
        "site_description": "ศูนย์ข้อมูลเปิดจังหวัดนำร่อง GDX One Data — GDX One Data open-data catalog",
        "site_url": ctx.base_url,
        "ckan_version": CKAN_COMPAT_VERSION,
        "gdx_version": __version__,
        "error_emails_to": None,
        "locale_default": "th",
        "extensions": ["gdx_readonly", "scheming_datasets", "dcat"],
    }


def help_show(ctx: ActionContext, data: dict[str, Any]) -> str:
    """The documentation of the action `name`."""
    name = text(data, "name")
    if not name:
        raise invalid(name="Missing value")
    if name not in ACTIONS:
        raise not_found(f"Action function not found: {name}")
    return " ".join((ACTIONS[name].__doc__ or "").split())


ACTIONS: dict[str, Callable[[ActionContext, dict[str, Any]], Any]] = {
    f.__name__: f
    for f in (
        package_list,
        current_package_list_with_resources,
        package_search,
        package_show,
        resource_show,
        organization_list,
        organization_show,
        tag_list,
        status_show,
        help_show,
    )
}


# --- HTTP ------------------------------------------------------------------------------------------


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, refusing more than `limit` bytes (checked before and while reading)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BadRequest(f"request body larger than {limit} bytes", 413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BadRequest(f"request body larger than {limit} bytes", 413)
        chunks.append(chunk)
    return b"".join(chunks)


def _mixed(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Query pairs → dict; a repeated key becomes a list (CKAN's `mixed`)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            out[key] = [*out[key], value] if isinstance(out[key], list) else [out[key], value]
        else:
            out[key] = value
    return out


async def request_data(request: Request) -> dict[str, Any]:
    data = _mixed(list(request.query_params.multi_items()))
    if request.method != "POST":
        return data
    body = await read_body(request)
    if not body.strip():
        return data
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        text_body = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("JSON Error: the request body is not UTF-8") from None
    if content_type == "application/x-www-form-urlencoded":
        data.update(_mixed(parse_qsl(text_body, keep_blank_values=True)))
        return data
    if content_type == "multipart/form-data":
        raise BadRequest("JSON Error: multipart bodies are not accepted by this read-only API")
    try:
        parsed = json.loads(text_body)
    except ValueError as exc:
        raise BadRequest(f"JSON Error: Error decoding JSON data. Error: {exc}") from None
    if not isinstance(parsed, dict):
        raise BadRequest(
            f"Bad request data: Request data JSON decoded to {type(parsed).__name__} but it needs to be a dictionary."
        )
    data.update(parsed)
    return data


def base_url(request: Request, configured: str | None) -> str:
    return configured or str(request.base_url).rstrip("/")


async def action_endpoint(request: Request) -> Response:
    name = request.path_params["action"]
    catalog: Catalog = request.app.state.catalog
    settings = request.app.state.settings
    root = base_url(request, settings.base_url)
    envelope: dict[str, Any] = {"help": f"{root}/api/3/action/help_show?name={name}"}
    try:
        access = await request_access(request, catalog, root)
    except AccessDenied as exc:  # a token that is not (or no longer) valid
        envelope.update(success=False, error=denied(exc.message).error)
        return json_response(envelope, 403)
    except AuditUnavailable:
        return _audit_unavailable(envelope)
    if name not in ACTIONS:
        envelope.update(
            success=False,
            error={"__type": "Bad Request", "message": f"Bad request - Action name not known: {name}"},
        )
        return json_response(envelope, 400)
    try:
        data = await request_data(request)
        data.pop("callback", None)  # no JSONP: this API serves JSON only
        ctx = ActionContext(catalog, root, settings.site_title, access)
        result = await in_memory(catalog, root, ACTIONS[name], ctx, data)
        await record_reads(access)  # before the answer leaves: no record, no data
    except BadRequest as exc:
        envelope.update(success=False, error={"__type": "Bad Request", "message": f"Bad request - {exc}"})
        return json_response(envelope, exc.status)
    except ActionError as exc:
        envelope.update(success=False, error=exc.error)
        return json_response(envelope, exc.status)
    except AccessDenied as exc:
        try:
            await run_in_threadpool(access.record_denied, exc)
        except AuditUnavailable:
            return _audit_unavailable(envelope)
        envelope.update(success=False, error=denied(exc.message).error)
        return json_response(envelope, 403)
    except AuditUnavailable:
        return _audit_unavailable(envelope)
    except Exception:
        log.exception("action %s failed", name)
        envelope.update(
            success=False, error={"__type": "Internal Server Error", "message": "Internal Server Error"}
        )
        return json_response(envelope, 500)
    envelope.update(success=True, result=result)
    return json_response(envelope, packages=catalog.package_json(root))


def _audit_unavailable(envelope: dict[str, Any]) -> Response:
    """Restricted data is served only when its read is on the record (fail closed)."""
    envelope.update(
        success=False,
        error={
            "__type": "Service Unavailable",
            "message": "the audit log cannot be written; try again later",
        },
    )
    return json_response(envelope, 503)


async def api_root(request: Request) -> Response:
    """`/api/3` → {"version": 3}, as CKAN answers."""
    return json_response({"version": 3})
