"""Kafka ACLs derived from the contracts: who may write and read which topic (deny by default).

The contracts are the one source of truth. `desired_bindings(contracts, agencies)` is a pure
function of them and of the agencies registry; `gdx acls plan` compares it with what the broker
holds (`current_bindings`) and `gdx acls apply` makes the broker match, idempotently, writing an
`acl.add` / `acl.remove` audit entry per change. The broker runs `StandardAuthorizer` with
`allow.everyone.if.no.acl.found=false` and `gdx-admin` as its only super user, so whatever is not
listed here is refused.

What each principal gets (every binding ALLOW, host `*`):

- owner agency (`Contract.agency`): WRITE, DESCRIBE and CREATE on its own dataset topics
  (LITERAL names), IDEMPOTENT_WRITE on the cluster (the producers are idempotent). No READ: only
  the ingestion service and granted agencies consume a dataset topic.
  CREATE, and why the owner creates its own topic: `gdx produce` creates the topic on first
  publish (`gdx.producer.topics.ensure_topic`, with the partitions/config the owner chose), so
  a new contract needs no platform step before its first record. CREATE on the exact literal topic
  name lets it create that topic and nothing else (not another agency's, not a DLQ); it cannot
  delete, alter or re-partition an existing one (no DELETE/ALTER/ALTER_CONFIGS).
- `gdx-ingest`: READ + DESCRIBE on every dataset topic, READ on consumer groups PREFIXED
  `gdx.ingest.` (the ingestion groups, `gdx.ingest.consumer.group_id`) and `gdx.watch.` (the Airflow
  activity watcher's group `gdx.watch.activity`, see `gdx.orchestration.kafka_activity`); WRITE + DESCRIBE + CREATE on every
  dead-letter topic (`Contract.dlq_topic`, created by `gdx.ingest.dlq.ensure_dlq_topic`);
  IDEMPOTENT_WRITE on the cluster (the DLQ publisher is idempotent). No DESCRIBE_CONFIGS:
  ingestion never reads topic configs.
- a granted agency (`Contract.readers`: on a personal-data contract only an explicit
  `personalData: true` grant counts): READ + DESCRIBE on that topic, READ on groups PREFIXED
  `<agency>.` (its own consumer groups; no other principal's groups start with `<code>.`).
- `gdx-catalog`: DESCRIBE on every dataset topic and on groups PREFIXED `gdx.ingest.` — what
  `gdx.ingest.status.consumer_lag` needs (metadata, watermarks, the ingestion group's committed
  offsets) and nothing more: it cannot read a record.
- `gdx-admin` is the broker's super user and needs no ACL. Any other principal gets nothing.

Which of the broker's bindings `plan` compares (the "managed" ones, `is_managed`): every binding
of a principal this project knows (every agency of the registry and the platform principals), and
every binding of any principal that could reach a `gdx.` topic or group (a LITERAL name under
`gdx.`, the LITERAL wildcard `*`, or a PREFIXED pattern that overlaps `gdx.`). So a stray grant to
an unknown user, or a `*` grant, on the exchange's topics is removed, while another team's
bindings on its own topics of a shared cluster are left alone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gdx.ingest.consumer import group_id
from gdx.security.principals import ADMIN, CATALOG, INGEST, PLATFORM_PRINCIPALS

if TYPE_CHECKING:
    from gdx.agencies import Agency
    from gdx.contracts.model import Contract

CLUSTER_NAME = "kafka-cluster"
"""The one name of Kafka's CLUSTER resource."""

INGEST_GROUP_PREFIX = group_id("")
"""`gdx.ingest.`: every ingestion consumer group is `gdx.ingest.<contract id>`."""
WATCH_GROUP_PREFIX = "gdx.watch."
"""The Airflow AssetWatcher's group `gdx.watch.activity` (gdx.orchestration.kafka_activity)."""
NAMESPACE = "gdx."
"""Every topic and platform group of the exchange starts with this; no agency may own it."""

