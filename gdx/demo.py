"""`gdx demo` (what `make demo` runs): the whole exchange end to end on sample data.

Each stage runs the same command a data engineer would type (`gdx kafka up`, `gdx sample`,
`gdx produce`, `dag.test()` of gdx_dispatch and `ingest_<agency>` (gdx.orchestration.dag_test), `gdx build`, `gdx kpi`),
so the demo exercises the real entry points, not a shortcut. Counts are reconciled from the lake's ledger at the end.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gdx.settings import REPO_ROOT, Settings

DEMO_ROWS = {
    "pcd.air_quality_hourly": 6000,
    "gistda.fire_hotspots": 3000,
    "dla.municipal_waste_monthly": 1500,
    "dga.eservice_transactions_daily": 3000,
    "moi.informal_debt_cases": 2000,
    "customs.border_trade_daily": 3000,
}
BAD_RATIO = 0.02
SEED = 2567


class DemoError(RuntimeError):
    """A demo stage failed; the message names the stage and shows the command's output."""


@dataclass
class Stage:
    name: str
    seconds: float
    detail: str


@dataclass
class DemoReport:
    stages: list[Stage] = field(default_factory=list)
    produced: dict[str, dict[str, int]] = field(default_factory=dict)
    ledger: dict[str, dict[str, int]] = field(default_factory=dict)


def demo_env(settings: Settings) -> dict[str, str]:
    """The environment every stage runs with: local defaults, Airflow home, a PII key from config."""
    env = os.environ.copy()
    env.setdefault("GDX_STATE_DIR", str(settings.state_dir))
    # Airflow sized for this machine, secrets from the state folder (the operator's variables win)
    from gdx.orchestration.airflow_env import airflow_env

    home = Path(env.get("AIRFLOW_HOME") or settings.state_dir / "airflow")
    for key, value in airflow_env(home, state_dir=settings.state_dir).items():
        env.setdefault(key, value)
    if not env.get("GDX_PII_KEY"):
        # The key is configuration: generated once into the git-ignored state folder, never in code.
        key_file = settings.state_dir / "pii.key"
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            _write_secret(key_file, f"k1:{secrets.token_hex(32)}\n")
        env["GDX_PII_KEY"] = key_file.read_text().strip()
    if not env.get("GDX_FIELD_PRIVATE_KEYS"):
        # Field-encryption key pair k1 for personal data on the wire, in <state>/keys/field/
        # (GDX_FIELD_KEYS_DIR): the producers read its public half, landing its private half.
        from gdx.security.field_keys import ensure_keys

        ensure_keys(settings.field_keys_dir)
    return env


