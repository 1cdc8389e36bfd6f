"""``search_p95_ms``: the public catalogue page under a loopback HTTP load.

``CLIENTS`` concurrent clients (keep-alive connections) fetch ``/catalogue/resources/`` on the
live server with filters a buyer would use — kind and category, material, part size, tolerance,
maximum rate, free time in a date range, a delivery point and radius, sorting — each request's
time measured from send to last byte. Baseline: a trivial view on the same server (same
middleware, same clients, no work), served only by the benchmark's own URLconf.
"""

from __future__ import annotations

import http.client
import random
import threading
import time
from datetime import timedelta
from urllib.parse import urlencode

from django.db import connections
from django.utils import timezone

from marketplace.benchmarks import Figure, LiveServer, percentile

CLIENTS = 16
CATALOGUE = "/catalogue/resources/"
TRIVIAL = "/__bench__/ping/"
CITIES = [(31.2990, 120.5853), (22.5431, 114.0579), (30.2741, 120.1551), (39.3434, 117.3616)]


def queries(alias: str, count: int, rng: random.Random) -> list[str]:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT code, kind FROM capacity_category WHERE kind = 'production' ORDER BY code")
        categories = cursor.fetchall()
        cursor.execute("SELECT code FROM capacity_material ORDER BY code")
        materials = [row[0] for row in cursor.fetchall()]
    today = timezone.localdate()
    made = []
    for _ in range(count):
        code, kind = rng.choice(categories)
        params: dict[str, str] = {"kind": kind, "category": code if rng.random() < 0.7 else code[:3]}
        if rng.random() < 0.5:
            params["material"] = rng.choice(materials)
        if rng.random() < 0.5:
            size = rng.randint(50, 800)
            params.update(part_x=str(size), part_y=str(size // 2), part_z=str(size // 3))
        if rng.random() < 0.4:
            params["tolerance"] = rng.choice(["0.01", "0.02", "0.05"])
        if rng.random() < 0.3:
            params["max_rate"] = str(rng.randint(150, 500))
        if rng.random() < 0.5:
            start = today + timedelta(days=rng.randint(0, 5))
            params.update(free_from=start.isoformat(), free_to=(start + timedelta(days=5)).isoformat(),
                          free_hours=str(rng.choice([4, 8, 16])))  # fmt: skip
        if rng.random() < 0.3:
            lat, lon = rng.choice(CITIES)
            params.update(lat=str(lat), lon=str(lon), radius_km=str(rng.choice([50, 150, 400])))
            params["sort"] = "distance"
        else:
            params["sort"] = rng.choice(["price", "soonest", "newest", ""])
        made.append(f"{CATALOGUE}?{urlencode({k: v for k, v in params.items() if v})}")
    return made


def _load(server: LiveServer, paths: list[str]) -> list[float]:
    """Every path fetched once, spread over CLIENTS keep-alive connections; milliseconds each."""
    times: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    gate = threading.Barrier(CLIENTS)

    def client(mine: list[str]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        local = []
        try:
            gate.wait()
            for path in mine:
                started = time.perf_counter()
                conn.request("GET", path, headers={"Accept-Language": "en"})
                response = conn.getresponse()
                response.read()
                local.append((time.perf_counter() - started) * 1000)
                if response.status != 200:
                    failures.append(f"{response.status} {path}")
        finally:
            conn.close()
            with lock:
                times.extend(local)

    threads = [threading.Thread(target=client, args=(paths[i::CLIENTS],)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"{len(failures)} catalogue requests failed, e.g. {failures[0]}")
    return times


def run(*, alias: str, server: LiveServer, count: int, rng: random.Random, out) -> list[Figure]:
    paths = queries(alias, count, rng)
    _load(server, paths[: CLIENTS * 2])  # warm up: templates, plans, connections
    catalogue = _load(server, paths)
    trivial = _load(server, [TRIVIAL] * len(paths))
    out.write(
        f"search: {len(paths)} catalogue requests from {CLIENTS} clients: p50 {percentile(catalogue, 50):.1f} ms;"
        f" trivial view p50 {percentile(trivial, 50):.1f} ms"
    )
    return [Figure("search_p95_ms", percentile(catalogue, 95), "ms", percentile(trivial, 95))]
