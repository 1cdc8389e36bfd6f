"""``ingest_readings_per_s`` and ``ingest_service_readings_per_s``.

A few gateways (devices) are registered on the benchmark market, each bound to the resources of
one provider. Each sends signed batches of ``BATCH`` readings — its resources' counters every 15
minutes, the way a gateway flushes its buffer — to ``POST /api/v1/devices/readings/`` on the live
server, from ``CLIENTS`` concurrent connections (HMAC headers as in docs/metering.md). The same
batches, under another boot id, then go straight into ``metering.record_readings`` in a worker
(one caller, no HTTP). Baseline of both: PostgreSQL ``COPY`` of the same rows (a third boot id:
readings are immutable and unique per device, boot and sequence) into the same table.
"""

from __future__ import annotations

import http.client
import json
import queue
import secrets
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

from django.db import connections

from capacity.api_metering import sign
from capacity.models import Device
from marketplace.benchmarks import Figure, LiveServer, run_worker
from marketplace.crypto import encrypt

BATCH = 500
CLIENTS = 8
STEP = timedelta(minutes=15)
PATH = "/api/v1/devices/readings/"


def register_gateways(alias: str, count: int) -> list[tuple[int, str, list[int]]]:
    """``count`` gateways, one per provider with listed resources: (device id, secret, resource ids)."""
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT r.provider_id, array_agg(r.id ORDER BY r.id) FROM capacity_resource r"
            " GROUP BY r.provider_id HAVING count(*) >= 3 ORDER BY r.provider_id LIMIT %s",
            [count],
        )
        providers = cursor.fetchall()
    gateways = []
    for provider_id, resource_ids in providers:
        secret = secrets.token_urlsafe(32)
        device = Device.objects.using(alias).create(
            provider_id=provider_id,
            name=f"Bench gateway {provider_id}",
            secret_encrypted=encrypt(secret),
            secret_hint=secret[-4:],
        )
        device.resources.set(resource_ids)
        gateways.append((device.pk, secret, resource_ids))
    return gateways


def batches(gateways, total: int, now: datetime, boot: str) -> list[dict]:
    """About ``total`` readings in batches of ``BATCH``: each gateway reports all its resources at
    15-minute steps going back from ``now``; counters only ever grow."""
    jobs, made, round_no = [], 0, 0
    while made < total:
        for device_id, _secret, resource_ids in gateways:
            steps = max(1, BATCH // len(resource_ids))
            readings = []
            for step in range(steps):
                moment = now - STEP * (round_no * steps + steps - step)
                seq = round_no * steps + step
                for resource_id in resource_ids:
                    readings.append(
                        {
                            "resource": resource_id,
                            "boot_id": f"{boot}-{resource_id}",
                            "seq": seq,
                            "device_time": moment.isoformat(),
                            "run_seconds": seq * 600,
                            "part_count": seq * 3,
                            "power_on_seconds": seq * 900,
                        }
                    )
            jobs.append({"device": device_id, "readings": readings})
            made += len(readings)
            if made >= total:
                break
        round_no += 1
    return jobs


def _post_all(server: LiveServer, jobs: list[dict], secrets_by_device: dict[int, str]) -> tuple[float, int, int]:
    """Send every batch from CLIENTS keep-alive connections; (seconds, stored, failed requests)."""
    work: queue.Queue = queue.Queue()
    for job in jobs:
        work.put(job)
    totals = {"stored": 0, "failed": 0}
    lock = threading.Lock()

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        stored = failed = 0
        try:
            while True:
                try:
                    job = work.get_nowait()
                except queue.Empty:
                    return
                body = json.dumps({"readings": job["readings"]}).encode()
                stamp = str(int(time.time()))
                headers = {
                    "Content-Type": "application/json",
                    "X-Spindle-Device": str(job["device"]),
                    "X-Spindle-Timestamp": stamp,
                    "X-Spindle-Signature": sign(secrets_by_device[job["device"]], stamp, body),
                }
                conn.request("POST", PATH, body=body, headers=headers)
                response = conn.getresponse()
                answer = response.read()
                if response.status == 200:
                    stored += json.loads(answer)["stored"]
                else:
                    failed += 1
        finally:
            conn.close()
            with lock:
                totals["stored"] += stored
                totals["failed"] += failed

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, totals["stored"], totals["failed"]


def _copy(alias: str, jobs: list[dict], received_at: datetime) -> float:
    """The baseline: the same rows through COPY, one connection, one statement."""
    columns = (
        "device_id, resource_id, boot_id, seq, device_time, received_at,"
        " run_seconds, part_count, power_on_seconds, alarm"
    )
    connection = connections[alias]
    connection.ensure_connection()
    started = time.perf_counter()
    with (
        connection.connection.cursor() as cursor,
        cursor.copy(f"COPY capacity_meterreading ({columns}) FROM STDIN") as copy,
    ):
        for job in jobs:
            for r in job["readings"]:
                copy.write_row(
                    (job["device"], r["resource"], r["boot_id"], r["seq"], r["device_time"], received_at,
                     r["run_seconds"], r["part_count"], r["power_on_seconds"], False)
                )  # fmt: skip
    return time.perf_counter() - started


def run(*, alias: str, server: LiveServer, env: dict, workdir: Path, readings: int, gateways: int, out) -> list[Figure]:
    from django.utils import timezone

    now = timezone.now().replace(microsecond=0)
    registered = register_gateways(alias, gateways)
    secrets_by_device = {device_id: secret for device_id, secret, _ids in registered}
    copy_jobs = batches(registered, readings, now, "copy")
    copy_s = _copy(alias, copy_jobs, now)
    copied = sum(len(job["readings"]) for job in copy_jobs)

    http_jobs = batches(registered, readings, now, "http")
    http_s, http_stored, failed = _post_all(server, http_jobs, secrets_by_device)
    sent = sum(len(job["readings"]) for job in http_jobs)
    if failed or http_stored != sent:
        raise RuntimeError(f"ingestion over HTTP stored {http_stored} of {sent} readings ({failed} failed requests)")

    service = run_worker(env, "ingest_service", {"jobs": batches(registered, readings, now, "service")}, workdir)
    if service["stored"] != sent:
        raise RuntimeError(f"ingestion through the service stored {service['stored']} of {sent} readings")
    baseline = copied / copy_s
    out.write(
        f"ingestion: {sent} readings in batches of {BATCH} from {len(registered)} gateways"
        f" ({CLIENTS} HTTP clients): HTTP {http_s:.1f} s, service {service['seconds']:.1f} s, COPY {copy_s:.1f} s"
    )
    return [
        Figure("ingest_readings_per_s", http_stored / http_s, "readings/s", baseline),
        Figure("ingest_service_readings_per_s", service["stored"] / service["seconds"], "readings/s", baseline),
    ]
