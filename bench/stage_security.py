"""Security: what SASL_SSL + SCRAM-SHA-512 + ACLs cost, against a plain listener in the same run.

Two throwaway brokers side by side: the secure default (`ctx.kafka`, TLS from the project's own
CA, SCRAM, StandardAuthorizer) and one started with `insecure_plaintext=True`. Each repeat runs,
interleaved so machine noise hits both alike:

* publish — `gdx produce`'s library path (`produce_file`, the default kafka-python client) on the
  same Air4Thai source file to a fresh topic of each broker; its rejects must equal the
  generator's ground truth on both;
* ingest — the ingestion engine in a child process (as the ingest stage runs it) over the same
  wire dataset loaded on each broker, a fresh lake and group offsets reset; the lake is verified
  exactly (quarantine = planted bad records, landed + quarantined = produced, offsets committed).

The figure is the ratio secure / plain of the medians (goal: at most 15% slower, ≥ 0.85×).
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from bench import stats
from bench.context import Context
from bench.model import Measurement, not_run
from bench.stage_ingest import run_child, verify_lake
from bench.stage_publish import run_gdx

KEY_PUBLISH_SECURE = "security.publish_sasl_ssl"
KEY_PUBLISH_PLAIN = "security.publish_plain"
KEY_INGEST_SECURE = "security.ingest_sasl_ssl"
KEY_INGEST_PLAIN = "security.ingest_plain"


class _Side:
    """One broker of the comparison: its admin connection and a client-config file for children."""

    def __init__(self, ctx: Context, secure: bool) -> None:
        self.ctx, self.secure = ctx, secure
        self.name = "sasl_ssl" if secure else "plain"
        self._topic: str | None = None

    @property
    def kafka(self) -> Any:
        if self.secure:
            return self.ctx.kafka
        return _plain_broker(self.ctx).connection("gdx-admin")

    @property
    def client_config(self) -> str:
        if self.secure:
            return self.ctx.kafka_client_config
        path = self.ctx.subdir("security", "plain-clients") / "gdx-admin.properties"
        if not path.exists():
            self.kafka.write(path)
        return str(path)

    def loaded_topic(self) -> str:
        """The wire dataset on this broker's contract topic (the secure one is the ingest stage's)."""
        if self._topic is None:
            ds = self.ctx.loaded_wire
            if not self.secure:
                from bench.data import load_topic

                self.ctx.log(f"loading {ds.n:,} records into {ds.topic} on the plain broker …")
                load_topic(ds, self.kafka, ds.topic)
            self._topic = ds.topic
        return self._topic


def _plain_broker(ctx: Context) -> Any:
    broker = ctx.cache.get("plain_broker")
    if broker is None:
        from gdx.kafka_local import throwaway_broker

        ctx.log("starting a second throwaway broker with a plain listener (for comparison only) …")
        broker = ctx._stack.enter_context(
            throwaway_broker(ctx.subdir("security", "plain-kafka"), insecure_plaintext=True)
        )
        ctx.cache["plain_broker"] = broker
    return broker


def _publish_once(ctx: Context, side: _Side, m: Measurement) -> None:
    topic = f"gdx.bench.security.{side.name}.{uuid.uuid4().hex[:8]}"
    r = run_gdx(_Rebound(ctx, side.kafka), topic)
    m.repeats.append(r)
    if not r["exact"]:
        m.fail(f"rejects differ from ground truth ({r['missed_rejects']} missed, {r['extra_rejects']} extra)")
        return
    m.samples.append(r["rate"])


def _ingest_once(ctx: Context, side: _Side, m: Measurement, rep: int) -> None:
    from bench import ingest_api
    from bench.kafka_util import set_group_offsets

    ds = ctx.loaded_wire
    topic = side.loaded_topic()
    lake = ctx.subdir("security", side.name, f"r{rep}", "lake")
    state = ctx.subdir("security", side.name, f"r{rep}", "state")
    group = ingest_api.group_for(ctx.contract.id)
    set_group_offsets(side.kafka, topic, group, "beginning")
    spec = {
        "env": {
            "GDX_LAKE_ROOT": str(lake),
            "GDX_STATE_DIR": str(state),
            "GDX_KAFKA_CLIENT_CONFIG": side.client_config,
        },
        "call": {"client_config": side.client_config, "contract_id": ctx.contract.id},
    }
    r = run_child(spec, ctx.subdir("security", side.name, f"r{rep}"))
    m.repeats.append(r)
    if not r.get("ok"):
        m.fail(f"repeat {rep + 1}: {str(r.get('error', 'failed'))[:300]}")
        return
    r["verify"] = v = verify_lake(lake, ds, side.kafka, group)
    if not v["ok"]:
        m.fail(f"repeat {rep + 1}: the lake is not exact on the {side.name} broker")
        return
    m.samples.append(stats.rate(ds.n, r["engine_s"]))


@dataclasses.dataclass
class _Rebound:
    """A view of the context whose `kafka` is another broker's connection (for `run_gdx`)."""

    base: Context
    kafka: Any

    def __getattr__(self, name: str) -> Any:
        return getattr(self.base, name)


def run(ctx: Context) -> None:
    run = ctx.run
    pub_secure = run.add(
        Measurement(
            KEY_PUBLISH_SECURE,
            "security",
            "gdx produce over SASL_SSL + SCRAM (ACLs on)",
            stats.RATE,
            "ours",
            compare=[KEY_PUBLISH_PLAIN],
        )  # fmt: skip
    )
    pub_plain = run.add(
        Measurement(
            KEY_PUBLISH_PLAIN, "security", "gdx produce over a plain listener", stats.RATE, "baseline"
        )
    )
    ing_secure = run.add(
        Measurement(
            KEY_INGEST_SECURE,
            "security",
            "gdx ingest over SASL_SSL + SCRAM (ACLs on)",
            stats.RATE,
            "ours",
            compare=[KEY_INGEST_PLAIN],
        )  # fmt: skip
    )
    ing_plain = run.add(
        Measurement(KEY_INGEST_PLAIN, "security", "gdx ingest over a plain listener", stats.RATE, "baseline")
    )
    from bench import ingest_api

    ingest_ready = ingest_api.ingest_function()
    if isinstance(ingest_ready, str):
        for m in (ing_secure, ing_plain):
            m.status = not_run(ingest_ready)
    secure, plain = _Side(ctx, True), _Side(ctx, False)
    for rep in range(ctx.options.repeats):
        # alternate which side goes first, so a trend in machine load favours neither
        order = (secure, plain) if rep % 2 == 0 else (plain, secure)
        for side in order:
            ctx.log(f"security repeat {rep + 1}/{ctx.options.repeats}: publish on the {side.name} broker …")
            _publish_once(ctx, side, pub_secure if side.secure else pub_plain)
        if ing_secure.ran:
            for side in order:
                ctx.log(
                    f"security repeat {rep + 1}/{ctx.options.repeats}: ingest on the {side.name} broker …"
                )
                _ingest_once(ctx, side, ing_secure if side.secure else ing_plain, rep)
    for ours, base in ((pub_secure, pub_plain), (ing_secure, ing_plain)):
        ratio = run.ratio(ours.key, base.key)
        if ratio is not None:
            ours.add_note(
                f"{(1 - ratio) * 100:+.1f}% slower than plain" if ratio < 1 else "no slower than plain"
            )
