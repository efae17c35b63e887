"""Benchmark: one ``serve`` process against two on one PostgreSQL (issue 14, scale-out).

Declarations spread over 1,000 MULTIPLE permits (500 of live pythons, 500 of crocodile skins,
10,000,000 specimens each) are sent as SOAP CheckDeclaration calls, each with its own
DeclarationId and two CITES items citing two of the permits, so every call decides and writes
off. The client is the load balancer: N threads, each call sent to the next process in turn.

- **CPU-seconds per declaration** of the ``serve`` processes (user + system time from
  ``/proc/<pid>/stat``, SOAP threads, permit consumer and outbox relay together), measured from
  after a warm-up until the processes are idle again (the relay has published the usage
  reports), over the declarations they answered. Target: two processes spend within 10 % of
  one process's CPU-seconds per declaration (ratio <= 1.10).
- **Lock waits**: a sampler polls ``pg_locks`` joined with ``pg_stat_activity`` (every ~20 ms)
  for sessions waiting on a lock, and sorts each wait: an advisory lock of the connector's
  permit key space (``adapters/sql/locks.py``) or a row lock met by a statement on
  ``permits``/``permit_lines`` is a wait on a permit being written (allowed); anything else is
  reported with its lock type, mode and statement. Target: none of the latter. The advisory
  locks that the processes' outbox relays (``CITESOUT``) and audit sealers (``CITESEAL``) take
  turns on are counted apart: no declaration takes them.

PostgreSQL and RabbitMQ (the relay publishes the usage reports; a queue of the bench's own is
bound to ``cites.usage``) are started with ``scripts/services.sh`` on free loopback ports and
stopped at the end, unless ``--database-url`` and ``--amqp-url`` name running ones (the
database must be a scratch one: the script migrates it and stores its permits there).

Run: ``python bench/scale_out.py [--declarations 1500] [--clients 4] [--rounds 1]``. Bounded:
about rounds x 2 x (declarations / rate) plus start-up (~1 min); exit status 1 when a target is
missed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests

from bench.decision_writeoff import permit_json, sad_xml
from bench.soap_check import PASSWORD, USER, envelope, free_port

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 1.10
PERMITS = 1000
TICK = os.sysconf("SC_CLK_TCK")
#: seconds the idle processes are watched before each measurement
IDLE_SECONDS = 5.0


def permit_numbers() -> tuple[list[str], list[str]]:
    half = PERMITS // 2
    return (
        [f"26NA8{n:05d}" for n in range(half)],
        [f"26NA8{n:05d}" for n in range(half, PERMITS)],
    )


# -- services ---------------------------------------------------------------------------------


class Services:
    """PostgreSQL and RabbitMQ from scripts/services.sh, stopped by ``stop``."""

    def __init__(self) -> None:
        self.state: dict[str, str] = {}

    def start(self) -> tuple[str, str]:
        script = (
            "set -e; source scripts/services.sh; start_postgres; start_rabbitmq; "
            "for v in CONNECTOR_TEST_POSTGRES_URL RABBITMQ_CONNECTOR_URL CONNECTOR_TEST_AMQP_URL "
            'PG_DIR PG_BIN RMQ_DIR RABBITMQ_NODENAME; do echo "$v=${!v}"; done'
        )
        done = subprocess.run(
            ["bash", "-c", script],
            check=False,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        for line in done.stdout.splitlines():
            name, _, value = line.partition("=")
            self.state[name] = value
        if done.returncode != 0:
            self.stop()
            raise SystemExit(f"starting the services failed: {done.stderr[-2000:]}")
        return self.state["CONNECTOR_TEST_POSTGRES_URL"], self.state["RABBITMQ_CONNECTOR_URL"]

    def stop(self) -> None:
        if not self.state:
            return
        exports = " ".join(f"{k}='{v}'" for k, v in self.state.items() if v)
        subprocess.run(
            ["bash", "-c", f"source scripts/services.sh; {exports}; stop_services"],
            check=False,
            cwd=ROOT,
            capture_output=True,
            timeout=120,
        )


def bind_usage_queue(admin_url: str) -> None:
    """The permit system's side: a queue on cites.usage, so usage reports are routed."""
    import pika

    from cites_connector.adapters.amqp import topology

    connection = pika.BlockingConnection(pika.URLParameters(admin_url))
    channel = connection.channel()
    topology.declare_exchanges(channel)
    channel.queue_declare("bench.usage", durable=True, arguments={"x-queue-type": "quorum"})
    channel.queue_bind("bench.usage", topology.USAGE_EXCHANGE, "#")
    connection.close()


# -- the connector processes ------------------------------------------------------------------


