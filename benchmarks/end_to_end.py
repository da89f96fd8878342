"""End-to-end benchmark: rlink next to what a user would use instead, in one run.

Five rows get the same fleet of simulated devices (`benchmarks.fleet`: each device
subscribed to its own ``issue`` and ``report_response``, QoS 1 reports, half sensors and
half plugs) and are measured from a device's report to the value read back:

1. floor: the devices → Mosquitto → a bare paho subscriber;
2. Home Assistant's own MQTT integration on Mosquitto, the devices announced by MQTT
   discovery with as many entities as rlink gives them; report → Home Assistant state;
3. rlink's local hub on an external broker (Mosquitto); report → state;
4. rlink's local hub on RabbitMQ, with Home Assistant as RabbitMQ's auth service (every
   device's login and topics checked through the broker-auth views); report → state;
5. rlink's local hub on its own device server (the default); report → state.

Each row runs in processes of its own (`benchmarks.rows`, a Mosquitto or RabbitMQ where it
has one, a fleet), all started before the first measurement and kept up to the last, and every
measurement is taken in rounds that go through the rows one after the other (the order
turning each round), so whatever else the machine does hits all rows alike:

- sustained reports/s into states with no loss: windows at a rate found by doubling and
  then bisection; a rate holds when nothing is lost and the backlog (reports sent minus
  states changed, sampled every second during the window) does not grow;
- report → state latency (p50, p99) at a moderate rate with every device connected, and
  at 1,000 reports/s; the Home Assistant rows also at 1,000 reports/s with their garbage
  collector in smaller steps, to tell its pauses from the row's own cost;
- CPU of Home Assistant and of its broker with twice as many devices reporting once a
  second each, then with those devices connected and idle;
- the request round trip (the check-connection button → ``issue`` → device →
  ``issue_response``), and
  setup time and memory for 100 / 500 / 1000 devices (a fresh process each).

Run ``scripts/bench`` (or ``python -m benchmarks.end_to_end --help``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import psutil

from benchmarks.fleet import Counters, read_sends
from benchmarks.rows import ROWS, free_port
from tests.brokers import RabbitMQ

ROOT: Final = Path(__file__).resolve().parents[1]
RESULTS: Final = ROOT / "benchmarks" / "results"
SIZES: Final = (100, 500, 1000)
TITLES: Final = {
    "floor": "floor: devices → Mosquitto → bare paho subscriber",
    "mqtt": "Home Assistant MQTT integration (discovery) on Mosquitto",
    "rlink-mosquitto": "rlink on Mosquitto (external broker)",
    "rlink-rabbitmq": "rlink on RabbitMQ (external broker, Home Assistant checks the devices)",
    "rlink-server": "rlink on its device server",
}
SHORT: Final = {
    "floor": "floor",
    "mqtt": "HA MQTT",
    "rlink-mosquitto": "rlink + Mosquitto",
    "rlink-rabbitmq": "rlink + RabbitMQ",
    "rlink-server": "rlink server",
}
HIGH_RATE: Final = 1000.0
MAX_RATE: Final = 32000.0
DRAIN_SECONDS: Final = 30.0
SMALL_STEPS: Final = (2000, 2, 10)
"""The receiver's collector thresholds in the diagnostic windows: a generation-1 collection
after every second generation-0 one instead of every tenth (Python's default), so each has
about a fifth as much to free."""
SMALL_STEPS_KEY: Final = "latency_high_small_steps"
DIAGNOSED: Final = ("mqtt", "rlink-mosquitto", "rlink-server")
"""The Home Assistant rows whose p99 at HIGH_RATE is also measured with SMALL_STEPS."""


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tools")])}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def ms(values: list[float]) -> tuple[float, float]:
    """Median and 99th percentile."""
    return statistics.median(values), percentile(values, 99)


def load_average() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def write_report(report: str, output: Path) -> None:
    print(report)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(report)
    print(f"written to {output}")


def run_facts() -> dict[str, Any]:
    """When and where a run happened, for the report's first line."""
    from homeassistant.const import __version__  # noqa: PLC0415

    return {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB",
        "python": platform.python_version(),
        "ha_version": __version__,
        "load_before": load_average(),
    }


# --- processes ---------------------------------------------------------------------------------


def mosquitto_binary() -> str | None:
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/bin/mosquitto") if Path(p).exists()), None
    )


def start_mosquitto(workdir: Path, name: str) -> tuple[subprocess.Popen[bytes], int]:
    binary = mosquitto_binary()
    if binary is None:
        raise SystemExit("mosquitto is not installed")
    port = free_port()
    conf = workdir / f"{name}.conf"
    # A queue deep enough that a slow subscriber shows as backlog, not as loss; no Nagle
    # delay, as the device server and the clients.
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "max_queued_messages 1000000\nset_tcp_nodelay true\n"
    )
    process = subprocess.Popen(
        [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_listening(port)
    return process, port


def wait_listening(port: int) -> None:
    for _ in range(100):
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.1):
            return
        time.sleep(0.05)


class Child:
    """A process spoken to in JSON lines on its stdin and stdout."""

    def __init__(self, process: asyncio.subprocess.Process, name: str) -> None:
        self.process = process
        self.name = name

    @classmethod
    async def start(cls, name: str, *args: str) -> Child:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *args,
            cwd=ROOT,
            env=env(),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        return cls(process, name)

    async def read(self, timeout: float = 600) -> dict[str, Any]:  # noqa: ASYNC109
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        if not line:
            raise RuntimeError(f"{self.name} ended (exit status {await self.process.wait()})")
        return json.loads(line)  # type: ignore[no-any-return]

    def send(self, request: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(request) + "\n").encode())

    async def ask(self, request: dict[str, Any], timeout: float = 600) -> dict[str, Any]:  # noqa: ASYNC109
        self.send(request)
        return await self.read(timeout)

    async def stop(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ConnectionError, RuntimeError):
                self.send({"cmd": "stop"})
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


