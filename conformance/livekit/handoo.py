"""Handoo's server (the binary the Rust tests or the release build made), run
against the real LiveKit stack by the tests and the benchmark, and reached as a
browser would: its REST API and server functions with a session and CSRF token.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import requests

import harness

ROOT = Path(__file__).resolve().parents[2]


class Handoo:
    """A Handoo server on a free loopback port, stopped at the end."""

    def __init__(self, workdir: Path, stack, extra_env: dict | None = None) -> None:
        binary = os.environ.get("HANDOO_SERVER_BIN", "")
        if not binary or not Path(binary).is_file():
            raise RuntimeError(f"HANDOO_SERVER_BIN must name the server binary (scripts/livekit-tests sets it); got {binary!r}")
        self.port = harness.free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        data = workdir / f"handoo-{uuid.uuid4().hex[:8]}"
        data.mkdir(parents=True)
        env = {
            **os.environ,
            "HANDOO_BIND": f"127.0.0.1:{self.port}",
            "HANDOO_PUBLIC_URL": self.base,
            "HANDOO_DATA_DIR": str(data),
            "LIVEKIT_URL": stack.http_url,
            "LIVEKIT_API_KEY": harness.API_KEY,
            "LIVEKIT_API_SECRET": harness.API_SECRET,
            # The phone and the (absent) bucket are on loopback.
            "HANDOO_EGRESS_ALLOW": "127.0.0.0/8",
            "RUST_LOG": "warn,services=info",
            # The Python stand-in (agent_worker.py) takes these jobs; the server's
            # own agent is on only where a test asks for it.
            "HANDOO_VOICE_AGENT": "off",
            **(extra_env or {}),
        }
        self.log = data / "server.log"
        self.proc = subprocess.Popen([binary], cwd=ROOT, env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT)
        harness.wait_for(lambda: requests.get(f"{self.base}/ready", timeout=1).ok, "handoo", 60)
        if env.get("HANDOO_EMBEDDING_MODEL"):
            # The objection classifier calibrates at start-up on every core
            # for ~15 s: real-time audio sharing two cores with it drops
            # frames (a CI run lost the phone's words to it), so calls wait.
            harness.wait_for(
                lambda: "semantic objection matcher" in self.log.read_text(errors="replace"),
                "the objection classifier",
                300,
            )
        self.http = requests.Session()
        page = self.http.get(f"{self.base}/login", timeout=10).text
        self.csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)

    def fn(self, fn_name: str, **form) -> dict:
        r = self.http.post(
            f"{self.base}/api/{fn_name}",
            data=form,
            headers={"x-csrf-token": self.csrf, "accept": "application/json"},
            timeout=20,
        )
        assert r.ok, f"{fn_name}: {r.status_code} {r.text}"
        return r.json()

    def rest(self, method: str, path: str, body=None, ok=True):
        r = self.http.request(
            method, f"{self.base}/api/v1{path}", json=body, headers={"x-csrf-token": self.csrf}, timeout=40
        )
        if ok:
            assert r.ok, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.text else None

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def tail(self, n: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])


def mock_vendors(workdir: Path) -> tuple[harness.Service, int]:
    """The mock vendors (the binary beside the server's) on a free loopback port."""
    binary = Path(os.environ["HANDOO_SERVER_BIN"]).parent / "mock-vendors"
    port = harness.free_port()
    svc = harness.spawn("mock-vendors", [str(binary), f"127.0.0.1:{port}"], workdir)

    def up() -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    harness.wait_for(up, "the mock vendors", 30, svc)
    return svc, port


@contextmanager
def with_worker(workdir: Path, stack, webhooks) -> Iterator[tuple[Handoo, int]]:
    """Handoo with its own voice worker on (it registers with `stack`; media
    through `liblivekit_ffi.so`), the mock vendors as its LLM and
    speech-to-text, and LiveKit's webhooks forwarded to it. Yields the server
    and the mock vendors' port; stops both on the way out."""
    vendors, port = mock_vendors(workdir)
    try:
        handoo = Handoo(
            workdir,
            stack,
            extra_env={
                "HANDOO_VOICE_AGENT": "on",
                "OPENAI_BASE_URL": f"http://127.0.0.1:{port}/openai/v1",
                "OPENAI_API_KEY": "sk-test",
                "DEEPGRAM_BASE_URL": f"ws://127.0.0.1:{port}/deepgram/v1",
                "DEEPGRAM_API_KEY": "dg-test",
                "RUST_LOG": "warn,services=info,server::voice_host=info,voice=info",
            },
        )
    except BaseException:
        vendors.stop()
        raise
    hook = f"{handoo.base}/webhooks/livekit"
    webhooks.forward.append(hook)
    try:
        yield handoo, port
    finally:
        webhooks.forward.remove(hook)
        handoo.stop()
        vendors.stop()


# A voice agent that records and may transfer to one number.
VOICE_AGENT = {
    "name": "Ava",
    "description": "",
    "kind": "voice",
    "system_prompt": "You call {{prospect.first_name}} about vans.",
    "first_message": "Hello, this is Ava.",
    "language": "en",
    "llm": {"provider": "openai", "model": "gpt-4.1-mini", "temperature": 0.7, "max_tokens": 512},
    "stt": {"provider": "deepgram", "model": "nova-3"},
    "tts": {"provider": "cartesia", "model": "sonic-2", "voice": "694f9389-aac1-45b6-b726-9d9369183238"},
    "interruption": "medium",
    "max_call_seconds": 600,
    "voicemail": {"action": "hang_up"},
    "transfer_number": "+33199999999",
    "tools": [],
    "data_schema": {"fields": []},
    "recording": "always",
    "recording_disclosure": "This call is recorded.",
}
