"""A throwaway RabbitMQ cluster on loopback for the cluster tests: N ``rabbitmq-server`` nodes
of Debian's package, each with its own node name, AMQP port, distribution port, database and
log directories, joined with ``rabbitmqctl join_cluster``.

The nodes run as the ``rabbitmq`` user (Debian's wrapper drops to it when started as root), so
they share that user's Erlang cookie, as cluster members must, and register with the machine's
one epmd under names of their own: nothing collides with the test suite's own RabbitMQ (see
scripts/services.sh), whose node name and ports differ. Each node writes its operating-system
process id to a file, so a test can ``kill -9`` one.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFINITIONS = ROOT / "config" / "rabbitmq-definitions.json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def missing() -> str | None:
    """Why no cluster can be started here, or None."""
    for tool in ("rabbitmq-server", "rabbitmqctl"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian package rabbitmq-server)"
    return None


@dataclass
class Node:
    name: str
    port: int
    dist_port: int
    base: Path
    process: subprocess.Popen[bytes] | None = None
    killed: bool = False

    @property
    def pid_file(self) -> Path:
        return self.base / "node.pid"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            RABBITMQ_NODENAME=self.name,
            RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
            RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(self.dist_port),
            RABBITMQ_MNESIA_BASE=str(self.base / "mnesia"),
            RABBITMQ_LOG_BASE=str(self.base / "log"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(self.base / "enabled_plugins"),
            RABBITMQ_PID_FILE=str(self.pid_file),
        )
        return env

    def os_pid(self) -> int:
        return int(self.pid_file.read_text().strip())

    def url(self, user: str = "guest", password: str = "guest", vhost: str = "%2F") -> str:
        return f"amqp://{user}:{password}@127.0.0.1:{self.port}/{vhost}"


@dataclass
class RabbitCluster:
    size: int = 3
    nodes: list[Node] = field(default_factory=list)
    base: Path | None = None

    def ctl(
        self, node: Node, *args: str, input: str | None = None, timeout: float = 60, check=True
    ) -> str:
        done = subprocess.run(
            ["rabbitmqctl", "-n", node.name, *args],
            input=input,
            text=True,
            capture_output=True,
            timeout=timeout,
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"rabbitmqctl -n {node.name} {' '.join(args)}: {done.stderr}")
        return done.stdout

    def start(self, timeout: float = 90) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="cites-rmq-cluster."))
        tag = f"citescl{os.getpid()}"
        for i in range(1, self.size + 1):
            base = self.base / f"n{i}"
            (base / "mnesia").mkdir(parents=True)
            (base / "log").mkdir()
            (base / "enabled_plugins").write_text("[].\n")
            node = Node(f"{tag}n{i}@localhost", free_port(), free_port(), base)
            self.nodes.append(node)
        if os.getuid() == 0:
            subprocess.run(["chown", "-R", "rabbitmq:rabbitmq", str(self.base)], check=True)
        for node in self.nodes:
            log = open(node.base.parent / f"{node.base.name}.out", "wb")  # noqa: SIM115
            node.process = subprocess.Popen(
                ["rabbitmq-server"],
                env=node.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        for node in self.nodes:
            self._await(node, timeout)
        first = self.nodes[0]
        for node in self.nodes[1:]:
            self.ctl(node, "stop_app")
            self.ctl(node, "join_cluster", first.name)
            self.ctl(node, "start_app")
        running = self.ctl(first, "cluster_status", "--formatter", "json")
        members = json.loads(running).get("running_nodes", [])
        if sorted(members) != sorted(n.name for n in self.nodes):
            raise RuntimeError(f"the cluster did not form: running {members}")

    def _await(self, node: Node, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            done = subprocess.run(
                ["rabbitmqctl", "-n", node.name, "await_startup"],
                capture_output=True,
                text=True,
                timeout=timeout,
            )
            if done.returncode == 0:
                return
            if node.process is not None and node.process.poll() is not None:
                raise RuntimeError(f"{node.name} exited: {self.output(node)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{node.name} did not start: {self.output(node)}")
            time.sleep(1)

    def output(self, node: Node) -> str:
        path = node.base.parent / f"{node.base.name}.out"
        with contextlib.suppress(OSError):
            return path.read_text(errors="replace")[-2000:]
        return ""

    def load_definitions(self) -> None:
        """The shipped definitions (topology with quorum queues, users): cluster-wide, so loaded
        once, once every node has joined (a quorum queue's members are the nodes then)."""
        self.ctl(self.nodes[0], "import_definitions", input=DEFINITIONS.read_text())

    def alive(self) -> list[Node]:
        return [n for n in self.nodes if not n.killed]

    def leader(self, queue: str) -> Node:
        """The node that leads the quorum queue's Raft group now."""
        for asked in self.alive():
            out = self.ctl(
                asked,
                "list_queues",
                "-p",
                "/",
                "name",
                "leader",
                "--formatter",
                "json",
                check=False,
            )
            with contextlib.suppress(ValueError):
                for row in json.loads(out):
                    if row.get("name") == queue:
                        for node in self.nodes:
                            if node.name == row.get("leader"):
                                return node
        raise RuntimeError(f"no leader found for {queue}")

    def kill(self, node: Node) -> None:
        """``kill -9`` the node's Erlang VM: no goodbye to its peers or clients."""
        os.kill(node.os_pid(), signal.SIGKILL)
        node.killed = True

    def stop(self) -> None:
        for node in self.nodes:
            if not node.killed:
                with contextlib.suppress(OSError, ValueError):
                    os.kill(node.os_pid(), signal.SIGKILL)
                node.killed = True
            if node.process is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    node.process.wait(10)
        if self.base is not None:
            shutil.rmtree(self.base, ignore_errors=True)
