"""Who may connect to Kafka: the platform's own principals and every registered agency.

An agency's Kafka user name is its code from the agencies registry (`pcd`, `moi`, …); the
platform principals are not agencies. `gdx-admin` is the broker's only super user (it also
authenticates the broker to itself); every other principal gets exactly the ACLs the contracts
imply (`gdx.security.acls`).
"""

from __future__ import annotations

from pathlib import Path

INGEST = "gdx-ingest"  # the ingestion service: reads dataset topics, writes dead-letter topics
CATALOG = "gdx-catalog"  # the catalog service
ADMIN = "gdx-admin"  # the only super user: provisioning, ACLs, topic administration
PLATFORM_PRINCIPALS = (INGEST, CATALOG, ADMIN)


def all_principals(contracts_dir: Path | None = None) -> list[str]:
    """Platform principals first, then every agency in registry order."""
    from gdx.agencies import load_agencies

    agencies = [code for code in load_agencies(contracts_dir) if code not in PLATFORM_PRINCIPALS]
    return [*PLATFORM_PRINCIPALS, *agencies]