@dataclass
class Row:
    name: str
    index: int
    receiver: Child
    fleet: Child | None = None
    broker: subprocess.Popen[bytes] | None = None
    node: RabbitMQ | None = None
    port: int = 0
    setup_seconds: float = 0.0
    spent: float = 0.0
    """Wall-clock seconds the run spent on this row alone: what the row adds to a run."""
    entities: int = 0
    connect_seconds: float = 0.0
    missing: list[int] = field(default_factory=list)
    """Devices whose reported entity Home Assistant refused to add (its cap per entry)."""
    results: dict[str, Any] = field(default_factory=dict)

    def expected(self, sent: int, devices: int) -> int:
        """States `sent` reports over devices 0..devices-1 in turn should change."""
        rounds, extra = divmod(sent, devices)
        skipped = sum(rounds + (d < extra) for d in self.missing if d < devices)
        return sent - skipped

    @property
    def sent_slot(self) -> int:
        return 3 * self.index

    @property
    def applied_slot(self) -> int:
        return 3 * self.index + 1

    @property
    def stop_slot(self) -> int:
        return 3 * self.index + 2

    def processes(self) -> list[list[psutil.Process]]:
        """Home Assistant's process, then the broker's, if it has one: each a process tree
        (RabbitMQ's Erlang VM runs under the script that starts it)."""
        trees = [[psutil.Process(self.receiver.process.pid)]]
        if self.broker is not None:
            trees.append([psutil.Process(self.broker.pid)])
        if self.node is not None and self.node.process is not None:
            top = psutil.Process(self.node.process.pid)
            trees.append([top, *top.children(recursive=True)])
        return trees


def cpu_seconds(trees: list[list[psutil.Process]]) -> list[float]:
    return [sum(_cpu_seconds(p) for p in tree) for tree in trees]


def _cpu_seconds(process: psutil.Process) -> float:
    try:
        return float(sum(process.cpu_times()[:2]))
    except psutil.NoSuchProcess:
        return 0.0  # a helper of the broker's that came and went


async def start_rabbitmq(workdir: Path) -> tuple[RabbitMQ, int, str]:
    """A RabbitMQ node whose HTTP auth backend asks the Home Assistant still to come:
    (node, that Home Assistant's HTTP port, the broker-auth token of its hub)."""
    from custom_components.rlink.local.broker_auth import URL_BASE  # noqa: PLC0415

    node = RabbitMQ(workdir / "rabbitmq")
    node.workdir.mkdir()
    http_port, token = free_port(), secrets.token_urlsafe(32)
    await node.start(f"http://127.0.0.1:{http_port}{URL_BASE}/{token}")
    return node, http_port, token


@contextlib.asynccontextmanager
async def rows_running(
    workdir: Path, counters_path: Path, devices: int, most: int, names: list[str]
) -> AsyncIterator[list[Row]]:
    """Every row up, its fleet's first `devices` devices connected; `most` configured."""
    rows: list[Row] = []
    try:
        for index, name in enumerate(names):
            broker, node, port, extra = None, None, 0, []
            print(f"-- {TITLES[name]}: setting up", flush=True)
            began = time.perf_counter()
            if name == "rlink-rabbitmq":
                node, http_port, token = await start_rabbitmq(workdir)
                port = node.port
                extra = ["--http-port", str(http_port), "--auth-token", token]
            elif name != "rlink-server":
                broker, port = start_mosquitto(workdir, name)
            size = devices if name == "floor" else most
            receiver = await Child.start(
                name,
                "-m",
                "benchmarks.rows",
                name,
                "--port",
                str(port),
                "--devices",
                str(size),
                "--counters",
                str(counters_path),
                "--slot",
                str(3 * index + 1),
                *extra,
            )
            row = Row(name, index, receiver, broker=broker, node=node, port=port)
            rows.append(row)
            # One after the other: each row is set up with the machine to itself.
            ready = await row.receiver.read()
            row.port, row.setup_seconds, row.entities = (
                ready["port"],
                ready["setup_seconds"],
                ready["entities"],
            )
            row.missing = ready["missing"]
            row.fleet = await Child.start(
                f"{row.name} fleet",
                "-m",
                "benchmarks.fleet",
                "--port",
                str(row.port),
                "--devices",
                str(devices if row.name == "floor" else most),
                "--counters",
                str(counters_path),
                "--slot",
                str(row.sent_slot),
                "--stop-slot",
                str(row.stop_slot),
            )
            connected = await row.fleet.ask({"cmd": "connect", "devices": devices})
            row.connect_seconds = connected["seconds"]
            row.spent += time.perf_counter() - began
            print(
                f"   set up in {row.setup_seconds:.1f} s, {row.entities} entities; "
                f"{connected['connected']} devices connected in {row.connect_seconds:.1f} s",
                flush=True,
            )
        for row in rows:
            await warm_up(row, devices)
        yield rows
    finally:
        for row in rows:
            if row.fleet is not None:
                await row.fleet.stop()
            await row.receiver.stop()
            if row.broker is not None:
                row.broker.terminate()
                row.broker.wait(10)
            if row.node is not None:
                await row.node.stop()


