"""Soak: a long stream of reports through the device server into Home Assistant.

One Home Assistant process with the local hub on its own device server (`benchmarks.rows`,
row ``rlink-server``) and one fleet process (`benchmarks.fleet`) with D devices, each
logged in with its rlink credentials. The fleet sends N QoS 1 ``property_report``s at a
steady rate over all devices in turn; each report changes its device's value, so each one
must become a state change in Home Assistant. Every `--interval` seconds the run samples
Home Assistant's resident memory and open file descriptors (from outside, psutil) and its
event loop's task count (asked over stdin), with the reports sent and the states changed.

The result: the slope of memory, descriptors and tasks against reports (a leak grows with
them; flat is the target) and the loss (reports sent that never became a state change;
zero is the target), written to ``benchmarks/results/soak.md``.

    scripts/bench --soak                     1,000,000 reports from 500 devices
    scripts/bench --soak --reports 50000     a short check
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import psutil

from benchmarks.end_to_end import RESULTS, Child, load_average, run_facts, write_report
from benchmarks.fleet import Counters

APPLIED: Final = 0
SENT: Final = 1
STOP: Final = 2
DRAIN_SECONDS: Final = 60.0
"""How long the states may go on catching up after the last report, with no progress."""


@dataclass(frozen=True)
class Sample:
    seconds: float
    sent: int
    applied: int
    rss_mib: float
    fds: int
    tasks: int


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ys against xs (0 with fewer than two distinct xs)."""
    if len(set(xs)) < 2:
        return 0.0
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    num = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    den = sum((x - mean_x) ** 2 for x in xs)
    return num / den


async def soak(args: argparse.Namespace) -> dict[str, Any]:
    facts = run_facts()
    with tempfile.TemporaryDirectory() as tmp:
        counters_path = Path(tmp) / "counters"
        counters = Counters(counters_path, create=True)
        receiver = await Child.start(
            "rlink server",
            "-m",
            "benchmarks.rows",
            "rlink-server",
            "--devices",
            str(args.devices),
            "--counters",
            str(counters_path),
            "--slot",
            str(APPLIED),
        )
        fleet: Child | None = None
        try:
            ready = await receiver.read()
            print(f"-- Home Assistant set up in {ready['setup_seconds']:.1f} s", flush=True)
            fleet = await Child.start(
                "fleet",
                "-m",
                "benchmarks.fleet",
                "--port",
                str(ready["port"]),
                "--devices",
                str(args.devices),
                "--counters",
                str(counters_path),
                "--slot",
                str(SENT),
                "--stop-slot",
                str(STOP),
            )
            connected = await fleet.ask({"cmd": "connect", "devices": args.devices})
            print(f"-- {connected['connected']} devices connected", flush=True)
            # Two reports per device unmeasured (each device's entities are written once
            # when it first reports), then the full collection a fresh process owes.
            await fleet.ask(
                {
                    "cmd": "run",
                    "rate": args.rate,
                    "seconds": 2 * args.devices / args.rate,
                    "devices": args.devices,
                }
            )
            await _caught_up(counters, 0, 0)
            await receiver.ask({"cmd": "collect"})
            results = await _stream(args, counters, receiver, fleet)
        finally:
            if fleet is not None:
                await fleet.stop()
            await receiver.stop()
            counters.close()
    return {**facts, **results, "load_after": load_average(), "args": vars(args)}


async def _caught_up(counters: Counters, sent_base: int, applied_base: int) -> float:
    """Wait until every report sent became a state, or until progress stops for
    DRAIN_SECONDS; the seconds it took."""
    started = last_progress = time.monotonic()
    applied = counters.get(APPLIED)
    while counters.get(APPLIED) - applied_base < counters.get(SENT) - sent_base:
        await asyncio.sleep(0.2)
        if (now := counters.get(APPLIED)) != applied:
            applied, last_progress = now, time.monotonic()
        elif time.monotonic() - last_progress > DRAIN_SECONDS:
            break
    return time.monotonic() - started


