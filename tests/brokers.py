"""Real servers for tests: the rlink device server and a Mosquitto process."""

from __future__ import annotations

import asyncio
import datetime as dt
import getpass
import ipaddress
import os
import shutil
import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from custom_components.rlink.protocol.policy import RlinkPolicy
from custom_components.rlink.protocol.server.limits import Limits
from custom_components.rlink.protocol.server.link import ServerLink
from custom_components.rlink.protocol.server.server import DeviceServer, TlsListener

MOSQUITTO = shutil.which("mosquitto") or next(
    (p for p in ("/usr/sbin/mosquitto", "/usr/bin/mosquitto") if Path(p).exists()), None
)
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or next(
    (p for p in ("/usr/bin/mosquitto_passwd", "/usr/sbin/mosquitto_passwd") if Path(p).exists()),
    None,
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def until(condition: Callable[[], object], seconds: float = 5.0) -> None:
    """Wait for `condition` to hold; TimeoutError after `seconds`."""
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 - the condition is not an event of ours
            await asyncio.sleep(0.02)


async def wait_listening(port: int, seconds: float = 10.0) -> None:
    async with asyncio.timeout(seconds):
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            await writer.wait_closed()
            return


@dataclass
class EmbeddedRig:
    """A device server with a device directory the test controls.

    `link` is the server's owner (what the local hub would be): subscribe to device topics
    on it, publish and request through it.
    """

    secrets: dict[str, str] = field(default_factory=dict)
    pids: dict[str, str] = field(default_factory=dict)
    online: list[str] = field(default_factory=list)
    offline: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    port: int = 0
    tls: TlsListener | None = None
    limits: Limits | None = None
    policy: RlinkPolicy | None = None
    broker: DeviceServer | None = None
    link: ServerLink = field(init=False)

    def __post_init__(self) -> None:
        self.link = ServerLink(
            "test hub",
            on_connected=lambda p: self.online.append(p.identity),
            on_disconnected=lambda p: self.offline.append(p.identity),
        )
        if self.policy is None:
            self.policy = RlinkPolicy(
                secret_for=self.secrets.get, pid_for=self.pids.get, on_unknown=self.unknown.append
            )

    async def start(self) -> DeviceServer:
        assert self.policy is not None
        if self.broker is None:
            self.broker = DeviceServer(
                self.policy,
                self.link,
                host="127.0.0.1",
                port=self.port,
                tls=self.tls,
                limits=self.limits,
            )
        await self.broker.start()
        self.link.attach(self.broker)
        self.port = self.broker.port
        return self.broker

    async def stop(self) -> None:
        if self.broker is not None:
            await self.broker.stop()


class Mosquitto:
    """A Mosquitto process on a free loopback port, restartable on the same port."""

    def __init__(
        self,
        workdir: Path,
        *,
        cert: tuple[Path, Path] | None = None,
        users: dict[str, str] | None = None,
        persistent: bool = False,
    ) -> None:
        """`users` (name -> password), when given, are the only logins accepted.

        `persistent` keeps sessions (subscriptions, queued messages) across a restart, as
        Debian's packaged configuration does; saved every second here, so a broker killed
        with SIGKILL comes back with them too.
        """
        self.port = free_port()
        self.tls_port = free_port() if cert else None
        self.conf = workdir / "mosquitto.conf"
        # Stay the current user so the broker can read certificates in the test's temp dir.
        lines = [
            f"user {getpass.getuser()}",
            f"listener {self.port} 127.0.0.1",
        ]
        if persistent:
            lines += [
                "persistence true",
                f"persistence_location {workdir}/",
                "autosave_interval 1",
            ]
        else:
            lines.append("persistence false")
        self.database = workdir / "mosquitto.db"
        if users:
            lines += ["allow_anonymous false", f"password_file {_password_file(workdir, users)}"]
        else:
            lines.append("allow_anonymous true")
        if cert:
            lines += [
                f"listener {self.tls_port} 127.0.0.1",
                f"certfile {cert[0]}",
                f"keyfile {cert[1]}",
            ]
        self.conf.write_text("\n".join(lines) + "\n")
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        assert MOSQUITTO is not None
        self.process = subprocess.Popen(  # noqa: ASYNC220 - starts at once, waited on below
            [MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        await wait_listening(self.port)

    async def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            await asyncio.to_thread(self.process.wait, 10)
        self.process = None

    async def kill(self) -> None:
        """SIGKILL: no goodbye to anyone, nothing saved at the end."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            await asyncio.to_thread(self.process.wait, 10)
        self.process = None


def _password_file(workdir: Path, users: dict[str, str]) -> Path:
    assert MOSQUITTO_PASSWD is not None, "mosquitto_passwd comes with mosquitto"
    path = workdir / "mosquitto.passwd"
    path.touch(mode=0o600)
    for name, password in users.items():
        subprocess.run([MOSQUITTO_PASSWD, "-b", str(path), name, password], check=True)
    return path


def self_signed(directory: Path, name: str = "localhost") -> tuple[Path, Path]:
    """A throwaway certificate and key for a TLS listener on loopback.

    The "localhost" certificate also names 127.0.0.1: tests connect to that address, since
    localhost may resolve to ::1 first, which the test harness does not allow.
    """
    names: list[x509.GeneralName] = [x509.DNSName(name)]
    if name == "localhost":
        names.append(x509.IPAddress(ipaddress.IPv4Address("127.0.0.1")))
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


RABBITMQ_SERVER = next(
    (p for p in ("/usr/lib/rabbitmq/bin/rabbitmq-server",) if Path(p).exists()), None
)


class RabbitMQ:
    """A RabbitMQ node of its own (MQTT plugin, HTTP auth backend) on free loopback ports.

    Everything it writes stays in `workdir`: its database, logs, config and Erlang cookie;
    its node name and its epmd port are its own, so runs side by side do not meet.
    """

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.epmd_port = free_port()
        self.dist_port = free_port()
        self.node = f"rlink-{self.port}-{os.getpid()}@localhost"
        self.process: subprocess.Popen[bytes] | None = None

    def _configure(self, auth_base: str) -> None:
        workdir = self.workdir
        (workdir / "rabbitmq.conf").write_text(
            "\n".join(
                [
                    "listeners.tcp = none",
                    f"mqtt.listeners.tcp.default = 127.0.0.1:{self.port}",
                    "mqtt.allow_anonymous = false",
                    "auth_backends.1 = http",
                    "auth_http.http_method = post",
                    *(
                        f"auth_http.{check}_path = {auth_base}/rabbitmq/{check}"
                        for check in ("user", "vhost", "resource", "topic")
                    ),
                    "auth_http.request_timeout = 30000",
                    "auth_http.connection_timeout = 30000",
                    "log.console = false",
                    "log.file.level = info",
                ]
            )
            + "\n"
        )
        (workdir / "enabled_plugins").write_text("[rabbitmq_mqtt,rabbitmq_auth_backend_http].\n")
        cookie = workdir / ".erlang.cookie"
        cookie.write_text("RLINKTESTCOOKIE")
        cookie.chmod(0o600)

    @property
    def log(self) -> str:
        """What the node logged, for a failure's message."""
        return (
            "\n".join(
                path.read_text(errors="replace")[-4000:]
                for path in sorted((self.workdir / "log").glob("*.log"))
            )
            + (self.workdir / "stdout.txt").read_text(errors="replace")[-4000:]
        )

    async def start(self, auth_base: str, seconds: float = 120.0) -> None:
        """Start, with the HTTP auth backend calling `auth_base` + ``/rabbitmq/{check}``;
        RuntimeError with the node's log if it does not listen within `seconds`."""
        if RABBITMQ_SERVER is None:
            raise RuntimeError("rabbitmq-server is not installed (scripts/setup installs it)")
        self._configure(auth_base)
        environment = {
            **os.environ,
            "HOME": str(self.workdir),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_CONFIG_FILE": str(self.workdir / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.workdir / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.workdir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.workdir / "log"),
            "RABBITMQ_PID_FILE": str(self.workdir / "rabbitmq.pid"),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }
        output = (self.workdir / "stdout.txt").open("wb")
        self.process = subprocess.Popen(  # noqa: ASYNC220 - starts at once, waited on below
            [RABBITMQ_SERVER], env=environment, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            async with asyncio.timeout(seconds):
                while True:
                    if self.process.poll() is not None:
                        raise RuntimeError(f"RabbitMQ exited with {self.process.returncode}")
                    try:
                        await wait_listening(self.port, 0.5)
                        return
                    except TimeoutError:
                        continue
        except (TimeoutError, RuntimeError) as err:
            await self.stop()
            raise RuntimeError(f"RabbitMQ did not start ({err}):\n{self.log}") from err

    async def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                await asyncio.to_thread(self.process.wait, 30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                await asyncio.to_thread(self.process.wait, 10)
        self.process = None
        # The node started an epmd of its own on its own port; it outlives the node.
        epmd = shutil.which("epmd")
        if epmd is not None:
            await asyncio.to_thread(
                subprocess.run,
                [epmd, "-port", str(self.epmd_port), "-kill"],
                capture_output=True,
                check=False,
                env={**os.environ, "ERL_EPMD_PORT": str(self.epmd_port)},
            )