RESOURCE_TYPES = ("TOPIC", "GROUP", "CLUSTER")
PATTERN_TYPES = ("LITERAL", "PREFIXED")
OPERATIONS = (
    "ALL",
    "READ",
    "WRITE",
    "CREATE",
    "DELETE",
    "ALTER",
    "DESCRIBE",
    "CLUSTER_ACTION",
    "DESCRIBE_CONFIGS",
    "ALTER_CONFIGS",
    "IDEMPOTENT_WRITE",
)


class AclError(RuntimeError):
    """The ACLs cannot be derived or applied; the message says which binding or contract and why."""


@dataclass(frozen=True, order=True)
class Binding:
    """One Kafka ACL binding (what `kafka-acls --list` shows as one line)."""

    principal: str
    """`User:<name>`: an agency code or a platform principal."""
    resource_type: str
    """TOPIC | GROUP | CLUSTER."""
    pattern_type: str
    """LITERAL | PREFIXED."""
    resource_name: str
    operation: str
    permission: str = "ALLOW"
    """ALLOW for everything desired; a DENY found on the broker is shown (and removed) as such."""
    host: str = "*"

    @property
    def user(self) -> str:
        """The principal without its `User:` type."""
        return self.principal.split(":", 1)[1] if ":" in self.principal else self.principal

    def describe(self) -> str:
        """One line: `ALLOW READ TOPIC gdx.moi.informal_debt_cases.v1` (PREFIXED names end in `*`)."""
        name = f"{self.resource_name}*" if self.pattern_type == "PREFIXED" else self.resource_name
        host = "" if self.host == "*" else f" from {self.host}"
        return f"{self.permission} {self.operation} {self.resource_type} {name}{host}"

    def as_dict(self) -> dict[str, str]:
        return {
            "principal": self.principal,
            "resource_type": self.resource_type,
            "pattern_type": self.pattern_type,
            "resource_name": self.resource_name,
            "operation": self.operation,
            "permission": self.permission,
            "host": self.host,
        }


def user(name: str) -> str:
    return f"User:{name}"


def _topic(principal: str, topic: str, *operations: str) -> set[Binding]:
    return {Binding(user(principal), "TOPIC", "LITERAL", topic, op) for op in operations}


def _groups(principal: str, prefix: str, operation: str) -> Binding:
    return Binding(user(principal), "GROUP", "PREFIXED", prefix, operation)


def _cluster(principal: str, operation: str) -> Binding:
    return Binding(user(principal), "CLUSTER", "LITERAL", CLUSTER_NAME, operation)


def agency_group_prefix(code: str) -> str:
    """`<code>.`: the consumer groups a granted agency may use."""
    return f"{code}."


def _check_agency(code: str, agencies: Mapping[str, Agency], contract: Contract, role: str) -> None:
    if code not in agencies:
        raise AclError(
            f"{contract.id}: {role} agency {code!r} is not in the agencies registry (ref.agencies)"
        )
    if code in PLATFORM_PRINCIPALS or agency_group_prefix(code).startswith(NAMESPACE):
        # An agency called "gdx" would get READ on groups `gdx.*`, the platform's own groups.
        raise AclError(f"{contract.id}: agency code {code!r} is reserved for the platform")


def desired_bindings(
    contracts: Mapping[str, Contract] | Iterable[Contract], agencies: Mapping[str, Agency]
) -> set[Binding]:
    """Every binding the contracts imply (see the module docstring); nothing else is allowed.

    `contracts` is `gdx.contracts.model.load_all(...)` (or its values); reference data (seeds) has
    no topic and grants nothing. A contract whose owner or grantee is not in the registry is an
    error, not a silent skip: the registry is the source of who exists.
    """
    items = contracts.values() if isinstance(contracts, Mapping) else contracts
    out: set[Binding] = set()
    streamed = sorted((c for c in items if c.topic and not c.is_seed), key=lambda c: c.id)
    for contract in streamed:
        owner = contract.agency
        _check_agency(owner, agencies, contract, "owner")
        out |= _topic(owner, contract.topic, "WRITE", "DESCRIBE", "CREATE")
        out.add(_cluster(owner, "IDEMPOTENT_WRITE"))

        out |= _topic(INGEST, contract.topic, "READ", "DESCRIBE")
        out |= _topic(INGEST, contract.dlq_topic, "WRITE", "DESCRIBE", "CREATE")

        out |= _topic(CATALOG, contract.topic, "DESCRIBE")

        for reader in contract.readers:
            _check_agency(reader, agencies, contract, "granted")
            out |= _topic(reader, contract.topic, "READ", "DESCRIBE")
            out.add(_groups(reader, agency_group_prefix(reader), "READ"))
    if streamed:
        out.add(_groups(INGEST, INGEST_GROUP_PREFIX, "READ"))
        out.add(_groups(INGEST, WATCH_GROUP_PREFIX, "READ"))
        out.add(_cluster(INGEST, "IDEMPOTENT_WRITE"))
        out.add(_groups(CATALOG, INGEST_GROUP_PREFIX, "DESCRIBE"))
    return out


