"""Catalog at national scale: a real `gdx serve` process over N contracts, 20 concurrent HTTP clients.

The server is started as an operator starts it (`gdx serve`, env GDX_CONTRACTS_DIR=<world>/contracts),
over no marts (a fresh installation before the first dbt build: contract metadata only), with API
tokens issued for a granted agency (`dopa`, read access to the informal-debt datasets) and for
owner agencies of the world, so that a share of the traffic is agencies' (their own views, and
the audit record of their restricted reads).

After a warm-up, 20 client threads (keep-alive `http.client` connections) each run the same
realistic mix: package_search with free text (Thai and English words), fq on organization / tags /
res_format, facets, sort and paging; package_show by name; organization_list; the dashboard and a
dataset page. Latencies are client-side wall times (request sent → body read).

Budgets (at 8,000): package_search p95 ≤ 50 ms, package_show p95 ≤ 20 ms, dashboard and dataset
page p95 ≤ 200 ms. `python -m bench.scale_catalog --n 100` prints the figures.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from gdx.testing.scale_world import ScaleWorld, build_scale_world

CLIENTS = 20
REQUESTS_PER_CLIENT = 60
BUDGETS_MS = {"package_search": 50.0, "package_show": 20.0, "dashboard": 200.0, "dataset_page": 200.0}
WORDS = ("อากาศ", "ฝุ่น", "ขยะ", "การค้า", "หนี้", "จุดความร้อน", "air", "waste", "border", "hotspots", "quality")
SORTS = (None, "metadata_modified desc", "title asc", "name asc", "score desc, name asc")
FACETS = (["organization", "tags", "res_format"], ["organization"], ["tags", "license_id"], [])
GRANTED_AGENCY = "dopa"  # the real contracts grant it read access to the informal-debt datasets


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _family(pid: int) -> list[int]:
    """`pid` and its live descendants (the server's forked workers)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _rss_mib(pid: int) -> float:
    """Memory of the server and its workers: the sum of their proportional set sizes (shared
    copy-on-write pages counted once across them, not once per worker)."""
    total = 0
    for member in _family(pid):
        try:
            lines = Path(f"/proc/{member}/smaps_rollup").read_text().splitlines()
        except OSError:
            continue
        total += sum(int(line.split()[1]) for line in lines if line.startswith("Pss:"))
    return total / 1024


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of a process and its live workers (/proc/<pid>/stat, ticks)."""
    total = 0
    for member in _family(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[k]


class Client:
    """One keep-alive connection; `get` returns (status, body, seconds)."""

    def __init__(self, port: int, token: str | None) -> None:
        self.port = port
        self.headers = {"Authorization": token} if token else {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def get(self, path: str) -> tuple[int, bytes, float]:
        started = time.perf_counter()
        try:
            self.conn.request("GET", path, headers=self.headers)
            response = self.conn.getresponse()
            body = response.read()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.conn.request("GET", path, headers=self.headers)
            response = self.conn.getresponse()
            body = response.read()
        return response.status, body, time.perf_counter() - started


def _issue_tokens(world: ScaleWorld, tokens_file: Path) -> list[str]:
    """Tokens of the granted agency and of four owners of restricted (informal-debt) clones."""
    import csv

    from gdx.security.tokens import TokenStore

    with (world.root / "dbt_project" / "seeds" / "ref_agencies.csv").open(encoding="utf-8") as handle:
        known = {row["code"] for row in csv.DictReader(handle)}
    restricted_owners = [cid.split(".")[0] for cid in world.contract_ids if ".informal_debt_cases_" in cid]
    owners = sorted(set(restricted_owners))[:4]
    store = TokenStore(tokens_file)
    return [store.issue(agency, known, "bench")[1] for agency in [GRANTED_AGENCY, *owners]]


class Mix:
    """The request mix, drawn from what the running catalog holds (names, organisations, tags)."""

    def __init__(self, client: Client) -> None:
        status, body, _ = client.get("/api/3/action/package_list")
        assert status == 200, body[:300]
        self.names: list[str] = json.loads(body)["result"]
        facets = urlencode(
            {"rows": 0, "facet.field": json.dumps(["organization", "tags", "res_format"]), "facet.limit": -1}
        )
        found = json.loads(client.get(f"/api/3/action/package_search?{facets}")[1])["result"]["facets"]
        self.orgs, self.tags, self.formats = (list(found[f]) for f in ("organization", "tags", "res_format"))

    def search(self, rng: random.Random) -> str:
        params: dict[str, Any] = {}
        if rng.random() < 0.7:
            params["q"] = rng.choice(WORDS)
        fq = []
        if rng.random() < 0.35:
            fq.append(f"organization:{rng.choice(self.orgs)}")
        if rng.random() < 0.25 and self.tags:
            fq.append(f'tags:"{rng.choice(self.tags)}"')
        if rng.random() < 0.15 and self.formats:
            fq.append(f"res_format:{rng.choice(self.formats)}")
        if fq:
            params["fq"] = " ".join(fq)
        facet = rng.choice(FACETS)
        if facet:
            params["facet.field"] = json.dumps(facet)
        sort = rng.choice(SORTS)
        if sort:
            params["sort"] = sort
        params["rows"] = rng.choice((10, 20, 50))
        params["start"] = rng.choice((0, 0, 0, 10, 20, 100))
        return "/api/3/action/package_search?" + urlencode(params)

    def request(self, rng: random.Random) -> tuple[str, str]:
        roll = rng.random()
        if roll < 0.45:
            return "package_search", self.search(rng)
        if roll < 0.75:
            return "package_show", "/api/3/action/package_show?id=" + quote(rng.choice(self.names))
        if roll < 0.80:
            return "organization_list", "/api/3/action/organization_list"
        if roll < 0.88:
            return "dashboard", "/" + rng.choice(("", "?lang=en"))
        return "dataset_page", "/dataset/" + quote(rng.choice(self.names))


CLIENT_PROCESSES = 4
"""The 20 clients run as 4 processes of 5 threads: in one process they would share one GIL with
their own JSON and HTTP work and measure the client's queue as much as the server's."""


def _client_process(port: int, mix: Mix, tokens: list[str], per_client: int, ks: list[int], out: Any) -> None:
    times: dict[str, list[float]] = {}
    errors: list[str] = []
    lock = threading.Lock()

    def worker(k: int) -> None:
        rng = random.Random(k)
        # 14 of 20 clients are anonymous, the others agencies (each with its own token)
        client = Client(port, tokens[k % len(tokens)] if k >= 14 else None)
        for _ in range(per_client):
            kind, path = mix.request(rng)
            status, body, seconds = client.get(path)
            with lock:
                times.setdefault(kind, []).append(seconds * 1000)
                if status not in (200, 403):  # 403: an agency asking for another's restricted dataset
                    errors.append(f"{status} {path}: {body[:200]!r}")

    threads = [threading.Thread(target=worker, args=(k,)) for k in ks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cpu = os.times()
    out.put((times, errors, cpu.user + cpu.system))


def _run_clients(
    port: int, mix: Mix, tokens: list[str], per_client: int
) -> tuple[dict[str, list[float]], int, float]:
    """Latencies by request kind, failed requests, and the clients' own CPU seconds."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    out = context.Queue()
    groups = [list(range(CLIENTS))[g::CLIENT_PROCESSES] for g in range(CLIENT_PROCESSES)]
    processes = [
        context.Process(target=_client_process, args=(port, mix, tokens, per_client, ks, out))
        for ks in groups
    ]
    for process in processes:
        process.start()
    results = [out.get() for _ in processes]
    for process in processes:
        process.join()
    times: dict[str, list[float]] = {}
    errors: list[str] = []
    client_cpu = 0.0
    for part, failed, cpu in results:
        for kind, values in part.items():
            times.setdefault(kind, []).extend(values)
        errors += failed
        client_cpu += cpu
    if errors:
        print(f"{len(errors)} failed requests, first: {errors[0]}", file=sys.stderr)
    return times, len(errors), client_cpu


def measure(
    world: ScaleWorld, n: int, work_dir: Path, requests_per_client: int = REQUESTS_PER_CLIENT
) -> list[dict]:
    """Start `gdx serve` over `world`, warm it up, run the mix; latencies, startup time and RSS."""
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    tokens_file = work_dir / "auth" / "api_tokens.json"
    tokens = _issue_tokens(world, tokens_file)
    port = _free_port()
    env = {
        **os.environ,
        "GDX_CONTRACTS_DIR": str(world.contracts_dir),
        "GDX_WAREHOUSE": str(work_dir / "warehouse" / "onedata.duckdb"),  # no marts built yet
        "GDX_LAKE_ROOT": str(work_dir / "lake"),
        "GDX_STATE_DIR": str(work_dir / "state"),
        "GDX_API_TOKENS_FILE": str(tokens_file),
    }
    gdx = Path(sys.executable).parent / "gdx"
    command = [str(gdx), "serve", "--port", str(port), "--log-level", "warning"]
    started = time.perf_counter()
    log_path = work_dir / "serve.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        probe = None
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"gdx serve exited: {log_path.read_text()[-2000:]}")
            try:
                probe = Client(port, None)
                if probe.get("/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        startup = time.perf_counter() - started
        mix = Mix(probe)
        _run_clients(port, mix, tokens, 5)  # warm-up: every caller class, every request kind
        cpu_before, wall_before = _cpu_seconds(server.pid), time.perf_counter()
        times, errors, client_cpu = _run_clients(port, mix, tokens, requests_per_client)
        cpu = _cpu_seconds(server.pid) - cpu_before
        wall = time.perf_counter() - wall_before
        rss = _rss_mib(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    requests = max(1, sum(len(v) for v in times.values()))
    note = f"N={n}, {len(world.agencies)} agencies, {CLIENTS} clients in {CLIENT_PROCESSES} processes"
    out = [
        {"metric": "catalog_startup", "value": round(startup, 2), "unit": "s", "budget": None, "note": note},
        {
            "metric": "catalog_server_rss_mib",
            "value": round(rss, 1),
            "unit": "count",
            "budget": None,
            "note": "memory of the server and its workers after the run (sum of PSS), MiB",
        },
        {
            "metric": "catalog_server_cpu_per_request",
            "value": round(cpu * 1000 / requests, 2),
            "unit": "ms",
            "budget": None,
            "note": f"server CPU (all workers) over the run / requests (the machine's load does not "
            f"inflate it); {requests / wall:.0f} requests/s",
        },
        {
            "metric": "catalog_client_cpu_per_request",
            "value": round(client_cpu * 1000 / requests, 2),
            "unit": "ms",
            "budget": None,
            "note": "the bench clients' own CPU per request (what they take from the server's cores)",
        },
        {"metric": "catalog_failed_requests", "value": errors, "unit": "count", "budget": 0, "note": note},
    ]
    for kind in ("package_search", "package_show", "dashboard", "dataset_page", "organization_list"):
        values = times.get(kind, [])
        for q in (0.5, 0.95):
            out.append(
                {
                    "metric": f"catalog_{kind}_p{round(q * 100)}",
                    "value": round(_percentile(values, q), 2),
                    "unit": "ms",
                    "budget": BUDGETS_MS.get(kind) if q == 0.95 else None,
                    "note": f"{len(values)} requests, {note}",
                }
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--world", type=Path, help="an existing scale world to reuse (built if absent)")
    parser.add_argument("--requests", type=int, default=REQUESTS_PER_CLIENT, help="requests per client")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gdx-scale-catalog-") as tmp:
        if args.world and (args.world / "contracts").is_dir():
            contracts = args.world / "contracts"
            agencies = sorted(p.name for p in contracts.iterdir() if p.name.startswith("a0"))
            ids = [f"{a}.{f.stem}" for a in agencies for f in sorted((contracts / a).glob("*.yaml"))]
            world = ScaleWorld(args.world, contracts, agencies, ids)
        else:
            world = build_scale_world(args.world or Path(tmp) / "world", args.n)
        for row in measure(world, args.n, Path(tmp) / "work", args.requests):
            print(json.dumps(row, ensure_ascii=False))


if __name__ == "__main__":
    main()
