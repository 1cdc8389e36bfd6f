"""The benchmark's worker: ``python -m marketplace.benchmarks.worker PART SPEC.json``.

Runs the services themselves (no HTTP) with the benchmark database as the default database and
prints one JSON line with what it measured. Parts: ``ingest_service`` (signed-off batches straight
into ``metering.record_readings``) and ``book`` (concurrent clients on ``booking.book_slices``).
"""

from __future__ import annotations

import json
import sys
import threading
import time


def ingest_service(spec: dict) -> dict:
    from capacity.models import Device
    from capacity.services import metering

    devices = {d.pk: d for d in Device.objects.filter(pk__in={job["device"] for job in spec["jobs"]})}
    stored = 0
    started = time.perf_counter()
    for job in spec["jobs"]:
        results = metering.record_readings(device=devices[job["device"]], readings=job["readings"])
        stored += sum(r.status == metering.STORED for r in results)
    return {"seconds": time.perf_counter() - started, "stored": stored}


def book(spec: dict) -> dict:
    from datetime import datetime

    from django.db import connection

    from capacity.services.booking import Slice, book_slices
    from marketplace.errors import DomainError

    queues = [[] for _ in range(spec["clients"])]
    for i, (resource_id, start, end) in enumerate(spec["attempts"]):
        queues[i % len(queues)].append(Slice(resource_id, datetime.fromisoformat(start), datetime.fromisoformat(end)))
    counts = {"booked": 0, "refused": 0, "errors": 0}
    lock = threading.Lock()
    gate = threading.Barrier(len(queues))

    def client(queue: list) -> None:
        mine = {"booked": 0, "refused": 0, "errors": 0}
        try:
            gate.wait()
            for piece in queue:
                try:
                    book_slices(slices=[piece], hold=False)
                    mine["booked"] += 1
                except DomainError:  # SlotTaken and friends: a clean refusal
                    mine["refused"] += 1
                except Exception:  # counted and reported, never hidden
                    mine["errors"] += 1
        finally:
            connection.close()
            with lock:
                for key, value in mine.items():
                    counts[key] += value

    threads = [threading.Thread(target=client, args=(queue,)) for queue in queues]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"seconds": time.perf_counter() - started, **counts}


PARTS = {"ingest_service": ingest_service, "book": book}


def main(part: str, spec_path: str) -> None:
    import django

    django.setup()
    with open(spec_path) as handle:
        spec = json.load(handle)
    print(json.dumps(PARTS[part](spec)))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