def managed_principals(agencies: Iterable[str]) -> frozenset[str]:
    """`User:<code>` of every registered agency and of the platform principals."""
    return frozenset(user(p) for p in (*agencies, *PLATFORM_PRINCIPALS))


def _reaches_namespace(binding: Binding) -> bool:
    """Could this binding grant anything on a `gdx.` topic or group?"""
    if binding.resource_type not in ("TOPIC", "GROUP"):
        return False
    name = binding.resource_name
    if binding.pattern_type == "LITERAL":
        return name == "*" or name.startswith(NAMESPACE)
    if binding.pattern_type == "PREFIXED":
        return name.startswith(NAMESPACE) or NAMESPACE.startswith(name)
    return True  # an unknown pattern type on our resources: compare it, so that it gets removed


def is_managed(binding: Binding, principals: Collection[str]) -> bool:
    """True if `plan` compares this broker binding (module docstring: "managed")."""
    return binding.principal in principals or _reaches_namespace(binding)


def dataset_of(binding: Binding) -> str | None:
    """The contract id a TOPIC binding is about (`gdx.<agency>.<dataset>.v<n>`, `gdx.dlq.<agency>.<dataset>`)."""
    if binding.resource_type != "TOPIC" or binding.pattern_type != "LITERAL":
        return None
    parts = binding.resource_name.split(".")
    if len(parts) == 4 and parts[:2] == ["gdx", "dlq"]:
        return f"{parts[2]}.{parts[3]}"
    if len(parts) == 4 and parts[0] == "gdx" and parts[3][:1] == "v" and parts[3][1:].isdigit():
        return f"{parts[1]}.{parts[2]}"
    return None


@dataclass(frozen=True)
class Plan:
    """What `apply` changes on the broker: bindings to create and to delete, sorted."""

    to_add: tuple[Binding, ...] = ()
    to_remove: tuple[Binding, ...] = ()

    @property
    def in_sync(self) -> bool:
        return not self.to_add and not self.to_remove


def plan(desired: Collection[Binding], current: Collection[Binding]) -> Plan:
    """The difference: desired but absent → add; present (and managed) but not desired → remove."""
    want, have = set(desired), set(current)
    return Plan(to_add=tuple(sorted(want - have)), to_remove=tuple(sorted(have - want)))


def _principal_heading(principal: str, agencies: Mapping[str, Agency] | None) -> str:
    name = principal.split(":", 1)[-1]
    agency = (agencies or {}).get(name)
    if agency is not None:
        return f"{principal}  ({agency.name_th} / {agency.name_en})"
    platform = {INGEST: "บริการนำเข้าข้อมูล / ingestion service", CATALOG: "บริการบัญชีข้อมูล / catalog service"}
    if name in platform:
        return f"{principal}  ({platform[name]})"
    if name == ADMIN:
        return f"{principal}  (ผู้ดูแลระบบ / super user: needs no ACL)"
    return f"{principal}  (ไม่อยู่ในทะเบียนหน่วยงาน / not in the agencies registry)"


def format_plan(p: Plan, agencies: Mapping[str, Agency] | None = None) -> str:
    """The plan as text, grouped by principal, Thai first then English."""
    if p.in_sync:
        return "ACL ตรงกับสัญญาข้อมูลแล้ว / ACLs match the contracts: nothing to change"
    lines: list[str] = []
    sections = (
        ("+", "ACL ที่จะเพิ่ม / to add", p.to_add),
        ("-", "ACL ที่จะลบ / to remove", p.to_remove),
    )
    for sign, heading, bindings in sections:
        lines.append(f"{heading}: {len(bindings)}")
        for principal in sorted({b.principal for b in bindings}):
            lines.append(f"  {_principal_heading(principal, agencies)}")
            lines += [f"    {sign} {b.describe()}" for b in bindings if b.principal == principal]
    lines.append(f"รวม / total: +{len(p.to_add)} -{len(p.to_remove)}")
    return "\n".join(lines)


