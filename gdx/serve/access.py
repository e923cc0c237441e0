"""Who is asking the catalog service, and what they may see: the one place that decides.

Every endpoint that exposes data (CKAN actions, DCAT, downloads, HTML pages) starts with
`RequestAccess.of(request, endpoint)` and reads packages only through it.

Who is asking: an API token in the `Authorization` header (CKAN 2.10's header; an optional
`Bearer ` prefix is accepted) or in `X-CKAN-API-Key` (older CKAN clients) names an agency
(gdx/security/tokens.py); no token = anonymous. A token the store does not know, a revoked token,
or one whose agency left the registry is refused with 403 on every endpoint. CKAN 2.10 itself
quietly treats a bad token as anonymous; here it is refused, because a script whose token was
revoked would otherwise keep running on metadata-only answers and conclude that the data is gone.

What they may see (`Contract.access_level`, `Contract.may_read`):

| caller                          | public dataset | restricted dataset                               |
|---------------------------------|----------------|--------------------------------------------------|
| anonymous                       | everything     | metadata only (listings, package_show, DCAT, HTML); 403 for its resources and downloads |
| token, owner or granted agency  | everything     | everything, downloads included; audited `catalog.read` |
| token, any other agency         | everything     | metadata only in listings; 403 with the reason when asked for the dataset itself (package_show, resource_show, DCAT, download, dataset page); audited `catalog.denied` |
| unknown / revoked token         | 403            | 403 (a revoked token is audited `catalog.denied`) |

"Metadata only" is built from the contract alone, never from the marts: title, description,
owner, classification, GD-Catalog fields and how to request access (`accessible_condition`), and
none of: resources, row counts, quality, freshness, time coverage. Because listings, search
(results, facets, counts, sort keys), DCAT and the dashboard all read the same caller-specific
view, nothing about a restricted dataset's data can leak through any of them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from gdx.contracts.model import Contract

if TYPE_CHECKING:
    from starlette.requests import Request

    from gdx.security.tokens import TokenStore
    from gdx.serve.catalog import Catalog
    from gdx.serve.views import CatalogView

log = logging.getLogger(__name__)

TOKEN_HEADERS = ("authorization", "x-ckan-api-key")

DATA_DETAIL_KEYS = frozenset(
    {
        # what the marts say about a dataset's data (row counts, quality, freshness, time coverage)
        "row_count",
        "rows_quarantined",
        "share_valid",
        "quality_score",
        "temporal_start",
        "temporal_end",
        "last_updated",
        "freshness_status",
        "hours_since_update",
        # declared coverage years: time coverage too, even when it comes from the contract
        "first_year_of_data",
        "last_year_of_data",
    }
)
"""Keys a metadata-only package never has."""


class AuditSink(Protocol):
    """What the service needs of `gdx.audit.AuditLog`."""

    def append(
        self,
        *,
        principal: str,
        action: str,
        outcome: str,
        dataset: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> Any: ...


class AccessDenied(Exception):
    """A request the caller may not make: answered 403 with `message` (CKAN `Authorization Error`)."""

    def __init__(self, message: str, contract_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.contract_id = contract_id


class AuditUnavailable(RuntimeError):
    """A restricted read could not be recorded; the data is not served (fail closed)."""


@dataclass(frozen=True)
class Caller:
    """Who is asking: an agency (by its API token) or nobody in particular."""

    agency: str | None = None
    token_id: str | None = None

    @property
    def authenticated(self) -> bool:
        return self.agency is not None

    @property
    def principal(self) -> str:
        return self.agency or "anonymous"


ANONYMOUS = Caller()


def presented_token(headers: Any) -> str | None:
    """The API token a request carries, if any (CKAN's headers; `Bearer ` prefix tolerated)."""
    for name in TOKEN_HEADERS:
        value = (headers.get(name) or "").strip()
        if value:
            if value[:7].lower() == "bearer ":
                value = value[7:].strip()
            return value
    return None


def may_see_everything(caller: Caller, contract: Contract) -> bool:
    """True when the caller sees the dataset in full (its data, figures and downloads)."""
    if contract.access_level == "public":
        return True
    return caller.agency is not None and contract.may_read(caller.agency)


def readable_restricted(caller: Caller, contracts: Iterable[Contract]) -> frozenset[str]:
    """Ids of the restricted contracts this caller sees in full."""
    return frozenset(c.id for c in contracts if c.access_level != "public" and may_see_everything(caller, c))


def refusal(caller: Caller, contract: Contract) -> str:
    """The reason a caller may not read a restricted dataset, and how to ask for access."""
    how = str(contract.gd_catalog.get("accessible_condition") or "").strip()
    classification = str(contract.gd_catalog.get("data_classification") or "restricted")
    ask = f" เงื่อนไขการเข้าถึง / how to request access: {how}" if how else ""
    if caller.agency is None:
        return (
            f"Access denied: {contract.id} is restricted ({classification}); its data needs the API "
            f"token of an agency its contract grants read access (owner: {contract.agency}).{ask}"
        )
    return (
        f"Access denied: agency {caller.agency} is not granted read access to {contract.id} "
        f"({classification}); ask its owner {contract.agency}.{ask}"
    )


def metadata_only(package: dict[str, Any]) -> dict[str, Any]:
    """The metadata-only form of a package built from the contract alone (no mart figures).

    Drops the resources and every data-detail key, top-level and in `extras`, and says so with
    `metadata_only: true` so clients can tell "not shown" from "empty".
    """
    out = {k: v for k, v in package.items() if k not in DATA_DETAIL_KEYS}
    out["resources"] = []
    out["num_resources"] = 0
    out["extras"] = [e for e in package.get("extras", []) if e["key"] not in DATA_DETAIL_KEYS]
    out["metadata_only"] = True
    return out


def identify(request: Request, tokens: TokenStore, registered: Iterable[str], audit: AuditSink) -> Caller:
    """The caller of `request`; AccessDenied for a token that is not (or no longer) valid."""
    token = presented_token(request.headers)
    if token is None:
        return ANONYMOUS
    from gdx.security.tokens import TokenError

    try:
        record = tokens.lookup(token)
    except TokenError as exc:  # a damaged store: nobody is authenticated until it is fixed
        log.error("cannot check API tokens: %s", exc)
        raise AccessDenied(
            "Access denied: API tokens cannot be checked now (the token store is unreadable)"
        ) from None
    if record is None:
        # Not audited: anyone can send garbage, and an unauthenticated caller must not be able to
        # fill the audit log. The token itself is never logged.
        log.warning("refused an unknown API token on %s", request.url.path)
        raise AccessDenied("Access denied: the API token is not valid (unknown or malformed)")
    endpoint = request.url.path
    if record.revoked is not None:
        _append(
            audit,
            principal=record.agency,
            action="catalog.denied",
            outcome="denied",
            detail={"endpoint": endpoint, "token_id": record.id, "reason": "token revoked"},
        )
        raise AccessDenied(f"Access denied: API token {record.id} was revoked at {record.revoked}")
    if record.agency not in set(registered):
        _append(
            audit,
            principal=record.agency,
            action="catalog.denied",
            outcome="denied",
            detail={"endpoint": endpoint, "token_id": record.id, "reason": "agency not registered"},
        )
        raise AccessDenied(f"Access denied: agency {record.agency} is no longer in the agencies registry")
    return Caller(record.agency, record.id)


def _append(audit: AuditSink, **entry: Any) -> None:
    try:
        audit.append(**entry)
    except Exception as exc:
        log.error("cannot write the audit log: %s", exc)
        raise AuditUnavailable(f"the audit log cannot be written: {exc}") from exc


@dataclass
class RequestAccess:
    """One request's caller, their view of the catalog, and the restricted reads to record."""

    caller: Caller
    catalog: Catalog
    base_url: str
    endpoint: str
    audit: AuditSink
    readable: frozenset[str] = frozenset()
    disclosed: dict[str, None] = field(default_factory=dict)

    @classmethod
    def of(cls, request: Request, endpoint: str | None = None) -> RequestAccess:
        """Identify the caller of a request to this app (AccessDenied for a bad token)."""
        from gdx.serve import ckan_api

        app = request.app
        catalog: Catalog = app.state.catalog
        caller = identify(request, app.state.tokens, catalog.agency_codes(), app.state.audit)
        base = ckan_api.base_url(request, app.state.settings.base_url)
        access = cls(caller, catalog, base, endpoint or request.url.path, app.state.audit)
        access.readable = catalog.readable_for(caller.agency)
        return access

    @classmethod
    def anonymous(cls, catalog: Catalog, base_url: str, audit: AuditSink | None = None) -> RequestAccess:
        """The anonymous view (in-process callers and tests)."""
        return cls(ANONYMOUS, catalog, base_url, "in-process", audit or _NoAudit())

    # --- what the caller sees --------------------------------------------------------------------

    def view(self) -> CatalogView:
        """This caller's view with its indexes (shared with callers who may read the same datasets)."""
        return self.catalog.caller_view(self.base_url, self.readable)

    def packages(self) -> list[dict[str, Any]]:
        """Every package as this caller may see it, sorted by name."""
        return self.view().packages

    def find(self, key: str) -> dict[str, Any] | None:
        """One package (by name, id or contract id) as this caller may see it."""
        return self.view().find(key)

    def contract(self, package: dict[str, Any]) -> Contract:
        return self.catalog.contract_for(package)

    def sees_everything(self, contract: Contract) -> bool:
        return contract.access_level == "public" or contract.id in self.readable

    def require(self, contract: Contract, *, anonymous_too: bool = False) -> None:
        """Refuse (AccessDenied) a request for a restricted dataset the caller may not read.

        Agencies without a grant are refused whenever they ask for the dataset itself; anonymous
        callers only where metadata is not an answer (`anonymous_too`: resources, downloads).
        """
        if self.sees_everything(contract):
            return
        if self.caller.authenticated or anonymous_too:
            raise AccessDenied(refusal(self.caller, contract), contract.id)

    # --- the record of restricted reads ----------------------------------------------------------

    def disclose(self, packages: Iterable[dict[str, Any]]) -> None:
        """Note the restricted packages shown in full in this response (for `record_reads`)."""
        for package in packages:
            cid = package.get("contract_id")
            if cid and not package.get("metadata_only") and package.get("access_level") != "public":
                self.disclosed[cid] = None

    def record_reads(self) -> None:
        """One `catalog.read` per restricted dataset shown in full to an agency; before the response
        is sent, so an unwritable audit log means no data (AuditUnavailable)."""
        if not self.caller.authenticated:
            return
        for cid in self.disclosed:
            _append(
                self.audit,
                principal=self.caller.principal,
                action="catalog.read",
                outcome="allowed",
                dataset=cid,
                detail={"endpoint": self.endpoint, "token_id": self.caller.token_id},
            )

    def record_denied(self, denied: AccessDenied) -> None:
        """A `catalog.denied` entry for an agency's refused request (anonymous ones are not audited)."""
        if not self.caller.authenticated:
            return
        _append(
            self.audit,
            principal=self.caller.principal,
            action="catalog.denied",
            outcome="denied",
            dataset=denied.contract_id,
            detail={"endpoint": self.endpoint, "token_id": self.caller.token_id},
        )


class _NoAudit:
    """For anonymous in-process views, which never append (they disclose nothing restricted)."""

    def append(self, **entry: Any) -> None:
        raise AuditUnavailable("no audit log configured")
