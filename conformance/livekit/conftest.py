"""Fixtures: the real LiveKit stack (Redis, livekit-server, livekit-sip) once
per session, a SIP phone per test, tokens, and a webhook sink.

The binaries come from scripts/livekit-tests (built from the Go module proxy at
pinned versions); a missing one fails the run rather than skipping it.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest
from livekit import api

sys.path.insert(0, str(Path(__file__).parent))

import harness  # noqa: E402
from audio import speech_wav  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def required_file(var: str) -> str:
    path = os.environ.get(var, "")
    if not path or not Path(path).is_file():
        pytest.fail(f"{var} must name an existing file (scripts/livekit-tests sets it); got {path!r}")
    return path


@pytest.fixture(scope="session")
def workdir():
    return harness.make_workdir()


@pytest.fixture(scope="session")
def webhooks():
    sink = harness.WebhookSink()
    yield sink
    sink.close()


@pytest.fixture(scope="session")
def stack(workdir, webhooks):
    server_bin = required_file("HANDOO_LIVEKIT_SERVER_BIN")
    services = []
    try:
        redis, redis_port = harness.start_redis(workdir)
        services.append(redis)
        livekit, http_port = harness.start_livekit(server_bin, workdir, redis_port, webhooks.url)
        services.append(livekit)
        s = harness.Stack(workdir=workdir, redis_port=redis_port, http_port=http_port, services=services)
    except BaseException:
        for svc in reversed(services):
            svc.stop()
        raise
    yield s
    s.stop()


@pytest.fixture(scope="session")
def sip_stack(stack):
    """The SIP bridge, joined to the same server through the same Redis."""
    sip_bin = required_file("HANDOO_LIVEKIT_SIP_BIN")
    svc, port, rtp = harness.start_sip(sip_bin, stack.workdir, stack.redis_port, stack.http_port)
    stack.services.append(svc)
    stack.sip_port, stack.sip_rtp = port, rtp
    yield stack
    svc.stop()


@pytest.fixture(scope="session")
def prospect_speech(workdir) -> Path:
    return speech_wav(
        workdir / "prospect.wav",
        "Hello, this is Claire from Dupont Motors. Yes, I have a minute. "
        "We are looking at three new vans for the delivery team this spring, "
        "so tell me what you can offer and how soon you could deliver them.",
        rate=8000,
    )


@pytest.fixture
def phone(workdir, prospect_speech):
    p = harness.start_phone(workdir / f"phone-{uuid.uuid4().hex[:8]}", prospect_speech)
    yield p
    p.service.stop()


@pytest.fixture
async def lkapi(stack):
    client = api.LiveKitAPI(stack.http_url, harness.API_KEY, harness.API_SECRET)
    yield client
    await client.aclose()


@pytest.fixture
def room_name() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


def token(identity: str, room: str, **grants) -> str:
    return (
        api.AccessToken(harness.API_KEY, harness.API_SECRET)
        .with_identity(identity)
        .with_name(identity)
        .with_grants(api.VideoGrants(room_join=True, room=room, **grants))
        .to_jwt()
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing test prints the tail of every service's log."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        s = item.funcargs.get("sip_stack") or item.funcargs.get("stack")
        extra = []
        if s is not None:
            extra.append(s.logs())
        p = item.funcargs.get("phone")
        if p is not None:
            extra.append(p.service.tail(60))
        if extra:
            report.sections.append(("service logs", "\n".join(extra)))