def format_bindings(bindings: Collection[Binding], agencies: Mapping[str, Agency] | None = None) -> str:
    """A set of bindings as text grouped by principal (what the contracts imply, for review)."""
    lines: list[str] = []
    for principal in sorted({b.principal for b in bindings}):
        lines.append(_principal_heading(principal, agencies))
        lines += [f"  {b.describe()}" for b in sorted(bindings) if b.principal == principal]
    return "\n".join(lines)


# --- the broker side (confluent-kafka AdminClient) ------------------------------------------------


def _kafka_enums() -> Any:
    from confluent_kafka.admin import AclOperation, AclPermissionType, ResourcePatternType, ResourceType

    return ResourceType, ResourcePatternType, AclOperation, AclPermissionType


def _restype_name(restype: Any) -> str:
    # librdkafka calls Kafka's CLUSTER resource type BROKER (same wire value, 4).
    return "CLUSTER" if restype.name == "BROKER" else restype.name


def from_kafka(acl: Any) -> Binding:
    """A confluent-kafka `AclBinding` as a `Binding`."""
    return Binding(
        principal=acl.principal,
        resource_type=_restype_name(acl.restype),
        pattern_type=acl.resource_pattern_type.name,
        resource_name=acl.name,
        operation=acl.operation.name,
        permission=acl.permission_type.name,
        host=acl.host,
    )


def to_kafka(binding: Binding, *, as_filter: bool = False) -> Any:
    """A `Binding` as a confluent-kafka `AclBinding` (or the exact `AclBindingFilter` that deletes it)."""
    from confluent_kafka.admin import AclBinding, AclBindingFilter

    rtype, ptype, op, perm = _kafka_enums()
    restype = rtype.BROKER if binding.resource_type == "CLUSTER" else rtype[binding.resource_type]
    cls = AclBindingFilter if as_filter else AclBinding
    return cls(
        restype,
        binding.resource_name,
        ptype[binding.pattern_type],
        binding.principal,
        binding.host,
        op[binding.operation],
        perm[binding.permission],
    )


def _all_filter() -> Any:
    from confluent_kafka.admin import AclBindingFilter

    rtype, ptype, op, perm = _kafka_enums()
    return AclBindingFilter(rtype.ANY, None, ptype.ANY, None, None, op.ANY, perm.ANY)


def broker_bindings(admin: Any, timeout_s: float = 30.0) -> set[Binding]:
    """Every binding on the broker (needs DESCRIBE on the cluster: run as the super user)."""
    from confluent_kafka import KafkaError, KafkaException

    try:
        acls = admin.describe_acls(_all_filter(), request_timeout=timeout_s).result()
    except KafkaException as exc:
        err = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
        code = err.code() if err is not None else None
        if code == KafkaError.SECURITY_DISABLED:
            raise AclError(
                "the broker has no authorizer (security disabled): ACLs cannot be listed or enforced"
            ) from None
        if code in (KafkaError.CLUSTER_AUTHORIZATION_FAILED, KafkaError.TOPIC_AUTHORIZATION_FAILED):
            raise AclError(f"not allowed to list ACLs (connect as {ADMIN}, the super user): {err}") from None
        if code in (KafkaError._TIMED_OUT, KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN):
            raise AclError(
                f"no Kafka broker answered within {timeout_s:.0f} s (is it running? `gdx kafka status`): {err}"
            ) from None
        raise AclError(f"cannot list the broker's ACLs: {exc}") from None
    return {from_kafka(a) for a in acls}


def current_bindings(admin: Any, principals: Collection[str] = (), timeout_s: float = 30.0) -> set[Binding]:
    """The broker's managed bindings (`is_managed`), as `Binding`s.

    `admin` is a confluent-kafka `AdminClient` connected as `gdx-admin`. `principals` are the
    `User:<name>`s this project manages besides the platform ones (`managed_principals(agencies)`).
    """
    known = frozenset(principals) | managed_principals(())
    return {b for b in broker_bindings(admin, timeout_s) if is_managed(b, known)}


