"""Benchmark: Handoo placing real phone calls through LiveKit's own server and
SIP bridge (figures printed, nothing asserted but correctness).

The stack of the real-stack tests (harness.py: Redis, livekit-server,
livekit-sip), a SIP phone (baresip) that answers at once, LiveKit's agent
framework as the voice worker, and Handoo's server (HANDOO_SERVER_BIN: the
release build under scripts/bench) on SQLite and then on PostgreSQL. LiveKit's
webhooks, as the real server signs and sends them, are handed to Handoo — each
twice, as a webhook may be redelivered.

For each of CALLS_N calls (default 30), one after another, from a new
organisation through `POST /api/v1/orgs/{org}/calls`:
  - POST → the phone ringing (the INVITE at baresip: the new call's first event);
  - POST → the call answered in Handoo (polled every 5 ms);
  - POST → in progress (the worker's agent in the room, from LiveKit's webhook);
then hang-up → completed. Then: Handoo's time to take one of LiveKit's real
webhooks (p50/p99 over all of them, first deliveries and repeats apart), and a
check that every call event LiveKit sent is on its call's timeline exactly once.

Run: scripts/bench (step "calls against the real LiveKit stack"), or
`python conformance/livekit/bench_calls.py` with the variables
scripts/livekit-tests sets (HANDOO_LIVEKIT_SERVER_BIN, HANDOO_LIVEKIT_SIP_BIN,
HANDOO_SERVER_BIN).
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import harness  # noqa: E402
from audio import tone_wav  # noqa: E402
from handoo import VOICE_AGENT, Handoo  # noqa: E402

NUMBER = "+33612345678"
PG_ADMIN = os.environ.get("HANDOO_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/test")


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[round((len(s) - 1) * p)]


def line(name: str, ms: list[float]) -> str:
    return f"  {name:<34} p50 {pct(ms, 0.5):7.1f} ms   p99 {pct(ms, 0.99):7.1f} ms   (n={len(ms)})"


class Redeliver:
    """Hands each webhook to Handoo a second time, as LiveKit may on a retry."""

    def __init__(self, sink: harness.WebhookSink, url: str) -> None:
        self.sink, self.url, self.seen, self.times = sink, url, 0, []

    def pump(self) -> None:
        for body, auth in self.sink.received[self.seen :]:
            req = urllib.request.Request(self.url, data=body, method="POST",
                                         headers={"Authorization": auth, "Content-Type": "application/webhook+json"})
            started = time.perf_counter()
            urllib.request.urlopen(req, timeout=10).read()
            self.times.append(time.perf_counter() - started)
        self.seen = len(self.sink.received)


def is_call_event(ev: dict) -> bool:
    """The webhooks Handoo keeps on a call's timeline (services/src/calls/webhook.rs `call_event`)."""
    kind = (ev.get("participant") or {}).get("kind")
    return ev.get("event") == "room_finished" or (
        ev.get("event") == "participant_joined" and kind in ("AGENT", "SIP")
    ) or (ev.get("event") == "participant_left" and kind == "SIP")


