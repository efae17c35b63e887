"""Benchmark: CheckDeclaration over HTTP next to a baseline route on the same server.

Starts ``cites-connector serve --bench-baseline`` as a subprocess (its own interpreter, so the
clients' threads do not share a GIL with the server) on a fresh SQLite ledger holding two
MULTIPLE permits of 10,000,000 specimens, and sends from N client threads (``requests``
sessions, keep-alive) prebuilt envelopes of a 10-item SAD with 2 CITES items, each with its own
DeclarationId so that every call decides and writes off. The baseline is ``POST
/bench/baseline`` on the same server and worker threads: it reads the same envelope and returns
a fixed response, i.e. HTTP and waitress alone. Sides alternate in rounds of fixed duration.

Target: CheckDeclaration reaches at least half the baseline rate. Beside each rate, on Linux,
the server's CPU time per call and its share of one core (``/proc``): a side whose server is
well below one core is limited by the clients or the machine, not by the server. With
``--profile`` (or when the target is missed) the SOAP handling is profiled in-process (WSGI
app called directly) to show where the time goes.

Run: ``python bench/soap_check.py [--clients 8] [--threads 8] [--seconds 4] [--rounds 3]
[--profile] [--digest]``; ``--digest`` signs every call with a PasswordDigest and a fresh
nonce, which the server records in the database's nonce store (one more write per call).
Bounded in time: about rounds x 2 x seconds plus start-up; exit status 1 when the target is
missed.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import hashlib
import io
import itertools
import json
import os
import pstats
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests

from bench.decision_writeoff import PERMITS, permit_json, sad_xml

TARGET = 0.5
USER, PASSWORD = "bench", "bench-password"
NS = "urn:cites-connector:clearance:1"
DIGEST = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
    "#PasswordDigest"
)
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"


def password_xml(digest: bool) -> str:
    """PasswordText, or PasswordDigest with a fresh nonce (each one written to the
    database's nonce store by the server: the cost ``--digest`` measures)."""
    if not digest:
        return f"<wsse:Password>{PASSWORD}</wsse:Password>"
    nonce = os.urandom(16)
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    value = base64.b64encode(
        hashlib.sha1(nonce + created.encode() + PASSWORD.encode()).digest()
    ).decode()
    return (
        f'<wsse:Password Type="{DIGEST}">{value}</wsse:Password>'
        f"<wsse:Nonce>{base64.b64encode(nonce).decode()}</wsse:Nonce>"
        f'<wsu:Created xmlns:wsu="{WSU}">{created}</wsu:Created>'
    )


def envelope(declaration_id: str, sad: bytes, digest: bool = False) -> bytes:
    text = sad.decode().split("?>", 1)[1]
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><soap:Envelope '
        f'xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:c="{NS}">'
        '<soap:Header><wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/'
        'oasis-200401-wss-wssecurity-secext-1.0.xsd"><wsse:UsernameToken>'
        f"<wsse:Username>{USER}</wsse:Username>{password_xml(digest)}"
        "</wsse:UsernameToken></wsse:Security></soap:Header><soap:Body>"
        f"<c:CheckDeclarationRequest><c:DeclarationId>{declaration_id}</c:DeclarationId>"
        f"<c:Version>1</c:Version><c:Declaration>{text}</c:Declaration>"
        "</c:CheckDeclarationRequest></soap:Body></soap:Envelope>"
    ).encode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(data_dir: Path) -> None:
    from cites_connector.adapters.sql.migrate import upgrade
    from cites_connector.app import build_application
    from cites_connector.app.settings import load_settings
    from cites_connector.mappings.permit_json import parse_permit

    app = build_application(load_settings(home_country="NA", data_dir=data_dir))
    upgrade(app.engine)
    for row in PERMITS:
        app.permits.apply(parse_permit(json.dumps(permit_json(*row)).encode()))
    app.close()


