"""The throwaway PostgreSQL behind the real-scheduler tests: a real server from Debian's binaries,
password auth on TCP, never running as root, gone after stop."""

from __future__ import annotations

import os

import pytest

from gdx.postgres_local import process_running, throwaway_postgres

pytestmark = pytest.mark.integration


def test_throwaway_postgres_serves_its_url_and_stops_cleanly() -> None:
    import psycopg2
    import sqlalchemy as sa

    with throwaway_postgres(database="gdx_t", user="gdx_t") as pg:
        engine = sa.create_engine(pg.url)
        with engine.begin() as conn:
            conn.execute(sa.text("create table t (id int primary key, v text)"))
            conn.execute(sa.text("insert into t values (1, 'ไทย')"))
        with engine.connect() as conn:
            assert conn.execute(sa.text("select current_user, current_database()")).one() == (
                "gdx_t",
                "gdx_t",
            )
            assert conn.execute(sa.text("select v from t")).scalar_one() == "ไทย"
        engine.dispose()
        with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
            psycopg2.connect(host="127.0.0.1", port=pg.port, user="gdx_t", password="wrong", dbname="gdx_t")
        pid = int((pg.data_dir / "postmaster.pid").read_text().split()[0])
        owner = os.stat(f"/proc/{pid}").st_uid
        if os.geteuid() == 0:
            assert owner != 0  # Postgres refuses root: it runs as an unprivileged user
        socket_dir, home = pg.socket_dir, pg.home
        assert any(
            p.name.startswith(".s.PGSQL.") for p in socket_dir.iterdir()
        )  # the socket is in its own dir
    assert not home.exists()
    assert not process_running(pid), "postgres still running after stop"
