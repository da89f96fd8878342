"""What Home Assistant alone costs a report: state writes with nothing in front of them.

The end-to-end rows measure a device's report until its state changes. Part of that time is
Home Assistant's own: writing the state, firing ``state_changed`` to its listeners, and the
garbage collections that the event and context of each write (a reference cycle in core)
bring. This benchmark measures that part alone, so the rows can be read against it: a
Home Assistant with the same 1000-device rlink hub set up (the same heap as the device
server row) writes states of 500 sensors at a fixed rate, timed by the event loop, with a
``@callback`` listener on ``state_changed`` as in the rows. Nothing connects; there is no
network, no decoding and no integration code on the path.

It runs twice per rate: with the other core idle, and beside a process that keeps it busy
(as the simulated devices do in the rows). The figure is each write's lateness: when it was
done against when it was due.

Run ``python -m benchmarks.state_floor`` (``scripts/bench`` runs it after the end-to-end
benchmark).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from benchmarks.end_to_end import load_average, ms, run_facts, write_report
from benchmarks.rows import GcPauses, free_port, home_assistant, rlink_entry, wait_for_entities

RESULTS: Final = Path(__file__).parent / "results"
SENSORS: Final = 500
ATTRIBUTES: Final = {
    "unit_of_measurement": "W",
    "device_class": "power",
    "state_class": "measurement",
    "friendly_name": "Floor sensor",
}
VARIANTS: Final = ("alone", "beside a busy process")


@contextlib.contextmanager
def busy_neighbour(busy: bool) -> Iterator[None]:
    """A process spinning on the other core, or nothing."""
    if not busy:
        yield
        return
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        spinner.kill()
        spinner.wait()


async def window(hass: Any, rate: float, seconds: float, pauses: GcPauses) -> dict[str, Any]:
    """`rate` state writes a second for `seconds`, each timed against when it was due."""
    loop = asyncio.get_running_loop()
    late: list[float] = []
    entity_ids = [f"sensor.state_floor_{i}" for i in range(SENSORS)]

    count = int(rate * seconds)
    done = asyncio.Event()

    def write(index: int, due: float) -> None:
        hass.states.async_set(entity_ids[index % SENSORS], str(index), ATTRIBUTES)
        late.append(1000 * (loop.time() - due))
        if len(late) == count:
            done.set()

    start = loop.time() + 0.2
    for index in range(count):
        due = start + index / rate
        loop.call_at(due, write, index, due)
    pauses.start()
    await done.wait()
    seen = pauses.stop()
    longest = max(seen, default=(0.0, 0, 0))
    return {
        "late": late,
        "gc_max_ms": longest[0],
        "gc_max_generation": longest[1],
        "gc_max_freed": longest[2],
        "gc_over_10_ms": sum(1 for pause, _, _ in seen if pause > 10),
        "gc_count": len(seen),
    }


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    from homeassistant.const import EVENT_STATE_CHANGED  # noqa: PLC0415
    from homeassistant.core import Event, callback  # noqa: PLC0415

    results = run_facts()
    results["args"] = vars(args) | {"output": str(args.output)}
    with tempfile.TemporaryDirectory() as config_dir:
        async with home_assistant(config_dir) as hass:
            settings = {"broker": "embedded", "port": free_port(), "bind_host": "127.0.0.1"}
            await rlink_entry(hass, settings, args.devices)
            await wait_for_entities(hass, "rlink", args.devices)
            changed = [0]

            @callback
            def on_state(event: Event[Any]) -> None:
                if event.data["new_state"] is not None:
                    changed[0] += 1

            hass.bus.async_listen(EVENT_STATE_CHANGED, on_state)
            for i in range(SENSORS):
                hass.states.async_set(f"sensor.state_floor_{i}", "0", ATTRIBUTES)
            gc.collect()  # what the set-up owes, as in the rows
            pauses = GcPauses()
            figures: dict[str, dict[str, Any]] = {}
            for turn in range(args.rounds):
                for rate in (args.rate, args.high_rate):
                    order = VARIANTS if turn % 2 == 0 else VARIANTS[::-1]
                    for variant in order:
                        with busy_neighbour(variant != "alone"):
                            w = await window(hass, rate, args.seconds, pauses)
                        key = f"{variant}@{rate:g}"
                        entry = figures.setdefault(
                            key, {"late": [], "gc_max_ms": 0.0, "gc_over_10_ms": 0}
                        )
                        entry["late"] += w["late"]
                        entry["gc_over_10_ms"] += w["gc_over_10_ms"]
                        if w["gc_max_ms"] >= entry["gc_max_ms"]:
                            entry |= {k: w[k] for k in w if k.startswith("gc_max")}
                        p50, p99 = ms(w["late"])
                        print(
                            f"   {variant}, {rate:g}/s, round {turn + 1}: p50 {p50:.2f} ms, "
                            f"p99 {p99:.2f} ms, longest GC {w['gc_max_ms']:.1f} ms "
                            f"(generation {w['gc_max_generation']}, {w['gc_max_freed']} freed)",
                            flush=True,
                        )
            results["figures"] = figures
            results["state_changes"] = changed[0]
    results["load_after"] = load_average()
    return results


def report(results: dict[str, Any]) -> str:
    args = results["args"]
    lines = [
        "# Home Assistant alone: the floor under every row",
        "",
        f"Run {results['when']} on {results['machine']}, Python {results['python']}, "
        f"Home Assistant {results['ha_version']}. Load average (1 / 5 / 15 min) "
        f"{results['load_before']} before the run, {results['load_after']} after it.",
        "",
        f"A Home Assistant with an rlink hub of {args['devices']} configured devices (nobody "
        f"connected) writes the state of {SENSORS} sensors at a fixed rate, timed by the event "
        f"loop, with a `@callback` listener on `state_changed`. {args['rounds']} rounds of "
        f"{args['seconds']:g} s windows per line, the variants alternating. Lateness is when a "
        "write was done against when it was due: what Home Assistant itself adds to any "
        "integration's report → state latency.",
        "",
        "| other core | writes/s | p50 (ms) | p99 (ms) | max (ms) | writes | longest GC pause "
        "(ms) | its generation | objects it freed | pauses over 10 ms |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, entry in results["figures"].items():
        variant, rate = key.split("@")
        p50, p99 = ms(entry["late"])
        lines.append(
            f"| {variant} | {rate} | {p50:.2f} | {p99:.2f} | {max(entry['late']):.1f} | "
            f"{len(entry['late'])} | {entry['gc_max_ms']:.1f} | {entry['gc_max_generation']} | "
            f"{entry['gc_max_freed']} | {entry['gc_over_10_ms']} |"
        )
    lines += [
        "",
        "Each write fires `state_changed`; its event and its context point at each other "
        "(`Context.origin_event`), so every write leaves a reference cycle that only the "
        "collector frees. Those cycles are what the generation-1 collections here free, and "
        "the longest pauses of the end-to-end rows free the same. A pause holds the event "
        "loop: what arrives meanwhile waits, and is then served one after the other. Here a "
        "write costs tens of microseconds, so the queue a pause leaves is gone almost at "
        "once and the p99 stays near the p50; in a row, each waiting report costs that "
        "row's whole per-report time, so the queue a pause leaves takes longer to clear and "
        "more reports wait past 10 ms.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000, help="configured devices")
    parser.add_argument("--seconds", type=float, default=8, help="length of a window")
    parser.add_argument("--rate", type=float, default=200, help="the moderate rate")
    parser.add_argument("--high-rate", type=float, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--output", type=Path, default=RESULTS / "state_floor.md")
    args = parser.parse_args()
    results = asyncio.run(measure(args))
    write_report(report(results), args.output)


if __name__ == "__main__":
    main()
