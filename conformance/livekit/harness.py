"""Starts the real LiveKit stack on loopback for the tests: Redis, LiveKit's
own server, its SIP bridge, and a SIP phone (baresip) playing the prospect.

Every process binds to 127.0.0.1 on ports picked free at start, writes its log
to the run's directory (printed when a test fails), and is stopped when the
test session ends. Nothing here talks to anything but loopback.
"""

from __future__ import annotations

import asyncio

import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

API_KEY = "handoo-test"
# LiveKit refuses secrets shorter than 32 characters.
API_SECRET = "handoo-test-secret-not-for-production-0123"


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def _bindable(port: int, kinds=(socket.SOCK_STREAM, socket.SOCK_DGRAM)) -> bool:
    try:
        with contextlib.ExitStack() as stack:
            for kind in kinds:
                s = stack.enter_context(socket.socket(socket.AF_INET, kind))
                s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False


def free_port(span: int = 1) -> int:
    """A port free for both TCP and UDP right now (LiveKit uses one of each), with
    the `span - 1` ports above it free too.

    Chosen below the kernel's ephemeral range: a port asked of the kernel (bind to
    0) comes from that range, and any outbound connection made between our pick
    and the service's own bind may take it (CI saw baresip fail that way)."""
    low, high = _ephemeral_range()
    pool = range(10000, low - span) if low - span > 11000 else range(high + 1, 65000 - span)
    for _ in range(500):
        port = random.choice(pool)
        if all(_bindable(p) for p in range(port, port + span)):
            return port
    raise RuntimeError("no free port on 127.0.0.1")


def free_port_range(count: int) -> tuple[int, int]:
    """`count` consecutive ports free for UDP (RTP media ranges)."""
    start = free_port(span=count)
    return start, start + count - 1