def start_server(data_dir: Path, port: int, threads: int) -> subprocess.Popen:
    found = shutil.which("cites-connector")
    command = (
        [found]
        if found
        else [sys.executable, "-c", "from cites_connector.cli.main import main; main()"]
    )
    env = {
        **os.environ,
        "CONNECTOR_HOME_COUNTRY": "NA",
        "CONNECTOR_DATA_DIR": str(data_dir),
        "CONNECTOR_SOAP_PORT": str(port),
        "CONNECTOR_SOAP_USERS": f"{USER}:{PASSWORD}",
        "CONNECTOR_SOAP_AUTH": "on",
        "CONNECTOR_LOGGING__FORMAT": "json",
    }
    env.pop("CONNECTOR_DATABASE_URL", None)
    process = subprocess.Popen(
        [*command, "serve", "--threads", str(threads), "--bench-baseline"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            # the WSDL, not /healthz: the SOAP side is what is measured, and /healthz also
            # needs RabbitMQ, which the permit consumer of `serve` may not have here
            if requests.get(f"http://127.0.0.1:{port}/soap/clearance?wsdl", timeout=1).ok:
                return process
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the server did not start")


def run_side(url: str, bodies, clients: int, seconds: float, action: str) -> tuple[int, list]:
    """Send for ``seconds`` from ``clients`` threads; (calls, latencies in ms)."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[str] = []
    stop = time.monotonic() + seconds

    def worker(n: int) -> None:
        session = requests.Session()
        headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": action}
        mine = latencies[n]
        while time.monotonic() < stop:
            body = next(bodies)
            started = time.perf_counter()
            response = session.post(url, data=body, headers=headers, timeout=30)
            mine.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                errors.append(response.text[:300])
                return

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"{action} failed: {errors[0]}")
    merged = [x for part in latencies for x in part]
    return len(merged), merged


def server_cpu(pid: int) -> float | None:
    """CPU seconds the server process has used (user + system), from /proc; None elsewhere.

    Printed per call beside the rates: a side whose server is well below one core (the GIL)
    is held back by the clients or the machine, not by the server."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def profile_in_process(data_dir: Path, count: int) -> str:
    """The SOAP handling without HTTP: the WSGI app called directly under cProfile."""
    from cites_connector.app.log_setup import configure_logging

    with open(os.devnull, "w") as devnull:
        configure_logging("INFO", "json", devnull)
        return _profile(data_dir, count)


def _profile(data_dir: Path, count: int) -> str:
    from cites_connector.app import build_application
    from cites_connector.app.serving import build_soap_app
    from cites_connector.app.settings import load_settings

    app = build_application(load_settings(home_country="NA", data_dir=data_dir))
    wsgi = build_soap_app(app, users={USER: PASSWORD})
    sad = sad_xml(datetime.now(UTC).date())
    bodies = [envelope(f"PROFILE-{n}", sad) for n in range(count)]

    def call(body: bytes) -> None:
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/soap/clearance",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
        }
        statuses = []
        wsgi(environ, lambda status, headers: statuses.append(status))
        assert statuses[0].startswith("200"), statuses

    breakdown = stage_breakdown(app, wsgi, bodies[: count // 2])
    bodies = bodies[count // 2 :]
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for body in bodies:
        call(body)
    profiler.disable()
    elapsed = time.perf_counter() - started
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
    app.close()
    return (
        breakdown + f"\nin-process, one thread, under cProfile: {len(bodies) / elapsed:.0f} "
        "calls/s\n" + out.getvalue()
    )


def stage_breakdown(app, wsgi, bodies: list[bytes]) -> str:
    """Milliseconds per call for each stage, timed separately without the profiler."""
    from cites_connector.adapters.soap import rendering
    from cites_connector.adapters.soap.envelope import read_envelope
    from cites_connector.adapters.soap.operations import declaration_element
    from cites_connector.adapters.soap.schema import validate
    from cites_connector.domain.decision_dicts import decision_to_dict

    timings = {
        "envelope parse + WS-Security + XSD": 0.0,
        "SAD mapping (mappings/)": 0.0,
        "ClearanceService.clear (core + ledger)": 0.0,
        "response rendering": 0.0,
    }
    names = list(timings)
    for n, body in enumerate(bodies):
        t0 = time.perf_counter()
        env = read_envelope(body, max_bytes=wsgi.max_bytes)
        wsgi.verifier.verify(env.headers.security)
        validate(env.payload)
        t1 = time.perf_counter()
        declaration = app.map_sad(declaration_element(env.payload))
        t2 = time.perf_counter()
        outcome = app.clearance.clear(f"STAGE-{n}", 1, declaration)
        t3 = time.perf_counter()
        rendering.envelope(
            rendering.decision_result(
                "CheckDeclarationResponse", decision_to_dict(outcome.decision)
            )
        )
        t4 = time.perf_counter()
        for name, spent in zip(names, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            timings[name] += spent
    total = sum(timings.values())
    lines = [
        f"stages, in-process, one thread ({len(bodies)} calls, {total / len(bodies) * 1000:.2f}"
        " ms per call):"
    ]
    lines += [
        f"  {name:42s} {spent / len(bodies) * 1000:6.2f} ms  {spent / total:5.1%}"
        for name, spent in timings.items()
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--threads", type=int, default=8, help="server worker threads")
    parser.add_argument("--seconds", type=float, default=4.0, help="per side per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--digest",
        action="store_true",
        help="PasswordDigest with a fresh nonce per call (nonce store writes)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="cites-soap-bench-") as tmp:
        data_dir = Path(tmp) / "var"
        prepare(data_dir)
        port = free_port()
        server = start_server(data_dir, port, args.threads)
        base = f"http://127.0.0.1:{port}"
        # registered today: the server runs on the real clock, and a declaration dated more
        # than a few days back would be held, not written off
        sad = sad_xml(datetime.now(UTC).date())
        ids = itertools.count(1)
        lock = threading.Lock()

        class Bodies:
            """Distinct DeclarationIds, envelopes built before the clock starts."""

            def __init__(self) -> None:
                self.ready = [
                    envelope(f"BENCH-{next(ids)}", sad, args.digest) for _ in range(20000)
                ]

            def __next__(self) -> bytes:
                with lock:
                    if not self.ready:
                        self.ready = [
                            envelope(f"BENCH-{next(ids)}", sad, args.digest) for _ in range(2000)
                        ]
                    return self.ready.pop()

        bodies = Bodies()
        sample = bodies.ready[-1]
        fixed = itertools.repeat(sample)
        results = {"check": [0, 0.0, []], "baseline": [0, 0.0, []]}
        cpu = {"check": 0.0, "baseline": 0.0}
        try:
            first = requests.post(
                f"{base}/soap/clearance",
                data=next(bodies),
                headers={
                    "Content-Type": "text/xml; charset=utf-8",
                    "SOAPAction": "CheckDeclaration",
                },
                timeout=30,
            )
            if b"CLEARED" not in first.content:  # measure write-offs, not holds
                raise SystemExit(f"the bench declaration is not cleared: {first.text[:600]}")
            run_side(f"{base}/bench/baseline", fixed, args.clients, 0.5, "CheckDeclaration")
            run_side(f"{base}/soap/clearance", bodies, args.clients, 0.5, "CheckDeclaration")
            for _ in range(args.rounds):
                for side, url, source in (
                    ("baseline", f"{base}/bench/baseline", fixed),
                    ("check", f"{base}/soap/clearance", bodies),
                ):
                    started = time.perf_counter()
                    cpu_before = server_cpu(server.pid)
                    calls, latencies = run_side(
                        url, source, args.clients, args.seconds, "CheckDeclaration"
                    )
                    cpu_after = server_cpu(server.pid)
                    if cpu_before is not None and cpu_after is not None:
                        cpu[side] += cpu_after - cpu_before
                    results[side][0] += calls
                    results[side][1] += time.perf_counter() - started
                    results[side][2].extend(latencies)
        finally:
            server.terminate()
            server.wait(30)

        print(
            f"SOAP CheckDeclaration benchmark: {args.clients} client threads, "
            f"{args.threads} server threads, SQLite, 10-item SAD with 2 CITES items, "
            f"{'PasswordDigest' if args.digest else 'PasswordText'}, "
            f"{len(sample)} byte envelope, {args.rounds} rounds x {args.seconds:g} s per side"
        )
        rates = {}
        for side in ("baseline", "check"):
            calls, elapsed, latencies = results[side]
            rates[side] = calls / elapsed
            print(
                f"  {side:9s} {rates[side]:8.0f} calls/s   p50 {percentile(latencies, 50):6.1f} ms"
                f"   p99 {percentile(latencies, 99):6.1f} ms   ({calls} calls)"
                + (
                    f"   server CPU {cpu[side] / calls * 1000:5.2f} ms per call,"
                    f" {cpu[side] / elapsed:4.0%} of a core"
                    if cpu[side] and calls
                    else ""
                )
            )
        ratio = rates["check"] / rates["baseline"]
        met = ratio >= TARGET
        print(
            f"  ratio check/baseline {ratio:.2f} (target >= {TARGET}): "
            f"{'met' if met else 'NOT met'}"
        )
        if args.profile or not met:
            print()
            print(profile_in_process(data_dir, 300))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