def _write_secret(path: Path, text: str) -> None:
    """Create `path` readable by its owner only from the first byte (O_EXCL, mode 0600): never
    written first and restricted after, when another user could have opened it in between."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def _run(stage: str, cmd: list[str], env: dict[str, str], ok_codes: tuple[int, ...] = (0,)) -> str:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=REPO_ROOT)
    if done.returncode not in ok_codes:
        tail = "\n".join((done.stdout + "\n" + done.stderr).strip().splitlines()[-40:])
        raise DemoError(f"{stage} failed (exit {done.returncode}): {' '.join(cmd)}\n{tail}")
    return done.stdout


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def run_demo(echo: Callable[[str], object] = print) -> DemoReport:
    """Run every stage; raises `DemoError` at the first failure."""
    from gdx.contracts import load_all
    from gdx.contracts.exporters.dag import POOLS_PATH
    from gdx.producer import produce_file
    from gdx.sample import default_name, generate
    from gdx.security.kafka_conn import connection_for

    settings = Settings.from_env()
    env = demo_env(settings)
    report = DemoReport()

    def stage(name: str, started: float, detail: str) -> None:
        report.stages.append(Stage(name, time.monotonic() - started, detail))
        echo(f"✓ {name} ({time.monotonic() - started:.1f}s) {detail}")

    t = time.monotonic()
    # Starts the secure broker, provisions every agency's and platform principal's credential
    # and applies the contracts' ACLs; every later stage connects with its own principal's file.
    bootstrap = _run("kafka up", [_bin("gdx"), "kafka", "up"], env).strip().splitlines()[-1]
    stage("broker", t, f"Kafka at {bootstrap} (SASL_SSL, SCRAM-SHA-512, ACLs from the contracts)")

    t = time.monotonic()
    _run("airflow db migrate", [_bin("airflow"), "db", "migrate"], env)
    # each ingest task runs in its dataset's one-slot pool, which Airflow 3 requires to exist
    _run("airflow pools import", [_bin("airflow"), "pools", "import", str(REPO_ROOT / POOLS_PATH)], env)
    stage("airflow metadata", t, f"SQLite under {env['AIRFLOW_HOME']}")

    contracts = {cid: c for cid, c in load_all(settings.contracts_dir).items() if not c.is_seed}
    samples = settings.state_dir / "demo" / "samples"
    samples.mkdir(parents=True, exist_ok=True)
    for cid, contract in sorted(contracts.items()):
        t = time.monotonic()
        path = generate(cid, DEMO_ROWS.get(cid, 1000), BAD_RATIO, SEED, samples / default_name(cid))
        # Each agency publishes its own dataset with its own credential (what `gdx produce` does).
        result = produce_file(contract, path, connection=connection_for(contract.agency, settings))
        if result.failures:
            raise DemoError(f"publishing {cid} had {len(result.failures)} delivery failures")
        report.produced[cid] = {
            "read": result.read,
            "rejected": len(result.rejects),
            "published": result.published,
        }
        stage(
            f"produce {cid}", t, f"{result.published} published, {len(result.rejects)} rejected at the edge"
        )

    t = time.monotonic()
    # The dispatcher's one admin round over every topic: which agencies have records waiting.
    _run("dag test gdx_dispatch", [_bin("python"), "-m", "gdx.orchestration.dag_test", "gdx_dispatch"], env)
    stage("dispatch", t, "dag.test() of gdx_dispatch")
    by_agency: dict[str, list[str]] = {}
    for contract in sorted(contracts.values(), key=lambda c: c.id):
        by_agency.setdefault(contract.agency, []).append(contract.dataset)
    for agency, datasets in sorted(by_agency.items()):
        t = time.monotonic()
        dag_id = f"ingest_{agency}"
        conf = json.dumps({"datasets": datasets})
        _run(
            f"dag test {dag_id}",
            [_bin("python"), "-m", "gdx.orchestration.dag_test", dag_id, "--conf", conf],
            env,
        )
        stage(f"ingest {agency}", t, f"dag.test() of {dag_id} ({', '.join(datasets)})")

    report.ledger = reconcile(settings.lake_root)
    for cid, counts in report.ledger.items():
        echo(
            f"  ledger {cid}: in={counts['rows_in']} landed={counts['rows_landed']} "
            f"quarantined={counts['rows_quarantined']}"
        )

    t = time.monotonic()
    _run("gdx build", [_bin("gdx"), "build"], env)
    stage("dbt build", t, f"warehouse {env.get('GDX_WAREHOUSE', settings.warehouse)}")

    echo(_run("gdx kpi", [_bin("gdx"), "kpi"], env))
    echo(
        "Dashboard and CKAN-compatible catalog: run `gdx serve` (or `make serve`) and open http://127.0.0.1:8000/"
    )
    return report


def reconcile(lake_root: str) -> dict[str, dict[str, int]]:
    """Per contract: rows in / landed / quarantined from the ledger; raises if they do not add up."""
    import duckdb

    pattern = f"{lake_root.rstrip('/')}/ledger/*/*/*.parquet"
    con = duckdb.connect()
    rows = con.execute(
        "select contract_id, sum(rows_in), sum(rows_landed), sum(rows_quarantined) "
        "from read_parquet(?, union_by_name = true) group by all order by 1",
        [pattern],
    ).fetchall()
    out = {}
    for contract_id, rows_in, landed, quarantined in rows:
        if rows_in != landed + quarantined:
            raise DemoError(
                f"{contract_id}: ledger does not reconcile: {rows_in} in != {landed} + {quarantined}"
            )
        out[contract_id] = {
            "rows_in": int(rows_in),
            "rows_landed": int(landed),
            "rows_quarantined": int(quarantined),
        }
    return out
