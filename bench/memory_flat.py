"""Benchmark: the resident memory of the connector over 100,000 declarations.

Builds the connector as ``cites-connector serve`` does (``build_serve``: the application with
its metrics, the SOAP WSGI app with WS-Security and /metrics, waitress) in this process, on a
fresh SQLite ledger in a temporary data directory (migrations applied, two MULTIPLE export
permits of 10,000,000 specimens each), starts the SOAP server on a free loopback port and the
audit sealer, and posts CheckDeclaration envelopes over HTTP from a few client threads, each
with its own DeclarationId, so that every call decides, writes off and adds outbox rows. The
permit consumer and the outbox relay need RabbitMQ: they run too when ``--amqp-url`` is given;
without it the usage reports wait in the outbox table (on disk, not in memory).

The process's resident memory (VmRSS of /proc/self/status) is read at ten checkpoints. The
verdict compares the RSS after the warm-up (the first checkpoint, 10 % of the count) with the
RSS at the end: memory is flat when it grew by at most 20 MB or 10 %, whichever is larger.
``--trace`` also runs tracemalloc and prints the 15 sites that grew most between the warm-up
and the end (slower: tracemalloc costs every allocation).

Run: ``python bench/memory_flat.py [--count 100000] [--clients 4] [--threads 4] [--trace]
[--database-url URL] [--amqp-url URL]``. Bounded in time (``--max-minutes``, default 40, then it
stops and reports what it has); exit status 0 when memory is flat, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import tempfile
import threading
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests

from bench.decision_writeoff import PERMITS, permit_json, sad_xml
from bench.soap_check import envelope
from cites_connector.app.settings import Settings

MB = 1024 * 1024
#: flat: the end's RSS at most this much above the warm-up's, or this share of it
BOUND_BYTES = 20 * MB
BOUND_SHARE = 0.10
USER, PASSWORD = "bench", "bench-password"
CHECKPOINTS = 10


def rss() -> int:
    """This process's resident set size in bytes (Linux)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise SystemExit("no VmRSS in /proc/self/status: Linux only")


