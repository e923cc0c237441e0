"""SCRAM-SHA-512 credentials for every principal, and each one's client-config file.

The client file (`<clients>/<principal>.properties`, mode 0600, plus `<principal>.java.properties`
for Kafka's Java tools) is the only place a password is kept: the broker stores a salted SCRAM
verifier, never the password. Provisioning is idempotent: a principal whose file exists keeps
its password, and its credential is only (re)sent to the broker when the broker lacks it (e.g.
after its data was deleted). `rotate` gives one principal a new password and touches no other.

`gdx-admin` is special: the broker authenticates to itself with it, so its credential must
exist before the broker first starts. `admin_password` makes (or reads) it, and the storage
format step bootstraps it into the metadata log (`kafka-storage format --add-scram`, KIP-900).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from gdx.security.kafka_conn import KafkaConfigError, KafkaConnection, client_file
from gdx.security.principals import ADMIN

MECHANISM = "SCRAM-SHA-512"
# Kafka's minimum is 4096; 8192 keeps a login cheap (one PBKDF2 per connection) yet slows guessing.
ITERATIONS = 8192
TIMEOUT_S = 30.0


class ProvisionError(RuntimeError):
    """The broker refused or did not answer a credential change; the message names the principal."""


def new_password() -> str:
    # URL-safe alphabet: no quoting issues in properties files, JAAS strings or --add-scram.
    return secrets.token_urlsafe(32)


@dataclass
class ProvisionResult:
    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)  # file existed, broker lacked the credential
    rotated: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Provisioner:
    """Writes client files under `clients_dir` for a cluster at `bootstrap` (SASL_SSL + SCRAM)."""

    bootstrap: str
    clients_dir: Path
    ca_file: str | None
    security_protocol: str = "SASL_SSL"

    def path(self, principal: str) -> Path:
        return client_file(self.clients_dir, principal)

    def connection(self, principal: str, password: str) -> KafkaConnection:
        return KafkaConnection(
            bootstrap=self.bootstrap,
            security_protocol=self.security_protocol,
            sasl_mechanism=MECHANISM,
            username=principal,
            password=password,
            ca_file=self.ca_file,
            principal=principal,
        )

    def stored_password(self, principal: str) -> str | None:
        path = self.path(principal)
        if not path.exists():
            return None
        return KafkaConnection.load(path).password

    def write(self, principal: str, password: str) -> KafkaConnection:
        conn = self.connection(principal, password)
        self.clients_dir.mkdir(parents=True, exist_ok=True)
        self.clients_dir.chmod(0o700)
        conn.write(self.path(principal))
        conn.write_java(self.clients_dir / f"{principal}.java.properties")
        return conn

    def admin_password(self) -> str:
        """gdx-admin's password, made and written on first use (before the broker is formatted)."""
        password = self.stored_password(ADMIN)
        if password is None:
            password = new_password()
            self.write(ADMIN, password)
        return password

    def refresh(self, principals: Iterable[str]) -> None:
        """Rewrite existing files with the current bootstrap/CA (a restart on another port), keeping passwords."""
        for principal in principals:
            password = self.stored_password(principal)
            if password is not None and self.connection(principal, password) != KafkaConnection.load(
                self.path(principal), principal=principal
            ):
                self.write(principal, password)

    # -- against the broker ------------------------------------------------------------------------
    def _admin(self):
        from confluent_kafka.admin import AdminClient

        password = self.stored_password(ADMIN)
        if password is None:
            raise KafkaConfigError(
                f"no {ADMIN} client config in {self.clients_dir}: the broker was not set up here"
            )
        # librdkafka's connection chatter goes to logging, not over the command's output.
        logger = logging.getLogger("gdx.security.librdkafka")
        return AdminClient({**self.connection(ADMIN, password).librdkafka(), "logger": logger})

    def _users_with_credentials(self, admin, principals: list[str]) -> set[str]:
        from confluent_kafka import KafkaException

        futures = admin.describe_user_scram_credentials(principals, request_timeout=TIMEOUT_S)
        have = set()
        for user, future in futures.items():
            try:
                description = future.result()
            except KafkaException as exc:
                if exc.args and getattr(exc.args[0], "name", lambda: "")() == "RESOURCE_NOT_FOUND":
                    continue
                raise ProvisionError(f"cannot read the SCRAM credentials of {user!r}: {exc}") from exc
            if any(
                info.mechanism.name == MECHANISM.replace("-", "_")
                for info in description.scram_credential_infos
            ):
                have.add(user)
        return have

    def _upsert(self, admin, passwords: dict[str, str]) -> None:
        if not passwords:
            return
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import ScramCredentialInfo, ScramMechanism, UserScramCredentialUpsertion

        info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, ITERATIONS)
        alterations = [UserScramCredentialUpsertion(u, info, p.encode()) for u, p in passwords.items()]
        for user, future in admin.alter_user_scram_credentials(
            alterations, request_timeout=TIMEOUT_S
        ).items():
            try:
                future.result()
            except KafkaException as exc:
                raise ProvisionError(f"the broker refused the SCRAM credential of {user!r}: {exc}") from exc

    def provision(self, principals: Iterable[str]) -> ProvisionResult:
        """Make sure every principal has a credential on the broker and a client file; idempotent."""
        principals = list(dict.fromkeys(principals))
        result = ProvisionResult()
        admin = self._admin()
        on_broker = self._users_with_credentials(admin, principals)
        to_send: dict[str, str] = {}
        for principal in principals:
            password = self.stored_password(principal)
            if password is None:
                password = new_password()
                to_send[principal] = password
                result.created.append(principal)
            elif principal not in on_broker:
                to_send[principal] = password
                result.restored.append(principal)
            else:
                result.kept.append(principal)
        # The broker first, then the file: a file never holds a password the broker does not know.
        self._upsert(admin, to_send)
        for principal in result.created:
            self.write(principal, to_send[principal])
        return result

    def rotate(self, principal: str) -> KafkaConnection:
        """Give `principal` a new password (on the broker and in its file); no other principal changes."""
        password = new_password()
        self._upsert(self._admin(), {principal: password})
        return self.write(principal, password)