def base_env(data_dir: Path, database_url: str, amqp_url: str) -> dict[str, str]:
    env = {
        **os.environ,
        "CONNECTOR_HOME_COUNTRY": "NA",
        "CONNECTOR_DATA_DIR": str(data_dir),  # shared: one audit key, as the processes must
        "CONNECTOR_DATABASE_URL": database_url,
        "CONNECTOR_AMQP_URL": amqp_url,
        "CONNECTOR_SOAP_USERS": f"{USER}:{PASSWORD}",
        "CONNECTOR_SOAP_AUTH": "on",
        "CONNECTOR_LOGGING__FORMAT": "json",
        "CONNECTOR_CONSOLE_ENABLED": "false",
    }
    return env


def command() -> list[str]:
    found = shutil.which("cites-connector")
    return (
        [found]
        if found
        else [sys.executable, "-c", "from cites_connector.cli.main import main; main()"]
    )


def prepare(env: dict[str, str]) -> None:
    """Migrate (the audit key is made in the shared data directory) and store the permits."""
    subprocess.run([*command(), "migrate"], env=env, check=True, capture_output=True, timeout=300)
    from cites_connector.app import build_application
    from cites_connector.app.log_setup import configure_logging
    from cites_connector.app.settings import load_settings
    from cites_connector.mappings.permit_json import parse_permit

    configure_logging("WARNING", "json", sys.stderr)

    app = build_application(
        load_settings(
            home_country="NA",
            data_dir=Path(env["CONNECTOR_DATA_DIR"]),
            database_url=env["CONNECTOR_DATABASE_URL"],
        )
    )
    pythons, skins = permit_numbers()
    today = datetime.now(UTC).date()
    dates = {
        "issued_on": (today - timedelta(days=30)).isoformat(),
        "valid_from": (today - timedelta(days=30)).isoformat(),
        "valid_until": (today + timedelta(days=150)).isoformat(),
    }
    try:
        for number in pythons:
            row = permit_json(number, "Python regius", "LIV", "C", "live royal pythons")
            app.permits.apply(parse_permit(json.dumps(row | dates).encode()))
        for number in skins:
            row = permit_json(number, "Crocodylus niloticus", "SKI", "W", "whole tanned skins")
            app.permits.apply(parse_permit(json.dumps(row | dates).encode()))
    finally:
        app.close()