def load() -> str:
    """The 1, 5 and 15-minute load averages (the machine is shared: say how busy it was)."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def settings_for(data_dir: Path, args: argparse.Namespace) -> Settings:
    from cites_connector.app.settings import load_settings

    overrides: dict[str, object] = {
        "home_country": "NA",
        "data_dir": data_dir,
        "soap_port": free_port(),
        "soap_host": "127.0.0.1",
        "console_enabled": False,
    }
    if args.database_url:
        overrides["database_url"] = args.database_url
    if args.amqp_url:
        overrides["amqp_url"] = args.amqp_url
    return load_settings(**overrides)


def prepare(settings: Settings) -> None:
    """Migrations and the two permits, through an application of its own (closed after)."""
    from cites_connector.adapters.sql.migrate import upgrade
    from cites_connector.app import build_application
    from cites_connector.mappings.permit_json import parse_permit

    app = build_application(settings)
    upgrade(app.engine)
    for row in PERMITS:
        app.permits.apply(parse_permit(json.dumps(permit_json(*row)).encode()))
    app.close()


class Clients:
    """``clients`` threads posting CheckDeclaration, each envelope built when sent (from one
    template: no list growing with the count), ids from one counter. Keeps counts only."""

    def __init__(self, url: str, clients: int, run_id: str) -> None:
        self.url = url
        self.clients = clients
        sad = sad_xml(datetime.now(UTC).date())  # the server runs on the real clock
        self.template = envelope("@@ID@@", sad)
        self.next_id = 1
        self.run_id = run_id
        self.lock = threading.Lock()
        self.errors: list[str] = []

    def body(self, n: int) -> bytes:
        return self.template.replace(b"@@ID@@", f"MEM-{self.run_id}-{n:07d}".encode())

    def send(self, upto: int, deadline: float) -> int:
        """Send until ``upto`` declarations were sent in all, or the deadline; the count."""

        def worker() -> None:
            session = requests.Session()
            headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": "CheckDeclaration"}
            while time.monotonic() < deadline and not self.errors:
                with self.lock:
                    if self.next_id > upto:
                        break
                    n, self.next_id = self.next_id, self.next_id + 1
                response = session.post(self.url, data=self.body(n), headers=headers, timeout=30)
                if response.status_code != 200 or b"CLEARED" not in response.content:
                    self.errors.append(f"{n}: {response.status_code} {response.text[:400]}")
                    break
            session.close()

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(self.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(max(1.0, deadline - time.monotonic() + 35))
        with self.lock:
            return self.next_id - 1


def top_growth(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot) -> str:
    keep = [tracemalloc.Filter(False, tracemalloc.__file__)]
    stats = after.filter_traces(keep).compare_to(before.filter_traces(keep), "lineno")
    lines = ["tracemalloc, top 15 growth sites between the warm-up and the end:"]
    for stat in stats[:15]:
        frame = stat.traceback[0]
        lines.append(
            f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+8d} blocks  "
            f"{frame.filename}:{frame.lineno}"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace, data_dir: Path) -> bool:
    from cites_connector.adapters.soap.users import SoapUser
    from cites_connector.app.serving import build_serve

    settings = settings_for(data_dir, args)
    prepare(settings)
    served = build_serve(
        settings, users={USER: SoapUser(USER, PASSWORD)}, auth=True, threads=args.threads
    )
    workers = [served.workers.sealer]
    if args.amqp_url:
        workers += [served.workers.relay, served.workers.consumer]
    for worker in workers:
        worker.start()
    served.server.start()
    clients = Clients(f"{served.server.url}/soap/clearance", args.clients, os.urandom(4).hex())
    deadline = time.monotonic() + args.max_minutes * 60
    step = max(1, args.count // CHECKPOINTS)
    samples: list[tuple[int, int, float]] = []  # (declarations, RSS, seconds)
    snapshot: tracemalloc.Snapshot | None = None
    started = time.monotonic()
    print(
        f"memory over {args.count} CheckDeclaration calls: {served.app.engine.dialect.name}, "
        f"{args.clients} client threads, {args.threads} server threads, "
        f"{'with' if args.amqp_url else 'without'} the relay and consumer"
        f"{', tracemalloc on' if args.trace else ''}"
    )
    print(f"  start: RSS {rss() / MB:8.1f} MB  (load {load()})")
    try:
        sent = 0
        for checkpoint in range(1, CHECKPOINTS + 1):
            upto = args.count if checkpoint == CHECKPOINTS else step * checkpoint
            sent = clients.send(upto, deadline)
            if clients.errors:
                raise SystemExit(f"a call failed: {clients.errors[0]}")
            samples.append((sent, rss(), time.monotonic() - started))
            print(
                f"  {sent:7d} declarations: RSS {samples[-1][1] / MB:8.1f} MB"
                f"  ({samples[-1][2]:6.0f} s)",
                flush=True,
            )
            if checkpoint == 1 and args.trace:
                snapshot = tracemalloc.take_snapshot()
            if sent < upto:
                print(f"  stopped: --max-minutes {args.max_minutes} reached")
                break
        end_snapshot = tracemalloc.take_snapshot() if args.trace else None
    finally:
        served.server.stop(10)
        for worker in workers:
            worker.stop(10)
        served.app.close()

    if len(samples) < 2:
        print("  not enough checkpoints for a verdict")
        return False
    (warm_n, warm_rss, _), (end_n, end_rss, elapsed) = samples[0], samples[-1]
    growth = end_rss - warm_rss
    bound = max(BOUND_BYTES, BOUND_SHARE * warm_rss)
    per_10k = growth / max(1, end_n - warm_n) * 10_000
    flat = growth <= bound
    print(
        f"  growth after the warm-up ({warm_n} -> {end_n}): {growth / MB:+.1f} MB, "
        f"{per_10k / MB:+.2f} MB per 10,000 declarations; {end_n / elapsed:.0f} declarations/s"
    )
    print(f"  load at the end: {load()}")
    print(
        f"  bound: {bound / MB:.1f} MB (20 MB or 10 % of the warm-up RSS): "
        f"{'flat' if flat else 'NOT flat'}"
    )
    if snapshot is not None and end_snapshot is not None:
        print(top_growth(snapshot, end_snapshot))
    return flat and end_n == args.count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000, help="declarations (100,000)")
    parser.add_argument("--clients", type=int, default=4, help="client threads (4)")
    parser.add_argument("--threads", type=int, default=4, help="server worker threads (4)")
    parser.add_argument("--trace", action="store_true", help="tracemalloc growth sites")
    parser.add_argument("--max-minutes", type=float, default=40.0, help="stop after (40)")
    parser.add_argument("--database-url", help="a scratch database instead of SQLite")
    parser.add_argument("--amqp-url", help="a throwaway broker: also run relay and consumer")
    parser.add_argument("--log-level", default="INFO", help="logs go to /dev/null (INFO)")
    args = parser.parse_args(argv)
    if args.count < CHECKPOINTS or args.clients < 1 or args.threads < 1:
        parser.error(f"--count must be at least {CHECKPOINTS}, --clients and --threads 1")

    from cites_connector.app.log_setup import configure_logging

    if args.trace:
        tracemalloc.start(1)
    with (
        open(os.devnull, "w") as devnull,
        tempfile.TemporaryDirectory(prefix="cites-memory-bench-") as tmp,
    ):
        configure_logging(args.log_level, "json", devnull)
        return 0 if run(args, Path(tmp)) else 1


if __name__ == "__main__":
    sys.exit(main())