def admin_client(connection: Any) -> Any:
    """A confluent-kafka `AdminClient` for a `KafkaConnection` (or a librdkafka config dict)."""
    from confluent_kafka.admin import AdminClient

    config: dict[str, Any] = (
        connection.librdkafka() if hasattr(connection, "librdkafka") else dict(connection)
    )
    config.setdefault("client.id", "gdx-acls")
    # librdkafka's connection chatter goes to logging, not over the plan on stderr
    config.setdefault("logger", logging.getLogger("gdx.security.acls.librdkafka"))
    return AdminClient(config)


@dataclass
class ApplyResult:
    added: list[Binding] = field(default_factory=list)
    removed: list[Binding] = field(default_factory=list)


def _record(
    audit: Any, actor: str, action: str, binding: Binding, outcome: str, error: str | None = None
) -> None:
    """One audit entry per ACL change (`acl.add` / `acl.remove`); the grantee goes in `detail`."""
    if audit is None:
        return
    detail: dict[str, Any] = binding.as_dict()
    if error:
        detail["error"] = error[:300]
    audit.append(principal=actor, action=action, outcome=outcome, dataset=dataset_of(binding), detail=detail)


def apply(
    connection: Any,
    p: Plan,
    audit: Any = None,
    actor: str = ADMIN,
    timeout_s: float = 30.0,
) -> ApplyResult:
    """Create `p.to_add`, delete `p.to_remove`, then wait until the broker shows the change.

    `connection` is the admin's `KafkaConnection` (`connection_for("gdx-admin", settings)`), a
    librdkafka config dict or a ready `AdminClient`. `audit` is a `gdx.audit.AuditLog` (anything
    with its `append`); every binding created or deleted is one `acl.add` / `acl.remove` entry
    with outcome `ok`, one the broker refused an entry with outcome `error`. Additions go first so
    that a binding moved from one form to another is never briefly missing. Creating a binding
    that exists, or deleting one that is gone, is a no-op on the broker, so a re-run after a
    partial failure finishes the job. Raises `AclError` naming every binding that failed.

    Fails closed on the audit log: a grant whose entry cannot be written is deleted again (no
    access without a record); a removal stands even then (refusing access is the safe side) and
    the error says it went unrecorded.
    """
    admin = connection if hasattr(connection, "create_acls") else admin_client(connection)
    result = ApplyResult()
    failures: list[str] = []
    if p.to_add:
        acls = [to_kafka(b) for b in p.to_add]
        futures = admin.create_acls(acls, request_timeout=timeout_s)
        created: list[Binding] = []
        for acl, binding in zip(acls, p.to_add, strict=True):
            try:
                futures[acl].result()
            except Exception as exc:  # KafkaException: the broker refused this binding
                failures.append(f"add {binding.principal} {binding.describe()}: {exc}")
                _record(audit, actor, "acl.add", binding, "error", str(exc))
            else:
                created.append(binding)
        for i, binding in enumerate(created):
            try:
                _record(audit, actor, "acl.add", binding, "ok")
            except Exception as exc:
                _delete(admin, created[i:], timeout_s)
                raise AclError(
                    f"the audit log cannot be written ({exc}); the {len(created) - i} grant(s) not yet "
                    "recorded were taken back, nothing else changed"
                ) from exc
            result.added.append(binding)
    if p.to_remove:
        deleted, errors = _delete(admin, list(p.to_remove), timeout_s)
        for binding, error in errors.items():
            failures.append(f"remove {binding.principal} {binding.describe()}: {error}")
            _record(audit, actor, "acl.remove", binding, "error", error)
        for i, binding in enumerate(deleted):
            try:
                _record(audit, actor, "acl.remove", binding, "ok")
            except Exception as exc:
                unrecorded = ", ".join(f"{b.principal} {b.describe()}" for b in deleted[i:])
                raise AclError(
                    f"ACLs removed but the audit log cannot be written ({exc}): {unrecorded}"
                ) from exc
            result.removed.append(binding)
    if failures:
        raise AclError("ACL changes failed:\n  " + "\n  ".join(failures))
    _await(admin, result, timeout_s)
    return result