async def warm_up(row: Row, devices: int) -> None:
    """Two reports from every device, unmeasured: a hub on an external broker learns that a
    device is online from its first report (and writes every entity of it), which is a
    start-up cost, not the steady state the windows measure. Then a full garbage
    collection, which a fresh process owes too."""
    assert row.fleet is not None
    began = time.perf_counter()
    rate = min(1000.0, float(devices))
    await row.fleet.ask(
        {"cmd": "run", "rate": rate, "seconds": 2 * devices / rate + 0.5, "devices": devices}
    )
    await asyncio.sleep(2)
    collected = await row.receiver.ask({"cmd": "collect"})
    row.results.setdefault("collections_ms", []).append(collected["collected_ms"])
    row.spent += time.perf_counter() - began


# --- one measurement window ----------------------------------------------------------------------


@dataclass
class Window:
    rate: float
    sent: int
    achieved: float
    applied: int
    lost: int
    backlog: list[int]
    cpu: list[float]
    """% of a core per process: Home Assistant (or the bare subscriber), then the broker."""
    latencies: list[float]
    unmatched: int
    stopped_early: bool
    gc_max_ms: float = 0.0
    """The longest garbage collection in the receiving process (latency windows)."""
    gc_over_10_ms: int = 0
    gc_max_generation: int = 0
    gc_max_freed: int = 0

    @property
    def growth(self) -> float:
        """How much the backlog grew from the window's first third to its last, by the
        least sample of each: a row falling behind raises every sample of the last third,
        while one pause that it then catches up on (a long garbage collection) raises one."""
        samples = self.backlog[1:]
        if len(samples) < 3:
            return 0.0
        third = max(1, len(samples) // 3)
        return min(samples[-third:]) - min(samples[:third])

    @property
    def backlog_end(self) -> int:
        """The backlog the window ended with, by the least of its last third of samples."""
        samples = self.backlog[1:] or self.backlog
        return min(samples[-max(1, len(samples) // 3) :]) if samples else 0

    def sustained(self) -> bool:
        if self.stopped_early or self.lost or self.achieved < 0.95 * self.rate:
            return False
        end = self.backlog_end
        return self.growth <= max(50.0, 0.05 * self.rate) and end <= max(100.0, 0.2 * self.rate)


async def window(
    row: Row,
    counters: Counters,
    rate: float,
    seconds: float,
    devices: int,
    workdir: Path,
    *,
    record: bool = False,
    stop_behind: bool = False,
) -> Window:
    """`rate` reports/s over the first `devices` devices for `seconds`, then drain."""
    assert row.fleet is not None
    began = time.perf_counter()
    sends_path, changes_path = workdir / f"{row.name}.sends", workdir / f"{row.name}.changes"
    if record:
        await row.receiver.ask({"cmd": "record"})
    counters.set(row.stop_slot, 0)
    sent0, applied0 = counters.get(row.sent_slot), counters.get(row.applied_slot)
    processes = row.processes()
    cpu0, wall0 = cpu_seconds(processes), time.perf_counter()
    request: dict[str, Any] = {"cmd": "run", "rate": rate, "seconds": seconds, "devices": devices}
    if record:
        request["record"] = str(sends_path)
    row.fleet.send(request)
    reply = asyncio.ensure_future(row.fleet.read(seconds + 120))
    backlog: list[int] = []
    stopped = False
    while not reply.done():
        await asyncio.wait({reply}, timeout=1.0)
        if reply.done():
            break
        sent_now = counters.get(row.sent_slot) - sent0
        # A state can change before the fleet counts its report (it counts once a tick).
        behind = max(0, sent_now - (counters.get(row.applied_slot) - applied0))
        if behind > sent_now:
            print(f"   (a counter read {behind} behind of {sent_now} sent: not counted)")
            continue
        backlog.append(behind)
        # Two samples in a row more than two seconds' worth behind: this rate is lost, and
        # waiting only lengthens the drain.
        limit = max(2000, 2 * rate)
        if stop_behind and not stopped and len(backlog) > 1 and min(backlog[-2:]) > limit:
            counters.set(row.stop_slot, 1)
            stopped = True
    result = reply.result()
    cpu1, wall = cpu_seconds(processes), time.perf_counter() - wall0
    sent = row.expected(result["sent"], devices)
    applied, last, still = counters.get(row.applied_slot) - applied0, -1, time.monotonic()
    deadline = time.monotonic() + DRAIN_SECONDS
    while applied < sent and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        applied = counters.get(row.applied_slot) - applied0
        if applied != last:
            last, still = applied, time.monotonic()
        elif time.monotonic() - still > 3:
            break  # nothing more is coming
    latencies: list[float] = []
    unmatched = 0
    gc_pauses: dict[str, Any] = {}
    if record:
        gc_pauses = await row.receiver.ask({"cmd": "save", "path": str(changes_path)})
        ns, device, step = read_sends(sends_path)
        sent_at = {(d, s): t for t, d, s in zip(ns, device, step, strict=True)}
        for t, d, s in zip(*read_sends(changes_path), strict=True):
            started = sent_at.get((d, s))
            if started is None or t < started:
                unmatched += 1
            else:
                latencies.append((t - started) / 1e6)
    row.spent += time.perf_counter() - began
    return Window(
        rate=rate,
        sent=result["sent"],
        achieved=result["achieved"],
        applied=applied,
        lost=max(0, sent - applied),
        backlog=backlog,
        cpu=[100 * (b - a) / wall for a, b in zip(cpu0, cpu1, strict=True)],
        latencies=latencies,
        unmatched=unmatched,
        stopped_early=stopped,
        gc_max_ms=gc_pauses.get("gc_max_ms", 0.0),
        gc_over_10_ms=gc_pauses.get("gc_over_10_ms", 0),
        gc_max_generation=gc_pauses.get("gc_max_generation", 0),
        gc_max_freed=gc_pauses.get("gc_max_freed", 0),
    )


def rotated(rows: list[Row], turn: int) -> list[Row]:
    turn %= len(rows)
    return rows[turn:] + rows[:turn]


# --- the phases ---------------------------------------------------------------------------------


async def latency_phase(
    rows: list[Row], counters: Counters, args: argparse.Namespace, workdir: Path
) -> None:
    for key, rate in (("latency", args.rate), ("latency_high", HIGH_RATE)):
        for turn in range(args.rounds):
            for row in rotated(rows, turn):
                variants = [(key, None)]
                if key == "latency_high" and row.name in DIAGNOSED:
                    # Both collector settings back to back, the order turning each round.
                    variants.append((SMALL_STEPS_KEY, SMALL_STEPS))
                    variants = variants[:: 1 if turn % 2 == 0 else -1]
                for variant, threshold in variants:
                    w = await latency_window(row, counters, rate, args, workdir, threshold)
                    add_latency(row, variant, w)
                    print_latency(row, variant, rate, turn, w)


async def latency_window(
    row: Row,
    counters: Counters,
    rate: float,
    args: argparse.Namespace,
    workdir: Path,
    threshold: tuple[int, int, int] | None,
) -> Window:
    """A recorded window, with the receiver's collector set to `threshold` for it alone."""
    if threshold is None:
        return await window(row, counters, rate, args.seconds, args.devices, workdir, record=True)
    before = await row.receiver.ask({"cmd": "collector", "threshold": list(threshold)})
    try:
        return await window(row, counters, rate, args.seconds, args.devices, workdir, record=True)
    finally:
        await row.receiver.ask({"cmd": "collector", "threshold": before["threshold"]})


def add_latency(row: Row, key: str, w: Window) -> None:
    entry = row.results.setdefault(key, {"latencies": [], "sent": 0, "lost": 0})
    entry["latencies"] += w.latencies
    entry["sent"] += w.sent
    entry["lost"] += w.lost
    entry.setdefault("unmatched", 0)
    entry["unmatched"] += w.unmatched
    if w.gc_max_ms >= entry.get("gc_max_ms", 0.0):
        entry["gc_max_ms"] = w.gc_max_ms
        entry["gc_max_generation"] = w.gc_max_generation
    entry["gc_over_10_ms"] = entry.get("gc_over_10_ms", 0) + w.gc_over_10_ms


def print_latency(row: Row, key: str, rate: float, turn: int, w: Window) -> None:
    if not w.latencies:
        return
    p50, p99 = ms(w.latencies)
    slow = sum(1 for x in w.latencies if x > 50)
    print(
        f"   {key} {rate:.0f}/s round {turn + 1}: {SHORT[row.name]}: "
        f"p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {max(w.latencies):.1f} ms "
        f"({slow} over 50 ms), lost {w.lost}, unmatched {w.unmatched}, "
        f"longest GC {w.gc_max_ms:.1f} ms (generation {w.gc_max_generation}, "
        f"{w.gc_max_freed} freed)",
        flush=True,
    )


async def throughput_phase(
    rows: list[Row], counters: Counters, args: argparse.Namespace, workdir: Path
) -> None:
    state = {row.name: {"lo": 0.0, "hi": None, "tried": [], "again": None} for row in rows}

    def next_rate(s: dict[str, Any]) -> float | None:
        if s["again"] is not None:
            return float(s["again"])
        lo, hi = s["lo"], s["hi"]
        if hi is None:
            rate = lo * 2 if lo else args.start_rate
            return rate if rate <= MAX_RATE else None
        if hi / max(lo, 1.0) <= 1.1:
            return None
        return (lo * hi) ** 0.5 if lo else hi / 2

    for turn in range(args.search_rounds):
        active = [row for row in rows if next_rate(state[row.name]) is not None]
        if not active:
            break
        for row in rotated(active, turn):
            s = state[row.name]
            rate = round(next_rate(s) or 0.0, -1)
            w = await window(
                row, counters, rate, args.seconds, args.devices, workdir, stop_behind=True
            )
            ok = w.sustained()
            s["tried"].append(
                {
                    "rate": rate,
                    "achieved": w.achieved,
                    "sent": w.sent,
                    "lost": w.lost,
                    "growth": w.growth,
                    "backlog_end": w.backlog_end,
                    "backlog_max": max(w.backlog, default=0),
                    "stopped": w.stopped_early,
                    "ok": ok,
                }
            )
            retried, s["again"] = s["again"] is not None, None
            if ok:
                s["lo"] = max(s["lo"], rate)
            elif not retried and not w.lost and not w.stopped_early and w.growth <= rate / 2:
                # Behind by less than half a second's reports more than it started: one
                # pause (a full collection) can do that, so the rate is tried once more,
                # next round, before it counts. A row clearly overrun is not.
                s["again"] = rate
            else:
                s["hi"] = rate if s["hi"] is None else min(s["hi"], rate)
            print(
                f"   throughput round {turn + 1}: {SHORT[row.name]} at {rate:.0f}/s: "
                f"{'held' if ok else 'not held'} (sent {w.sent}, lost {w.lost}, "
                f"backlog end {w.backlog_end}, growth {w.growth:.0f}"
                f"{', stopped early' if w.stopped_early else ''})"
                f"{'; tried again next round' if s['again'] is not None else ''}",
                flush=True,
            )
            if not ok and w.achieved < 0.95 * rate and not w.lost and not w.stopped_early:
                print("   (the fleet could not offer this rate)", flush=True)
    for row in rows:
        row.results["throughput"] = state[row.name]


async def cpu_phase(
    rows: list[Row], counters: Counters, args: argparse.Namespace, workdir: Path
) -> None:
    measured = [row for row in rows if row.name != "floor"]
    for row in measured:
        assert row.fleet is not None
        began = time.perf_counter()
        connected = await row.fleet.ask({"cmd": "connect", "devices": args.cpu_devices})
        row.spent += time.perf_counter() - began
        print(
            f"   {SHORT[row.name]}: {connected['connected']} devices connected "
            f"(+{connected['seconds']:.1f} s)",
            flush=True,
        )
        await warm_up(row, args.cpu_devices)
    for turn in range(args.rounds):
        for row in rotated(measured, turn):
            w = await window(
                row, counters, float(args.cpu_devices), args.seconds, args.cpu_devices, workdir
            )
            row.results.setdefault("cpu", []).append({"cpu": w.cpu, "sent": w.sent, "lost": w.lost})
            print(
                f"   CPU round {turn + 1}: {SHORT[row.name]}: "
                + " + ".join(f"{c:.1f}" for c in w.cpu)
                + f" % (lost {w.lost})",
                flush=True,
            )
    # Idle: every device connected, none reporting; all rows at once, nothing else runs.
    await asyncio.sleep(3)
    processes = {row.name: row.processes() for row in rows}
    before = {name: cpu_seconds(p) for name, p in processes.items()}
    started = time.perf_counter()
    await asyncio.sleep(args.idle_seconds)
    wall = time.perf_counter() - started
    for row in rows:
        after = cpu_seconds(processes[row.name])
        row.results["idle"] = [
            100 * (b - a) / wall for a, b in zip(before[row.name], after, strict=True)
        ]


async def rtt_phase(rows: list[Row], args: argparse.Namespace) -> None:
    for row in rows:
        if row.name != "mqtt":
            began = time.perf_counter()
            reply = await row.receiver.ask({"cmd": "rtt", "samples": args.samples})
            row.results["rtt"] = reply["rtt"]
            row.spent += time.perf_counter() - began


async def auth_calls(rows: list[Row], counters: Counters) -> dict[str, tuple[dict[str, int], int]]:
    """Per row whose broker asks Home Assistant: (its calls so far by kind, reports sent)."""
    out = {}
    for row in rows:
        if row.node is not None:
            stats = await row.receiver.ask({"cmd": "stats"})
            out[row.name] = (stats.get("auth_calls", {}), counters.get(row.sent_slot))
    return out


async def comparison(args: argparse.Namespace) -> dict[str, Any]:
    results = run_facts()
    results["args"] = {
        k: v for k, v in vars(args).items() if isinstance(v, int | float | str | list)
    }
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        counters_path = workdir / "counters"
        counters = Counters(counters_path, create=True)
        async with rows_running(
            workdir, counters_path, args.devices, args.cpu_devices, args.rows
        ) as rows:
            results["setup"] = {
                row.name: {
                    "setup_seconds": row.setup_seconds,
                    "entities": row.entities,
                    "connect_seconds": row.connect_seconds,
                    "missing": len(row.missing),
                }
                for row in rows
            }
            asked = await auth_calls(rows, counters)
            print(f"-- latency, load average {load_average()}", flush=True)
            await latency_phase(rows, counters, args, workdir)
            print(f"-- sustained rate, load average {load_average()}", flush=True)
            await throughput_phase(rows, counters, args, workdir)
            print(f"-- request round trips, load average {load_average()}", flush=True)
            await rtt_phase(rows, args)
            for name, (calls, sent) in (await auth_calls(rows, counters)).items():
                before, sent_before = asked[name]
                row_results = next(row.results for row in rows if row.name == name)
                row_results["auth_calls"] = {
                    "calls": {k: v - before.get(k, 0) for k, v in calls.items()},
                    "reports": sent - sent_before,
                }
            print(f"-- CPU, load average {load_average()}", flush=True)
            await cpu_phase(rows, counters, args, workdir)
            for row in rows:
                row.results["spent_seconds"] = row.spent
            print(
                "-- time each row took (the shared idle phase apart): "
                + ", ".join(f"{SHORT[row.name]} {row.spent / 60:.1f} min" for row in rows),
                flush=True,
            )
            results["rows"] = {row.name: row.results for row in rows}
        counters.close()
    results["load_after"] = load_average()
    return results


# --- setup cost -----------------------------------------------------------------------------------


async def setup_cost(devices: int) -> dict[str, Any]:
    """Runs in a fresh process: memory and time to set up a hub with `devices` devices."""
    from homeassistant.setup import async_setup_component  # noqa: PLC0415

    from benchmarks.rows import home_assistant, rlink_entry  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as config_dir:
        async with home_assistant(config_dir) as hass:
            # Load the platforms' code first, so the figures are the entry's own.
            for domain in ("sensor", "switch", "number", "button", "event", "update"):
                await async_setup_component(hass, domain, {})
            rss0 = psutil.Process().memory_info().rss
            started = time.perf_counter()
            data = {"broker": "embedded", "port": free_port(), "bind_host": "127.0.0.1"}
            entry = await rlink_entry(hass, data, devices)
            seconds = time.perf_counter() - started
            rss1 = psutil.Process().memory_info().rss
            result = {
                "devices": devices,
                "seconds": seconds,
                "entities": len(hass.states.async_all()),
                "rss_mb": (rss1 - rss0) / 2**20,
            }
            await hass.config_entries.async_unload(entry.entry_id)
            await hass.async_block_till_done()
            return result


def _setup_in_subprocess(devices: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.end_to_end", "--setup-only", str(devices)],
        cwd=ROOT,
        env=env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


# --- report ----------------------------------------------------------------------------------------


def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def collector_section(rows: dict[str, Any], names: list[str]) -> list[str]:
    """The p99 at HIGH_RATE with the collector as Python leaves it and in SMALL_STEPS."""
    diagnosed = [n for n in names if rows[n].get(SMALL_STEPS_KEY, {}).get("latencies")]
    if not diagnosed:
        return []
    lines = [
        "",
        f"## The p99 at {HIGH_RATE:g}/s and the garbage collector",
        "",
        "Every state write leaves a reference cycle in Home Assistant's core (the event "
        "and its context point at each other), so the collector's generation-1 runs free "
        "thousands of objects at a time and hold the event loop meanwhile; the reports "
        "that arrive during one wait for it. To tell that wait from the rows' own cost, "
        "each Home Assistant row also runs windows with its collector set to "
        f"`gc.set_threshold{SMALL_STEPS}` (a generation-1 run after every second "
        "generation-0 run instead of every tenth), back to back with the default windows. "
        "Only the benchmark sets it, and only for those windows: the integration never "
        "touches the collector, and Home Assistant leaves Python's default.",
        "",
        "| row | p50 / p99 (ms), default | longest GC pause (ms), default "
        "| p50 / p99 (ms), generation 1 every second run | longest GC pause (ms), "
        "generation 1 every second run |",
        "|---|---|---|---|---|",
    ]
    for name in diagnosed:
        default, small = rows[name]["latency_high"], rows[name][SMALL_STEPS_KEY]
        d50, d99 = ms(default["latencies"])
        s50, s99 = ms(small["latencies"])
        lines.append(
            f"| {SHORT[name]} | {d50:.2f} / {d99:.2f} | {default.get('gc_max_ms', 0.0):.1f} "
            f"| {s50:.2f} / {s99:.2f} | {small.get('gc_max_ms', 0.0):.1f} |"
        )
    return lines


def render(r: dict[str, Any]) -> str:
    a = r["args"]
    rows: dict[str, dict[str, Any]] = r["rows"]
    names = [n for n in ROWS if n in rows]
    lines = [
        "# End-to-end benchmark: rlink next to the alternatives",
        "",
        f"Run {r['when']} on {r['machine']}, Python {r['python']}, Home Assistant "
        f"{r['ha_version']}. Load average (1 / 5 / 15 min) {r['load_before']} before the run, "
        f"{r['load_after']} after it.",
        "",
        f"{a['devices']} simulated devices per row (half sensors, half plugs), each connected "
        "with its own MQTT connection and subscribed to its own `issue` and "
        "`report_response`, QoS 1 reports; a window is "
        f"{a['seconds']:g} s; rounds alternate the rows, the order turning each round. "
        "The devices run in a process of their own, the same code for every row. "
        "Home Assistant listens with a `@callback` state listener (in the event loop, no task).",
        "",
        "| row | how it is set up |",
        "|---|---|",
        "| floor | the devices → Mosquitto → a bare paho subscriber to `rlink/v2/+/+/report` "
        "(QoS 1, paho's network thread) that decodes each JSON report |",
        "| HA MQTT | Home Assistant's `mqtt` integration on Mosquitto (MQTT 5, QoS 1); each "
        "device announced by one retained MQTT device-discovery message with an entity for "
        "each entity rlink gives it; the sensors read the report topic with "
        "`value_json` templates |",
        "| rlink + Mosquitto | the integration's local hub on an external broker (Mosquitto), "
        "one rlink device subentry per device |",
        "| rlink + RabbitMQ | the same hub on RabbitMQ (Debian's package, its MQTT plugin, "
        "default settings) with Home Assistant as its auth service: RabbitMQ's HTTP auth "
        "backend asks Home Assistant's broker-auth views about every login (the devices' "
        "signed rlink credentials, the hub's account) and topic, with no auth cache; the "
        "broker column counts the Erlang VM and everything under it |",
        "| rlink server | the local hub on its own device server (the default set-up); the "
        "devices log in with their signed rlink credentials |",
        "",
        "## Set-up",
        "",
        "Each receiving process does a full garbage collection once its devices have "
        "reported (and again once more devices connect), before any window: a fresh start "
        "owes those collections, a Home Assistant that has run a while has done them, and "
        "in a window one would stall it for as long as its column says. The last column is "
        "the wall-clock time spent on the row alone (its set-up and its windows; the idle "
        "phase is shared): what the row adds to a run.",
        "",
        "| row | configured devices | entities in Home Assistant | devices missing their "
        f"reported entity | set up (s) | {a['devices']} devices connected in (s) "
        "| first full collection (ms) | time the row took in this run (min) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    capped = False
    for name in names:
        s = r["setup"][name]
        configured = a["devices"] if name == "floor" else a["cpu_devices"]
        capped = capped or bool(s.get("missing"))
        lines.append(
            f"| {SHORT[name]} | {configured} | {s['entities'] or '-'} | {s.get('missing', 0)} "
            f"| {s['setup_seconds']:.1f} | {s['connect_seconds']:.1f} "
            f"| {rows[name].get('collections_ms', [0.0])[0]:.0f} "
            f"| {rows[name].get('spent_seconds', 0.0) / 60:.1f} |"
        )
    if capped:
        lines += [
            "",
            "Home Assistant adds at most 10,000 enabled entities per config entry; only "
            "bridges such as `mqtt`, `zha` or `zwave_js` are exempt. One rlink hub's devices "
            "past that cap get no more entities (whichever platform reaches the cap is cut "
            "short; the table counts the devices left without the entity their reports "
            "change). The phases with every device connected count, for a row "
            "with such devices, only the reports to devices that have their entity.",
        ]

    def lat(name: str, key: str) -> tuple[float, float] | None:
        values = rows[name].get(key, {}).get("latencies")
        return ms(values) if values else None

    floor50 = (lat("floor", "latency") or (float("nan"),))[0] if "floor" in rows else None
    lines += [
        "",
        "## Report → state latency",
        "",
        f"All {a['devices']} devices connected and subscribed; {a['rounds']} rounds per rate, "
        "every report's send time joined to the time its state changed. The longest "
        "garbage collection in the receiving process during those windows is given, since "
        "one shows in the p99.",
        "",
        f"| row | p50 at {a['rate']:g}/s (ms) | p99 at {a['rate']:g}/s (ms) "
        f"| p50 at {HIGH_RATE:g}/s (ms) | p99 at {HIGH_RATE:g}/s (ms) | max (ms) | samples "
        "| lost | longest GC pause (ms, generation) | p50 against the floor |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in names:
        low, high = lat(name, "latency"), lat(name, "latency_high")
        if low is None or high is None:
            lines.append(f"| {SHORT[name]} | - | - | - | - | - | 0 | - | - | - |")
            continue
        samples = len(rows[name]["latency"]["latencies"]) + len(
            rows[name]["latency_high"]["latencies"]
        )
        both = (rows[name]["latency"], rows[name]["latency_high"])
        lost = sum(e["lost"] for e in both)
        longest = max(max(e["latencies"]) for e in both)
        slowest = max(both, key=lambda e: e.get("gc_max_ms", 0.0))
        pause = f"{slowest.get('gc_max_ms', 0.0):.1f} ({slowest.get('gc_max_generation', 0)})"
        ratio = f"{low[0] / floor50:.2f}" if floor50 else "-"
        lines.append(
            f"| {SHORT[name]} | {low[0]:.2f} | {low[1]:.2f} | {high[0]:.2f} | {high[1]:.2f} "
            f"| {longest:.1f} | {samples} | {lost} | {pause} | {ratio} |"
        )

    lines += collector_section(rows, names)

    lines += [
        "",
        "## Sustained reports per second into states, no loss",
        "",
        "The highest rate held: nothing lost, and the backlog (reports sent minus states "
        "changed, sampled every second during the window) not growing, judged by the least "
        "sample of the window's first and last thirds, so that one pause the row catches up "
        "on does not count as falling behind. A rate not held although nothing was lost, the "
        "window was not stopped early and the backlog grew by less than half a second's "
        "reports is tried once more in the next round, and that try decides. Rates tried, "
        "in order "
        "(✓ held, ✗ not; a window more than 2 s behind at two samples in a row is stopped early):",
        "",
        "| row | sustained (reports/s) | first rate not held | windows |",
        "|---|---|---|---|",
    ]
    for name in names:
        t = rows[name]["throughput"]
        tried = ", ".join(
            f"{w['rate']:.0f} {'✓' if w['ok'] else '✗'}"
            + ("" if w["ok"] else f" (lost {w['lost']}, backlog {w['backlog_end']})")
            + (
                f" (the fleet offered {w['achieved']:.0f}/s)"
                if w["achieved"] < 0.95 * w["rate"]
                else ""
            )
            for w in t["tried"]
        )
        hi = f"{t['hi']:.0f}" if t["hi"] else f"none up to {MAX_RATE:.0f}"
        lines.append(f"| {SHORT[name]} | {t['lo']:.0f} | {hi} | {tried} |")

    lines += [
        "",
        f"## CPU at {a['cpu_devices']} devices",
        "",
        f"% of one core, Home Assistant's process + the broker's, over {a['seconds']:g} s "
        f"windows ({a['rounds']} rounds, mean) with every device reporting once a second "
        f"({a['cpu_devices']} reports/s), and over {a['idle_seconds']:g} s with all of them "
        "connected and idle (keep-alive pings only).",
        "",
        "| row | HA | broker | total, reporting | reports lost | HA idle | broker idle "
        "| total, idle |",
        "|---|---|---|---|---|---|---|---|",
    ]
    cpu_total: dict[str, float] = {}
    for name in names:
        if "cpu" not in rows[name]:
            continue
        samples = rows[name]["cpu"]
        ha = statistics.mean(s["cpu"][0] for s in samples)
        broker = (
            statistics.mean(s["cpu"][1] for s in samples) if len(samples[0]["cpu"]) > 1 else 0.0
        )
        cpu_total[name] = ha + broker
        idle = rows[name]["idle"]
        idle_broker = idle[1] if len(idle) > 1 else 0.0
        has_broker = len(samples[0]["cpu"]) > 1
        lines.append(
            f"| {SHORT[name]} | {ha:.1f} | {f'{broker:.1f}' if has_broker else '- (inside HA)'} "
            f"| {ha + broker:.1f} | {sum(s['lost'] for s in samples)} | {idle[0]:.1f} "
            f"| {f'{idle_broker:.1f}' if has_broker else '-'} | {idle[0] + idle_broker:.1f} |"
        )

    for name in names:
        asked = rows[name].get("auth_calls")
        if asked is None:
            continue
        calls, reports = asked["calls"], max(asked["reports"], 1)
        lines += [
            "",
            f"## Home Assistant as the auth service of {SHORT[name].split(' + ')[-1]}",
            "",
            "Calls the broker made to Home Assistant's broker-auth views while the latency, "
            f"sustained-rate and round-trip windows ran ({asked['reports']} reports, every "
            "device already logged in): what a steady stream of reports costs in auth calls.",
            "",
            "| call | count | per report |",
            "|---|---|---|",
            *(
                f"| `{check}` | {count} | {count / reports:.4f} |"
                for check, count in sorted(calls.items())
            ),
        ]
        if not calls:
            lines.append("| (none) | 0 | 0 |")

    if any("rtt" in rows[n] for n in names):
        lines += [
            "",
            "## Request round trip",
            "",
            f"`ping` to one device and its answer, {a['samples']} samples: bare paho through "
            "Mosquitto, and Home Assistant's check-connection button (press → `issue` → "
            "device → `issue_response` → the press returns).",
            "",
            "| row | p50 (ms) | p99 (ms) | p50 against the floor |",
            "|---|---|---|---|",
        ]
        floor_rtt = ms(rows["floor"]["rtt"])[0] if rows.get("floor", {}).get("rtt") else None
        for name in names:
            values = rows[name].get("rtt")
            if not values:
                continue
            p50, p99 = ms(values)
            ratio = f"{p50 / floor_rtt:.2f}" if floor_rtt else "-"
            lines.append(f"| {SHORT[name]} | {p50:.2f} | {p99:.2f} | {ratio} |")

    # Targets: ratios, met or not; nothing here fails a run.
    if {"floor", "mqtt", "rlink-server"} <= set(rows):
        ours, theirs = rows["rlink-server"], rows["mqtt"]
        rate_ratio = ours["throughput"]["lo"] / max(theirs["throughput"]["lo"], 1.0)
        o50, t50 = lat("rlink-server", "latency"), lat("mqtt", "latency")
        high = lat("rlink-server", "latency_high")
        lines += [
            "",
            "## Targets",
            "",
            "| target | measured | |",
            "|---|---|---|",
            f"| rlink server sustains ≥ 1.5x HA MQTT's rate | {rate_ratio:.2f}x "
            f"({ours['throughput']['lo']:.0f} against {theirs['throughput']['lo']:.0f}/s) "
            f"| {_met(rate_ratio >= 1.5)} |",
        ]
        if o50 and t50 and floor50:
            lines += [
                f"| report → state p50 ≤ HA MQTT's p50 | {o50[0] / t50[0]:.2f}x "
                f"({o50[0]:.2f} against {t50[0]:.2f} ms) | {_met(o50[0] <= t50[0])} |",
                f"| report → state p50 ≤ 1.5x the floor | {o50[0] / floor50:.2f}x "
                f"({o50[0]:.2f} against {floor50:.2f} ms) | {_met(o50[0] <= 1.5 * floor50)} |",
            ]
        if high:
            lines.append(
                f"| p99 ≤ 10 ms at {HIGH_RATE:g} reports/s | {high[1]:.2f} ms "
                f"| {_met(high[1] <= 10)} |"
            )
        if small := lat("rlink-server", SMALL_STEPS_KEY):
            lines.append(
                f"| (not a target) the same p99 with the collector in smaller steps "
                f"| {small[1]:.2f} ms | - |"
            )
        if "rlink-server" in cpu_total and "mqtt" in cpu_total:
            c_ours, c_theirs = cpu_total["rlink-server"], cpu_total["mqtt"]
            lines.append(
                f"| CPU at {a['cpu_devices']} devices x 1/s ≤ HA MQTT + Mosquitto "
                f"| {c_ours / c_theirs:.2f}x ({c_ours:.1f} against {c_theirs:.1f} %) "
                f"| {_met(c_ours <= c_theirs)} |"
            )
        idle = ours.get("idle")
        if idle:
            lines.append(
                f"| {a['cpu_devices']} idle devices on the device server ≤ 2 % of a core "
                f"| {idle[0]:.1f} % | {_met(idle[0] <= 2)} |"
            )

    if r.get("setup_cost"):
        lines += [
            "",
            "## Setup cost of the device server's hub (fresh process per size)",
            "",
            "| devices | entities | setup (s) | memory (MB) | ms per device | MB per device |",
            "|---|---|---|---|---|---|",
        ]
        for s in r["setup_cost"]:
            lines.append(
                f"| {s['devices']} | {s['entities']} | {s['seconds']:.2f} | {s['rss_mb']:.0f} "
                f"| {1000 * s['seconds'] / s['devices']:.2f} | {s['rss_mb'] / s['devices']:.3f} |"
            )
    return "\n".join(lines) + "\n"


async def run(args: argparse.Namespace) -> dict[str, Any]:
    results = await comparison(args)
    results["setup_cost"] = []
    for size in args.sizes:
        print(f"-- setup with {size} devices", flush=True)
        results["setup_cost"].append(await asyncio.to_thread(_setup_in_subprocess, size))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=500, help="devices per row")
    parser.add_argument("--seconds", type=float, default=8, help="length of a window")
    parser.add_argument("--rate", type=float, default=200, help="the moderate rate (reports/s)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per latency / CPU figure")
    parser.add_argument("--search-rounds", type=int, default=9)
    parser.add_argument("--start-rate", type=float, default=1000)
    parser.add_argument(
        "--cpu-devices", type=int, help="devices for the CPU figures (2 x --devices)"
    )
    parser.add_argument("--idle-seconds", type=float, default=20)
    parser.add_argument("--samples", type=int, default=300, help="request round trips")
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    parser.add_argument("--rows", nargs="*", default=list(ROWS), choices=ROWS)
    parser.add_argument("--setup-only", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="also keep the raw results here")
    parser.add_argument("--output", type=Path, default=RESULTS / "end_to_end.md")
    args = parser.parse_args()
    if args.setup_only:
        import logging  # noqa: PLC0415

        logging.basicConfig(level=logging.ERROR)
        print(json.dumps(asyncio.run(setup_cost(args.setup_only))))
        os._exit(0)
    args.cpu_devices = args.cpu_devices or 2 * args.devices
    results = asyncio.run(run(args))
    if args.json:
        args.json.write_text(json.dumps(results))
    write_report(render(results), args.output)


if __name__ == "__main__":
    main()