class Serve:
    def __init__(self, env: dict[str, str], threads: int, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/soap/clearance"
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                [*command(), "serve", "--threads", str(threads)],
                env={**env, "CONNECTOR_SOAP_PORT": str(self.port)},
                stdout=out,
                stderr=out,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}?wsdl", timeout=1).ok:
                    return
            except requests.ConnectionError:
                time.sleep(0.1)
        self.stop()
        raise SystemExit(f"serve did not start (see {log})")

    def cpu(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def postgres_cpu(data_dir: str | None) -> float:
    """CPU-seconds of the PostgreSQL server started here: its postmaster (with what its ended
    children spent) and every backend; 0 when the server is not ours."""
    if not data_dir:
        return 0.0
    try:
        master = int(Path(data_dir, "data", "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(stat.parent.name), int(fields[1])
        if pid == master:
            total += sum(int(f) for f in fields[11:15]) / TICK  # with the reaped children
        elif ppid == master:
            total += (int(fields[11]) + int(fields[12])) / TICK
    return total


# -- the load ---------------------------------------------------------------------------------


class Bodies:
    """Distinct DeclarationIds, each citing a python permit and a skin permit, spread over
    the 1,000 permits; built before they are sent."""

    def __init__(self, tag: str) -> None:
        self.pythons, self.skins = permit_numbers()
        # dated today: a declaration dated more than 3 days back is held, not written off
        today = datetime.now(UTC).strftime("%d/%m/%Y").encode()
        self.template = sad_xml().replace(
            b"<Date>28/11/2026</Date>", b"<Date>" + today + b"</Date>"
        )
        self.tag = tag
        self.counter = itertools.count()
        self.lock = threading.Lock()

    def __next__(self) -> bytes:
        with self.lock:
            n = next(self.counter)
        a = self.pythons[(n * 7) % len(self.pythons)]
        b = self.skins[(n * 13) % len(self.skins)]
        sad = self.template.replace(b"26NA900001", a.encode()).replace(b"26NA900002", b.encode())
        return envelope(f"SCALE-{self.tag}-{n}", sad)


def send(urls: list[str], bodies: Bodies, count: int, clients: int) -> Counter[str]:
    """``count`` calls from ``clients`` threads, round-robin over ``urls``; calls per URL."""
    done: Counter[str] = Counter()
    errors: list[str] = []
    lock = threading.Lock()
    turn = itertools.count()
    left = itertools.count()

    def worker() -> None:
        session = requests.Session()
        headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": "CheckDeclaration"}
        while next(left) < count and not errors:
            url = urls[next(turn) % len(urls)]
            response = session.post(url, data=next(bodies), headers=headers, timeout=60)
            if response.status_code != 200 or b"CLEARED" not in response.content:
                errors.append(response.text[:500])
                return
            with lock:
                done[url] += 1

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"a declaration failed: {errors[0]}")
    return done


def settle(processes: list[Serve], quiet: float = 0.01, most: float = 60) -> None:
    """Wait until the processes are idle (the relay has published what they wrote): less
    than ``quiet`` CPU-seconds each in a quarter of a second."""
    deadline = time.monotonic() + most
    before = sum(p.cpu() for p in processes)
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = sum(p.cpu() for p in processes)
        if now - before <= quiet * len(processes):
            return
        before = now


#: advisory locks that background workers of the processes take turns on; a declaration's
#: transaction never takes them
BACKGROUND_TURNS = {
    "CITESOUT": "outbox relays claiming rows",
    "CITESEAL": "audit sealers",
}

# -- lock sampling ----------------------------------------------------------------------------

WAITS = """
SELECT l.locktype, l.mode, l.classid, l.objid, l.objsubid, l.relation::regclass::text,
       left(a.query, 160)
FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid AND NOT l.granted
WHERE a.wait_event_type = 'Lock' AND a.datname = current_database()
"""


class LockSampler(threading.Thread):
    def __init__(self, database_url: str, permit_keys: dict[int, str]):
        super().__init__(name="lock-sampler", daemon=True)
        from sqlalchemy.engine import make_url

        self.dsn = (
            make_url(database_url)
            .set(drivername="postgresql")
            .render_as_string(hide_password=False)
        )
        self.permit_keys = permit_keys
        self.samples = 0
        self.permit_waits = 0
        self.permits_waited: set[str] = set()
        self.other: Counter[str] = Counter()
        self.turns: Counter[str] = Counter()
        #: relation extension locks: PostgreSQL adding pages to a table's file
        self.extends: Counter[str] = Counter()
        self.stopping = threading.Event()

    def run(self) -> None:
        import psycopg

        from cites_connector.adapters.sql.locks import PERMITS as PERMIT_SPACE

        with psycopg.connect(self.dsn, autocommit=True) as connection:
            while not self.stopping.is_set():
                rows = connection.execute(WAITS).fetchall()
                self.samples += 1
                for locktype, mode, classid, objid, objsubid, relation, query in rows:
                    on_permit_rows = any(
                        name in (query or "") for name in ("permit_lines", "permits")
                    )
                    if locktype == "advisory" and objsubid == 2 and classid == PERMIT_SPACE:
                        self.permit_waits += 1
                        signed = objid - (1 << 32) if objid >= 1 << 31 else objid
                        self.permits_waited.add(self.permit_keys.get(signed, "?"))
                    elif locktype in ("transactionid", "tuple") and on_permit_rows:
                        self.permit_waits += 1
                    elif locktype == "advisory" and objsubid == 1:
                        # one 64-bit key: the connector's are eight letters (CITESOUT, CITESEAL)
                        key = ((classid << 32) | objid).to_bytes(8, "big")
                        name = key.decode("ascii", "replace")
                        if name in BACKGROUND_TURNS:  # not a declaration's wait
                            self.turns[f"{name} ({BACKGROUND_TURNS[name]})"] += 1
                        else:
                            self.other[f"advisory lock {name}: {(query or '').strip()[:100]}"] += 1
                    elif locktype == "extend":
                        # not a lock on data: held while one page is added to the file, met by
                        # any two sessions inserting into one table at once
                        self.extends[relation or "?"] += 1
                    else:
                        what = f"{locktype} {mode} {relation or ''} {classid}/{objid}/{objsubid}"
                        self.other[f"{what}: {(query or '').strip()[:100]}"] += 1
                self.stopping.wait(0.02)


# -- main ---------------------------------------------------------------------------------------


def measure(
    processes: list[Serve],
    bodies: Bodies,
    count: int,
    clients: int,
    warmup: int,
    pg_dir: str | None,
) -> tuple[float, int, Counter[str]]:
    urls = [p.url for p in processes]
    send(urls, bodies, warmup * len(urls), clients)
    settle(processes)
    idle_from = sum(p.cpu() for p in processes)
    time.sleep(IDLE_SECONDS)  # what the processes spend doing nothing (consumer, relay polls)
    idle = (sum(p.cpu() for p in processes) - idle_from) / IDLE_SECONDS / len(processes)
    start = [p.cpu() for p in processes]
    pg_start = postgres_cpu(pg_dir)
    began = time.monotonic()
    answered = send(urls, bodies, count, clients)
    wall = time.monotonic() - began
    settle(processes)
    spent = sum(p.cpu() - s for p, s in zip(processes, start, strict=True))
    pg_spent = postgres_cpu(pg_dir) - pg_start
    total = sum(answered.values())
    net = spent - idle * wall * len(processes)
    print(
        f"  {len(processes)} process(es): {total} declarations in {wall:.1f} s "
        f"({total / wall:.0f}/s), {spent:.2f} CPU-s, "
        f"{spent / total * 1000:.2f} CPU-ms per declaration "
        f"({net / total * 1000:.2f} without the idle {idle * 1000:.0f} CPU-ms/s per process; "
        f"PostgreSQL {pg_spent / total * 1000:.2f}); per process: "
        + ", ".join(str(answered[u]) for u in urls)
    )
    return spent, total, answered


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--declarations", type=int, default=1500)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4, help="serve --threads of each process")
    parser.add_argument("--warmup", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--keep-logs", type=Path, help="copy the serve processes' logs here")
    parser.add_argument("--database-url", help="a running scratch PostgreSQL (else one is started)")
    parser.add_argument("--amqp-url", help="the connector's AMQP URL on a running RabbitMQ")
    parser.add_argument("--amqp-admin-url", help="an administrator's URL there (binds a queue)")
    args = parser.parse_args()

    services = Services()
    work = Path(tempfile.mkdtemp(prefix="cites-scale-out."))
    serving: list[Serve] = []
    try:
        if args.database_url and args.amqp_url:
            database_url, amqp_url = args.database_url, args.amqp_url
            admin_url = args.amqp_admin_url or amqp_url
        else:
            database_url, amqp_url = services.start()
            admin_url = services.state["CONNECTOR_TEST_AMQP_URL"]
        pg_dir = services.state.get("PG_DIR")
        bind_usage_queue(admin_url)
        env = base_env(work / "var", database_url, amqp_url)
        prepare(env)
        from cites_connector.adapters.sql.locks import lock_key

        keys = {lock_key(n): n for part in permit_numbers() for n in part}
        print(
            f"scale-out: {args.declarations} declarations per side over {PERMITS} permits, "
            f"{args.clients} client threads, serve --threads {args.threads}, "
            f"{args.rounds} round(s), {os.cpu_count()} CPUs"
        )
        sampler = LockSampler(database_url, keys)
        sampler.start()
        single = [0.0, 0]
        double = [0.0, 0]
        for r in range(args.rounds):
            first = Serve(env, args.threads, work / "serve-1.log")
            serving.append(first)
            spent, total, _ = measure(
                [first], Bodies(f"1x{r}"), args.declarations, args.clients, args.warmup, pg_dir
            )
            single[0] += spent
            single[1] += total
            second = Serve(env, args.threads, work / "serve-2.log")
            serving.append(second)
            spent, total, _ = measure(
                [first, second],
                Bodies(f"2x{r}"),
                args.declarations,
                args.clients,
                args.warmup,
                pg_dir,
            )
            double[0] += spent
            double[1] += total
            for p in (second, first):
                p.stop()
                serving.remove(p)
        sampler.stopping.set()
        sampler.join(5)
        per_one = single[0] / single[1]
        per_two = double[0] / double[1]
        ratio = per_two / per_one
        print(
            f"CPU per declaration: 1 process {per_one * 1000:.2f} ms, 2 processes "
            f"{per_two * 1000:.2f} ms; ratio {ratio:.3f} (target <= {TARGET_RATIO:.2f}): "
            + ("met" if ratio <= TARGET_RATIO else "MISSED")
        )
        print(
            f"lock sampling: {sampler.samples} samples; waits on permits being written: "
            f"{sampler.permit_waits} (on {len(sampler.permits_waited - {'?'})} permit numbers); "
            f"other lock waits: {sum(sampler.other.values())}"
        )
        for what, seen in sampler.other.most_common(10):
            print(f"  {seen:5d}  {what}")
        for what, seen in sampler.turns.most_common():
            print(f"  background workers taking turns, not declarations: {seen} on {what}")
        for table, seen in sampler.extends.most_common():
            print(f"  relation extension (a page added, not a data lock): {seen} on {table}")
        return 0 if ratio <= TARGET_RATIO and not sampler.other else 1
    finally:
        for p in serving:
            p.stop()
        services.stop()
        if args.keep_logs:
            args.keep_logs.mkdir(parents=True, exist_ok=True)
            for log in work.glob("serve-*.log"):
                shutil.copy(log, args.keep_logs / log.name)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
