"""`gdx keys rotate|list|public`: the versioned key pairs that seal personal data on the wire."""

from __future__ import annotations

import typer

from gdx.cli.errors import fail


def register(app: typer.Typer) -> None:
    keys = typer.Typer(
        help="Field-encryption keys (X25519, versioned k1, k2, …) for personal data on Kafka.",
        no_args_is_help=True,
    )

    @keys.command("rotate")
    def rotate() -> None:
        """Add a new key pair k<n+1> to GDX_FIELD_KEYS_DIR: producers encrypt with it from now on,
        landing keeps reading every older version it holds. Prints the new version; appends a
        `key.rotate` entry to the audit log."""
        from gdx.security import field_keys
        from gdx.settings import Settings

        settings = Settings.from_env()
        try:
            existing = field_keys.FieldKeyring.from_settings(settings)
            version = field_keys.rotate(settings.field_keys_dir, existing)
            ring = field_keys.FieldKeyring.from_settings(settings)
        except field_keys.FieldKeyError as exc:
            raise fail(str(exc)) from None
        fingerprint = ring.fingerprints()[version]
        try:  # the rotation goes on the tamper-evident record (version and fingerprint, never a key)
            from gdx.audit import AuditLog

            AuditLog.from_settings(settings).append(
                principal="gdx-admin",
                action="key.rotate",
                outcome="ok",
                detail={
                    "key_version": version,
                    "fingerprint": fingerprint,
                    "previous_version": existing.newest,
                },
            )
        except Exception as exc:  # the key exists; the missing record must not go unnoticed
            raise fail(
                f"key pair {version} was created, but the audit entry could not be written: {exc}"
            ) from None
        typer.echo(version)
        typer.echo(
            f"new key pair {version} (fingerprint {fingerprint}) in {settings.field_keys_dir}; "
            "give agencies the new public key: `gdx keys public`",
            err=True,
        )
        if settings.field_private_keys:
            typer.echo(
                "note: GDX_FIELD_PRIVATE_KEYS is set; add the new private key to wherever that value is kept",
                err=True,
            )

    @keys.command("list")
    def list_keys() -> None:
        """Versions, fingerprints and which half of each pair is configured (never a key)."""
        from gdx.security import field_keys
        from gdx.settings import Settings

        settings = Settings.from_env()
        try:
            ring = field_keys.FieldKeyring.from_settings(settings)
        except field_keys.FieldKeyError as exc:
            raise fail(str(exc)) from None
        if not ring.versions:
            raise fail(
                f"no field keys configured (folder {settings.field_keys_dir}); create one with `gdx keys rotate`"
            )
        prints = ring.fingerprints()
        for version in ring.versions:
            halves = "public+private" if version in ring.private else "public only"
            mark = "  (newest: producers encrypt with it)" if version == ring.newest else ""
            typer.echo(f"{version}  {prints.get(version, '-'):16}  {halves}{mark}")

    @keys.command("public")
    def public() -> None:
        """The public keys as a GDX_FIELD_PUBLIC_KEYS value, for agencies' producers."""
        from gdx.security import field_keys
        from gdx.settings import Settings

        try:
            ring = field_keys.FieldKeyring.from_settings(Settings.from_env())
        except field_keys.FieldKeyError as exc:
            raise fail(str(exc)) from None
        if not ring.public:
            raise fail("no field keys configured; create one with `gdx keys rotate`")
        typer.echo(
            ",".join(f"{v}:{field_keys.b64encode(ring.public[v])}" for v in ring.versions if v in ring.public)
        )

    app.add_typer(keys, name="keys")