def _delete(
    admin: Any, bindings: list[Binding], timeout_s: float
) -> tuple[list[Binding], dict[Binding, str]]:
    """Delete exactly these bindings: (deleted, {binding: error})."""
    if not bindings:
        return [], {}
    filters = [to_kafka(b, as_filter=True) for b in bindings]
    futures = admin.delete_acls(filters, request_timeout=timeout_s)
    deleted: list[Binding] = []
    errors: dict[Binding, str] = {}
    for flt, binding in zip(filters, bindings, strict=True):
        try:
            futures[flt].result()
        except Exception as exc:
            errors[binding] = str(exc)
        else:
            deleted.append(binding)
    return deleted, errors


def _await(admin: Any, result: ApplyResult, timeout_s: float) -> None:
    """Return once the broker's authorizer shows the change (KRaft applies ACLs from its metadata
    log, a moment after the controller acknowledged them), so a caller's next request is judged
    by the new rules."""
    if not result.added and not result.removed:
        return
    deadline = time.monotonic() + timeout_s
    while True:
        have = broker_bindings(admin, timeout_s)
        if set(result.added) <= have and not have & set(result.removed):
            return
        if time.monotonic() > deadline:
            raise AclError(f"the broker did not show the ACL changes within {timeout_s:.0f} s")
        time.sleep(0.1)


def sync(
    settings: Any = None,
    connection: Any = None,
    audit: Any = None,
    timeout_s: float = 30.0,
) -> tuple[Plan, ApplyResult]:
    """Make the broker's ACLs what the contracts imply: `plan` then `apply`; what `gdx acls apply`
    and `gdx kafka up` run. Returns the plan that was applied and what changed.

    `settings` (default `Settings.from_env()`) names the contracts folder; `connection` defaults
    to `connection_for("gdx-admin", settings)`; `audit` defaults to the lake's audit log
    (`audit_log(settings)`).
    """
    from gdx.agencies import load_agencies
    from gdx.contracts.model import load_all
    from gdx.settings import Settings

    settings = settings or Settings.from_env()
    agencies = load_agencies(settings.contracts_dir)
    desired = desired_bindings(load_all(settings.contracts_dir), agencies)
    if connection is None:
        from gdx.security.kafka_conn import connection_for

        connection = connection_for(ADMIN, settings)
    admin = admin_client(connection)
    p = plan(desired, current_bindings(admin, managed_principals(agencies), timeout_s))
    if audit is None and not p.in_sync:
        audit = audit_log(settings)
    return p, apply(admin, p, audit, timeout_s=timeout_s)


def grant(
    connection: Any,
    contracts: Mapping[str, Contract] | Iterable[Contract],
    agencies: Mapping[str, Agency],
    audit: Any = None,
    timeout_s: float = 30.0,
) -> ApplyResult:
    """Add what these contracts imply and the broker lacks; remove nothing.

    For contracts that are not (yet) the whole truth: a test's contract on a topic of its own,
    or several clusters' worth of contracts applied one part at a time. `sync` is the full
    reconciliation (it also removes).
    """
    admin = connection if hasattr(connection, "create_acls") else admin_client(connection)
    missing = desired_bindings(contracts, agencies) - broker_bindings(admin, timeout_s)
    return apply(admin, Plan(to_add=tuple(sorted(missing))), audit, timeout_s=timeout_s)


def audit_log(settings: Any) -> Any:
    """The tamper-evident audit log every ACL change is appended to (`gdx.audit.AuditLog`)."""
    from gdx.audit import AuditLog

    return AuditLog.from_settings(settings)


def apply_from_settings(settings: Any = None) -> str:
    """`sync(settings)` for `gdx kafka up`: a one-line summary of what changed."""
    p, result = sync(settings)
    if p.in_sync:
        return "ACL ตรงกับสัญญาข้อมูลแล้ว / ACLs already match the contracts"
    return f"ACL จากสัญญาข้อมูล / ACLs from the contracts: +{len(result.added)} -{len(result.removed)}"