async def _stream(
    args: argparse.Namespace, counters: Counters, receiver: Child, fleet: Child
) -> dict[str, Any]:
    assert receiver.process.pid is not None
    hass = psutil.Process(receiver.process.pid)
    sent_base, applied_base = counters.get(SENT), counters.get(APPLIED)
    seconds = args.reports / args.rate
    print(
        f"-- {args.reports} reports at {args.rate:.0f}/s (about {seconds / 60:.1f} min), "
        f"load average {load_average()}",
        flush=True,
    )
    run = asyncio.create_task(
        fleet.ask(
            {"cmd": "run", "rate": args.rate, "seconds": 2 * seconds + 60, "devices": args.devices},
            timeout=4 * seconds + 600,
        )
    )
    started = time.monotonic()
    samples: list[Sample] = []

    async def take() -> Sample:
        seconds = time.monotonic() - started
        sent, applied = counters.get(SENT) - sent_base, counters.get(APPLIED) - applied_base
        rss, fds = hass.memory_info().rss / 2**20, hass.num_fds()
        stats = await receiver.ask({"cmd": "stats"}, timeout=60)
        sample = Sample(seconds, sent, applied, rss, fds, int(stats.get("tasks", 0)))
        samples.append(sample)
        print(
            f"   {sample.seconds:7.0f} s  sent {sample.sent:9d}  behind "
            f"{sample.sent - sample.applied:6d}  {sample.rss_mib:7.1f} MiB  "
            f"{sample.fds:5d} fds  {sample.tasks:4d} tasks",
            flush=True,
        )
        return sample

    async def stop_at_count() -> None:
        while counters.get(SENT) - sent_base < args.reports:  # noqa: ASYNC110 - another process counts
            await asyncio.sleep(0.01)
        counters.set(STOP, 1)  # the fleet ends its run at its next tick

    stopper = asyncio.create_task(stop_at_count())
    await take()
    next_sample = started + args.interval
    while not run.done():
        await asyncio.wait({run}, timeout=max(0.0, next_sample - time.monotonic()))
        if not run.done():
            await take()
            next_sample += args.interval
    stopper.cancel()
    fleet_result = run.result()
    drain = await _caught_up(counters, sent_base, applied_base)
    final = await take()
    totals = await fleet.ask({"cmd": "stats"})  # after the drain: the last PUBACKs are in
    elapsed = final.seconds
    # The first half of a run is also the heap growing to its working size (caches,
    # interned strings, the allocator's arenas): the slope that tells a leak is the second's.
    steady = samples[len(samples) // 2 :] if len(samples) >= 4 else samples
    per = 100_000
    xs = [s.sent / per for s in steady]
    whole = [s.sent / per for s in samples]
    return {
        "devices": args.devices,
        "sent": final.sent,
        "applied": final.applied,
        "lost": final.sent - final.applied,
        "unacked": totals["sent"] - totals["acked"],
        "lost_connections": totals["lost_connections"],
        "achieved": fleet_result["achieved"],
        "elapsed": elapsed,
        "drain": drain,
        "rss_slope": slope(xs, [s.rss_mib for s in steady]),
        "rss_slope_whole": slope(whole, [s.rss_mib for s in samples]),
        "fds_slope": slope(xs, [float(s.fds) for s in steady]),
        "tasks_slope": slope(xs, [float(s.tasks) for s in steady]),
        "samples": [vars(s) for s in samples],
    }


def render(r: dict[str, Any]) -> str:
    samples = [Sample(**s) for s in r["samples"]]
    rss = [s.rss_mib for s in samples]
    fds = [s.fds for s in samples]
    tasks = [s.tasks for s in samples]
    lines = [
        "# Soak: reports through the device server into Home Assistant",
        "",
        f"Run {r['when']} on {r['machine']}, Python {r['python']}, Home Assistant "
        f"{r['ha_version']}. Load average (1 / 5 / 15 min) {r['load_before']} before the "
        f"run, {r['load_after']} after it. Command: `scripts/bench --soak --reports "
        f"{r['args']['reports']} --devices {r['devices']} --rate {r['args']['rate']:g}`.",
        "",
        f"{r['devices']} simulated devices, each logged in to the integration's device server "
        "with its own connection and rlink credentials, send QoS 1 `property_report`s in "
        f"turn at {r['args']['rate']:g}/s; every report changes its device's value, so each "
        "must become a state change in Home Assistant (counted by a `@callback` listener). "
        f"Home Assistant's memory, descriptors and event-loop tasks are sampled every "
        f"{r['args']['interval']:g} s; the slopes are least-squares fits against the "
        "reports sent over the second half of the samples (the first half is also the heap "
        "growing to its working size; the memory slope over the whole run is given too).",
        "",
        "| figure | value | target |",
        "|---|---|---|",
        f"| reports sent | {r['sent']:,} | {r['args']['reports']:,} |",
        f"| state changes | {r['applied']:,} | as many |",
        f"| lost (sent, never a state) | {r['lost']:,} | 0 |",
        f"| sent without PUBACK | {r['unacked']:,} | 0 |",
        f"| device connections lost | {r['lost_connections']} | 0 |",
        f"| rate achieved | {r['achieved']:.0f}/s | {r['args']['rate']:g}/s |",
        f"| run, then catching up | {r['elapsed']:.0f} s, of which {r['drain']:.1f} s after "
        "the last report | |",
        f"| resident memory | {min(rss):.1f} to {max(rss):.1f} MiB, slope "
        f"{r['rss_slope']:+.3f} MiB per 100k reports ({r['rss_slope_whole']:+.3f} over the "
        "whole run) | flat |",
        f"| file descriptors | {min(fds)} to {max(fds)}, slope {r['fds_slope']:+.3f} per 100k "
        "reports | flat |",
        f"| event-loop tasks | {min(tasks)} to {max(tasks)}, slope {r['tasks_slope']:+.3f} per "
        "100k reports | flat |",
        "",
        "## Samples",
        "",
        "| s | reports sent | behind | MiB | fds | tasks |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {s.seconds:.0f} | {s.sent:,} | {s.sent - s.applied:,} | {s.rss_mib:.1f} | {s.fds} "
        f"| {s.tasks} |"
        for s in samples
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--devices", type=int, default=500)
    parser.add_argument("--rate", type=float, default=1000.0, help="reports per second")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--output", type=Path, default=RESULTS / "soak.md")
    args = parser.parse_args()
    output = args.output
    del args.output
    write_report(render(asyncio.run(soak(args))), output)


if __name__ == "__main__":
    main()