def fresh_pg_database() -> tuple[str, str]:
    name = f"bench_livekit_{uuid.uuid4().hex[:8]}"
    subprocess.run(["psql", PG_ADMIN, "-qc", f"CREATE DATABASE {name}"], check=True)
    return name, PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def bench(label: str, stack: harness.Stack, sink: harness.WebhookSink, workdir: Path, n: int, env: dict) -> None:
    tone = tone_wav(workdir / "tone.wav", 440, seconds=60, rate=8000)
    phone = harness.start_phone(workdir / f"phone-{uuid.uuid4().hex[:8]}", tone, number=NUMBER)
    # A worker per run: LiveKit's agent framework (threads) is not what is measured.
    worker, _jobs = harness.start_agent_worker(workdir, stack.ws_url)
    handoo = Handoo(workdir, stack, env)
    hook = f"{handoo.base}/webhooks/livekit"
    sink.received.clear()
    sink.forwarded.clear()
    sink.forward.append(hook)
    events: queue.Queue = queue.Queue()
    conn = phone.events(timeout=None)

    def read_events() -> None:
        try:
            while True:
                ev = conn.next_call()  # (the clock is read once it has come)
                events.put((time.perf_counter(), ev))
        except OSError:
            pass

    threading.Thread(target=read_events, daemon=True).start()
    try:
        handoo.fn("sign_up", name="Bench", email=f"bench-{uuid.uuid4().hex[:6]}@example.com",
                  password="correct horse battery staple")
        org = handoo.fn("create_org", name="Bench Motors")["id"]
        handoo.rest("PUT", f"/orgs/{org}/compliance",
                    {"window_start_minute": 0, "window_end_minute": 1440, "default_region": "FR"})
        agent = handoo.rest("POST", f"/orgs/{org}/agents",
                            {"settings": {**VOICE_AGENT, "recording": "never"}})["id"]
        trunk = handoo.rest("POST", f"/orgs/{org}/telephony/trunks",
                            {"name": "Phone", "address": phone.uri_host, "numbers": ["+33187654321"]})
        handoo.rest("PUT", f"/orgs/{org}/telephony", {"default_trunk_id": trunk["id"]})

        ring, answered, in_progress, rooms = [], [], [], {}
        for _ in range(n):
            t0 = time.perf_counter()
            call = handoo.rest("POST", f"/orgs/{org}/calls", {"to_number": NUMBER, "agent_id": agent})["id"]
            at, _ev = events.get(timeout=30)
            ring.append((at - t0) * 1000)
            seen = {}
            deadline = time.monotonic() + 30
            while "in_progress" not in seen and time.monotonic() < deadline:
                status = handoo.rest("GET", f"/orgs/{org}/calls/{call}")["call"]["status"]
                if status in ("answered", "in_progress"):
                    seen.setdefault("answered", time.perf_counter())
                if status == "in_progress":
                    seen["in_progress"] = time.perf_counter()
                time.sleep(0.005)
            if "in_progress" not in seen:
                v = handoo.rest("GET", f"/orgs/{org}/calls/{call}")
                kinds = [(e["source"], e["kind"], e["to_status"]) for e in v["timeline"]]
                raise RuntimeError(f"call {call} never went in progress: {v['call']['status']} {kinds}\n{handoo.tail()}")
            answered.append((seen["answered"] - t0) * 1000)
            in_progress.append((seen["in_progress"] - t0) * 1000)
            handoo.rest("POST", f"/orgs/{org}/calls/{call}/hang-up")
            deadline = time.monotonic() + 30
            while handoo.rest("GET", f"/orgs/{org}/calls/{call}")["call"]["status"] != "completed":
                if time.monotonic() > deadline:
                    raise RuntimeError(f"call {call} never completed\n{handoo.tail()}")
                time.sleep(0.02)
            rooms[call] = handoo.rest("GET", f"/orgs/{org}/calls/{call}")["call"]["room_name"]

        # LiveKit's last webhooks (room_finished) arrive after the call completed.
        time.sleep(12)
        again = Redeliver(sink, hook)
        again.pump()
        sent: dict[str, set[str]] = {}
        for body, _auth in sink.received:
            ev = json.loads(body)
            room = (ev.get("room") or {}).get("name", "")
            if is_call_event(ev):
                sent.setdefault(room, set()).add(ev["id"])
        stored_ok = 0
        for call, room in rooms.items():
            timeline = handoo.rest("GET", f"/orgs/{org}/calls/{call}")["timeline"]
            kept = [e for e in timeline if e["source"] == "webhook"]
            if len(kept) != len(sent.get(room, ())):
                raise RuntimeError(
                    f"call {call}: LiveKit sent {len(sent.get(room, ()))} call events, the timeline has {len(kept)}"
                    f" ({[e['kind'] for e in kept]})")
            stored_ok += 1
        first = [s * 1000 for s, status in sink.forwarded]
        bad = [status for _s, status in sink.forwarded if status >= 300 or status == 0]
        if bad:
            raise RuntimeError(f"Handoo refused {len(bad)} of LiveKit's webhooks: {bad[:5]}\n{handoo.tail()}")

        print(f"\n{label}: {n} calls through LiveKit's server and SIP bridge to a SIP phone")
        print(line("POST /calls → phone ringing", ring))
        print(line("POST /calls → answered (poll 5 ms)", answered))
        print(line("POST /calls → in progress (agent)", in_progress))
        print(f"  LiveKit's webhooks: {len(sink.forwarded)} delivered, each again once "
              f"({sum(len(v) for v in sent.values())} call events); every call's timeline has each "
              f"event once ({stored_ok}/{n} calls)")
        print(line("webhook taken (first delivery)", first))
        print(line("webhook taken (redelivery)", [s * 1000 for s in again.times]))
    finally:
        sink.forward.remove(hook)
        conn.close()
        handoo.stop()
        worker.stop()
        phone.service.stop()


def main() -> None:
    n = int(os.environ.get("CALLS_N", "30"))
    workdir = harness.make_workdir()
    sink = harness.WebhookSink()
    services: list[harness.Service] = []
    try:
        redis, redis_port = harness.start_redis(workdir)
        services.append(redis)
        livekit, http_port = harness.start_livekit(os.environ["HANDOO_LIVEKIT_SERVER_BIN"], workdir, redis_port, sink.url)
        services.append(livekit)
        stack = harness.Stack(workdir=workdir, redis_port=redis_port, http_port=http_port, services=services)
        sip, stack.sip_port, stack.sip_rtp = harness.start_sip(
            os.environ["HANDOO_LIVEKIT_SIP_BIN"], workdir, redis_port, http_port, rtp_ports=400)
        services.append(sip)
        # The release server logs only what goes wrong.
        quiet = {"RUST_LOG": "warn"}
        bench("SQLite", stack, sink, workdir, n, quiet)
        name, url = fresh_pg_database()
        try:
            bench("PostgreSQL", stack, sink, workdir, n, {**quiet, "DATABASE_URL": url})
        finally:
            subprocess.run(["psql", PG_ADMIN, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=False)
    except BaseException:
        for svc in services:
            print(svc.tail(30), file=sys.stderr)
        raise
    finally:
        for svc in reversed(services):
            svc.stop()
        sink.close()


if __name__ == "__main__":
    main()