def wait_for(check, what: str, timeout: float, proc: "Service | None" = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.process.poll() is not None:
            raise RuntimeError(f"{what}: process exited with {proc.process.returncode}\n{proc.tail()}")
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{what}: not ready after {timeout:.0f} s" + (f"\n{proc.tail()}" if proc else ""))


def tcp_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Service:
    name: str
    process: subprocess.Popen
    log: Path

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return f"--- {self.name} ({self.log}) ---\n" + "\n".join(text[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def spawn(name: str, argv: list[str], workdir: Path, env: dict | None = None) -> Service:
    log = workdir / f"{name}.log"
    out = open(log, "wb")
    proc = subprocess.Popen(
        argv,
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=workdir,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )
    out.close()
    return Service(name, proc, log)


@dataclass
class Stack:
    """The running services and how to reach them."""

    workdir: Path
    redis_port: int
    http_port: int
    sip_port: int | None = None
    sip_rtp: tuple[int, int] | None = None
    services: list[Service] = field(default_factory=list)

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.http_port}"

    def logs(self) -> str:
        return "\n".join(s.tail() for s in self.services)

    def stop(self) -> None:
        for s in reversed(self.services):
            s.stop()


def start_redis(workdir: Path) -> tuple[Service, int]:
    redis = shutil.which("redis-server")
    if not redis:
        raise RuntimeError("redis-server is not installed (scripts/setup.sh installs it)")
    port = free_port()
    svc = spawn(
        "redis",
        [redis, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
         "--dir", str(workdir)],
        workdir,
    )
    wait_for(lambda: tcp_open(port), "redis", 10, svc)
    return svc, port


def start_livekit(binary: str, workdir: Path, redis_port: int, webhook_url: str | None) -> tuple[Service, int]:
    http, tcp, udp = free_port(), free_port(), free_port()
    config = f"""\
port: {http}
bind_addresses: ["127.0.0.1"]
rtc:
  tcp_port: {tcp}
  udp_port: {udp}
  use_external_ip: false
  node_ip: 127.0.0.1
  enable_loopback_candidate: true
redis:
  address: 127.0.0.1:{redis_port}
keys:
  {API_KEY}: {API_SECRET}
room:
  empty_timeout: 60
logging:
  level: info
"""
    if webhook_url:
        config += f"webhook:\n  api_key: {API_KEY}\n  urls:\n    - {webhook_url}\n"
    path = workdir / "livekit.yaml"
    path.write_text(config)
    svc = spawn("livekit-server", [binary, "--config", str(path)], workdir)

    def ready() -> bool:
        with urllib.request.urlopen(f"http://127.0.0.1:{http}/", timeout=1) as r:
            return r.status == 200

    wait_for(ready, "livekit-server", 30, svc)
    return svc, http


def start_sip(
    binary: str, workdir: Path, redis_port: int, http_port: int, rtp_ports: int = 40
) -> tuple[Service, int, tuple[int, int]]:
    """`rtp_ports`: the bridge keeps a call's RTP port for a while after it ends
    (draining), so many calls in a row need more than the tests' few."""
    sip_port = free_port()
    rtp = free_port_range(rtp_ports)
    config = f"""\
api_key: {API_KEY}
api_secret: {API_SECRET}
ws_url: ws://127.0.0.1:{http_port}
redis:
  address: 127.0.0.1:{redis_port}
sip_port: {sip_port}
sip_port_listen: {sip_port}
listen_ip: 127.0.0.1
local_net: 127.0.0.1/8
nat_1_to_1_ip: 127.0.0.1
use_external_ip: false
rtp_port: {rtp[0]}-{rtp[1]}
health_port: {free_port()}
# The bridge refuses calls while the machine's CPU is above this share. The
# tests share two cores with compilers; 1.0 turns the guard off (production
# keeps the default 0.9).
max_cpu_utilization: 1.0
logging:
  level: debug
"""
    path = workdir / "sip.yaml"
    path.write_text(config)
    svc = spawn("livekit-sip", [binary, "--config", str(path)], workdir)
    wait_for(lambda: "service ready" in svc.log.read_text(errors="replace").lower()
             or "starting sip" in svc.log.read_text(errors="replace").lower()
             or tcp_open(sip_port), "livekit-sip", 30, svc)
    return svc, sip_port, rtp


@dataclass
class Phone:
    """baresip answering `number` on loopback: plays `speech` and records what it hears."""

    service: Service
    number: str
    port: int
    recordings: Path
    # baresip's ctrl_tcp: commands in, call events out (netstrings of JSON).
    ctrl_port: int = 0

    @property
    def uri_host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def heard(self) -> list[Path]:
        """WAV files of the audio the phone received (decoded), newest last."""
        return sorted(self.recordings.glob("*-dec.wav"), key=lambda p: p.stat().st_mtime)

    def log(self) -> str:
        return self.service.log.read_text(errors="replace")

    def wait_hung_up(self, timeout: float = 10) -> None:
        """Until baresip reports the call over: only then are its recordings
        closed (the WAV header's sizes are written on close)."""
        wait_for(lambda: " terminated (duration:" in self.log(), "phone hang-up", timeout, self.service)

    def events(self, timeout: float | None = 30) -> "PhoneEvents":
        """baresip's call events from now on (CALL_INCOMING, CALL_ESTABLISHED…), each
        waited for up to `timeout` seconds (None: for ever). baresip keeps one control
        connection: another client (a command) meanwhile takes it over."""
        return PhoneEvents(socket.create_connection(("127.0.0.1", self.ctrl_port), timeout=timeout))


class NetstringReader:
    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.buf = sock, b""

    def next(self) -> bytes:
        while True:
            head, colon, rest = self.buf.partition(b":")
            if colon and len(rest) > int(head):
                self.buf = rest[int(head) + 1 :]
                return rest[: int(head)]
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("baresip closed its control connection")
            self.buf += chunk


class PhoneEvents:
    """A connection to baresip's control port that reads its events."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.reader = sock, NetstringReader(sock)
        self._calls: set = set()

    def next_call(self) -> dict:
        """The first event of the next incoming call: its INVITE has arrived. (Answering
        at once, baresip says CALL_REMOTE_SDP first; ringing, CALL_INCOMING.)"""
        seen = self._calls
        while True:
            msg = json.loads(self.reader.next())
            invite = msg.get("type") == "CALL_INCOMING" or (
                msg.get("type") == "CALL_REMOTE_SDP" and msg.get("param") == "offer"
            )
            if msg.get("event") and invite and msg.get("direction") == "incoming" and msg.get("id") not in seen:
                seen.add(msg.get("id"))
                return msg

    def close(self) -> None:
        self.sock.close()


def write_phone_config(home: Path, speech_wav: Path, port: int, ctrl: int, rtp: tuple[int, int], recordings: Path) -> None:
    modules = "/usr/lib/baresip/modules"
    (home / "config").write_text(f"""\
poll_method epoll
sip_listen 127.0.0.1:{port}
audio_player alsa,null
audio_alert alsa,null
audio_source aufile,{speech_wav}
audio_path /usr/share/baresip
rtp_ports {rtp[0]}-{rtp[1]}
net_interface lo
module_path {modules}
module g711.so
module aufile.so
module alsa.so
module sndfile.so
module_app account.so
module_app menu.so
module_app ctrl_tcp.so
ctrl_tcp_listen 127.0.0.1:{ctrl}
snd_path {recordings}
""")


def start_phone(workdir: Path, speech_wav: Path, number: str = "+15550100", answer: str = "auto") -> Phone:
    """`answer`: "auto" (at once) or "manual" (when told: the `accept` command on its
    control port, as end2end/livekit/calls.spec.ts sends it)."""
    baresip = shutil.which("baresip")
    if not baresip:
        raise RuntimeError("baresip is not installed (scripts/setup.sh installs baresip-core)")
    if answer not in ("auto", "manual"):
        raise ValueError(f"answer must be auto or manual, not {answer!r}")
    home = workdir / "phone"
    recordings = home / "heard"
    recordings.mkdir(parents=True, exist_ok=True)
    # Free ports are only free until someone else binds them: a lost race is
    # retried on fresh ports rather than failing the test.
    for attempt in range(3):
        # baresip 1.0 listens for SIP on UDP and TCP at `port`, and TLS at port + 1.
        port = free_port(span=2)
        ctrl = free_port()
        rtp = free_port_range(20)
        write_phone_config(home, speech_wav, port, ctrl, rtp, recordings)
        # baresip routes an incoming INVITE to the account whose user part is the
        # dialled number; that account answers at once, or rings until told.
        (home / "accounts").write_text(f"<sip:{number}@127.0.0.1:{port}>;regint=0;answermode={answer}\n")
        (home / "contacts").write_text("")
        svc = spawn("phone", [baresip, "-f", str(home), "-n", "127.0.0.1"], workdir)
        try:
            wait_for(lambda: "baresip is ready" in svc.log.read_text(errors="replace"), "baresip", 15, svc)
        except RuntimeError:
            lost_race = "Address already in use" in svc.log.read_text(errors="replace")
            if not lost_race or attempt == 2:
                raise
            svc.stop()
            svc.log.rename(svc.log.with_suffix(f".try{attempt}.log"))
            continue
        wait_for(lambda: tcp_open(ctrl), "baresip's control port", 10, svc)
        break
    return Phone(svc, number, port, recordings, ctrl)


def start_agent_worker(workdir: Path, ws_url: str) -> tuple[Service, Path]:
    """LiveKit's agent framework as Handoo's voice worker (agent_worker.py), registered
    with the server at `ws_url`; returns it and the file its jobs are written to."""
    jobs = workdir / f"agent-jobs-{os.getpid()}-{free_port()}.jsonl"
    jobs.touch()
    svc = spawn(
        "agent-worker",
        [sys.executable, str(Path(__file__).parent / "agent_worker.py")],
        workdir,
        env={"LIVEKIT_URL": ws_url, "LIVEKIT_API_KEY": API_KEY, "LIVEKIT_API_SECRET": API_SECRET,
             "HANDOO_AGENT_JOBS": str(jobs)},
    )
    wait_for(lambda: "registered worker" in svc.log.read_text(errors="replace"), "the agent worker", 60, svc)
    return svc, jobs


async def playwright_spec(spec: str, env: dict, timeout: float) -> tuple[int | None, str]:
    """Runs the spec `spec` of end2end/livekit in Chromium, with `env` added to
    ours; its exit status and output. Killed after `timeout` seconds."""
    proc = await asyncio.create_subprocess_exec(
        "npx", "playwright", "test", "--config", "end2end/livekit/playwright.config.ts", spec,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except asyncio.TimeoutError:
        proc.kill()
        out, _ = await proc.communicate()
        return None, out.decode(errors="replace") + f"\n(killed after {timeout:.0f} s)"
    return proc.returncode, out.decode(errors="replace")


def make_workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="handoo-livekit-"))


class WebhookSink:
    """Collects LiveKit's webhook POSTs (body + Authorization header)."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, str]] = []
        self.cond = threading.Condition()
        # Also delivered, as LiveKit sent them, to these URLs (a Handoo server under test)…
        self.forward: list[str] = []
        # …taking this long each (seconds, with the answer's status).
        self.forwarded: list[tuple[float, int]] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                auth = self.headers.get("Authorization", "")
                with sink.cond:
                    sink.received.append((body, auth))
                    sink.cond.notify_all()
                for url in list(sink.forward):
                    req = urllib.request.Request(
                        url,
                        data=body,
                        method="POST",
                        headers={"Authorization": auth, "Content-Type": self.headers.get("Content-Type", "")},
                    )
                    started = time.perf_counter()
                    try:
                        with urllib.request.urlopen(req, timeout=10) as res:
                            res.read()
                            status = res.status
                    except urllib.error.HTTPError as e:
                        status = e.code
                    except Exception as e:  # noqa: BLE001 - the test asserts on what arrived
                        print(f"webhook forward to {url} failed: {e}")
                        status = 0
                    sink.forwarded.append((time.perf_counter() - started, status))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/livekit/webhook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    async def wait_for(self, event: str, room: str, timeout: float = 15) -> tuple[bytes, str]:
        def find():
            for body, auth in self.received:
                data = json.loads(body)
                if data.get("event") == event and data.get("room", {}).get("name") == room:
                    return body, auth
            return None

        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            with self.cond:
                hit = find()
            if hit:
                return hit
            await asyncio.sleep(0.05)
        seen = [json.loads(b).get("event") for b, _ in self.received]
        raise TimeoutError(f"no {event!r} webhook for room {room!r} in {timeout} s (got {seen})")

    def events(self, event: str) -> list[dict]:
        """Every webhook of kind `event` received so far, decoded."""
        with self.cond:
            decoded = [json.loads(body) for body, _ in self.received]
        return [d for d in decoded if d.get("event") == event]

    def close(self) -> None:
        self.server.shutdown()
