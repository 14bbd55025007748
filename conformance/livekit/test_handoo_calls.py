"""Handoo places a real phone call through the real LiveKit stack.

Handoo's server (the binary the Rust tests built) runs with this LiveKit
server as its project; LiveKit's own webhooks — signed by the real server —
are forwarded to it as they arrive. Through Handoo's REST API a new
organisation sets up an outbound trunk to the loopback SIP phone and places
a call with a voice agent: LiveKit creates the room, the SIP bridge rings the
phone, baresip answers, and the call's states come from LiveKit's webhooks
(the SIP participant joining with `sip.callStatus` active). A manager's
listen token (hidden, subscribe-only) joins the real room and hears the
prospect. Recording is asked for, and — this stack has no egress service —
the call's timeline says why it was not recorded, while the call goes on.
(The second test does it all in Chromium: end2end/livekit/calls.spec.ts.)
Hanging up in Handoo deletes the room: the phone's side ends, and LiveKit's
`room_finished` completes the call with its talk time. A second call is
transferred: the bridge sends the phone a REFER to the agent's transfer
number, which baresip refuses (it cannot dial a `tel:` target) — Handoo says
so, and the call goes on.
"""

from __future__ import annotations

import asyncio
import time
import uuid

from livekit import rtc

import harness
from handoo import VOICE_AGENT, Handoo
from audio import record, rms, tone_wav

NUMBER = "+33612345678"


def until(handoo: Handoo, org: str, call_id: str, status: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = handoo.rest("GET", f"/orgs/{org}/calls/{call_id}")
        if v["call"]["status"] == status:
            return v
        time.sleep(0.1)
    raise AssertionError(f"the call never reached {status}: {v['call']}\n{handoo.tail()}")


async def test_handoo_places_a_call_through_livekit_to_the_phone(sip_stack, workdir, webhooks, prospect_speech):
    stack = sip_stack
    phone = harness.start_phone(workdir / f"phone-{uuid.uuid4().hex[:8]}", prospect_speech, number=NUMBER)
    handoo = Handoo(workdir, stack)
    hook = f"{handoo.base}/webhooks/livekit"
    webhooks.forward.append(hook)
    try:
        handoo.fn("sign_up", name="Olivia", email="olivia@example.com", password="correct horse battery staple")
        org = handoo.fn("create_org", name="Dupont Motors")["id"]
        handoo.rest("PUT", f"/orgs/{org}/compliance", {"window_start_minute": 0, "window_end_minute": 1440, "default_region": "FR"})
        agent = handoo.rest("POST", f"/orgs/{org}/agents", {"settings": VOICE_AGENT})["id"]
        trunk = handoo.rest(
            "POST",
            f"/orgs/{org}/telephony/trunks",
            {"name": "Loopback phone", "address": phone.uri_host, "numbers": ["+33187654321"]},
        )
        assert trunk["livekit_trunk_id"].startswith("ST_"), trunk
        handoo.rest("PUT", f"/orgs/{org}/telephony", {"default_trunk_id": trunk["id"]})
        test = handoo.rest("POST", f"/orgs/{org}/telephony/test")
        assert test["ok"], test
        # A bucket nobody listens on: this stack has no egress service anyway.
        handoo.rest(
            "PUT",
            f"/orgs/{org}/telephony/recordings",
            {"endpoint": "http://127.0.0.1:9", "region": "us-east-1", "bucket": "calls",
             "access_key": "AK", "secret_key": "not-a-real-secret-key"},
        )

        placed = handoo.rest("POST", f"/orgs/{org}/calls", {"to_number": NUMBER, "agent_id": agent})
        call_id = placed["id"]
        answered = until(handoo, org, call_id, "answered")
        room = answered["call"]["room_name"]
        assert "INVITE" in phone.log() or NUMBER in phone.log(), "the phone never saw the INVITE"
        # LiveKit's own webhooks, as the real server signed them, reached Handoo.
        await webhooks.wait_for("participant_joined", room)
        timeline = handoo.rest("GET", f"/orgs/{org}/calls/{call_id}")["timeline"]
        sip_joined = [e for e in timeline if e["source"] == "webhook" and e["kind"] == "participant_joined"]
        assert sip_joined, f"no webhook-driven entry: {[(e['source'], e['kind']) for e in timeline]}\n{handoo.tail()}"
        # The real bridge puts the callee in the room while it dials (LiveKit has no webhook
        # for the later attribute change): ringing from the webhook, answered when
        # CreateSIPParticipant returns (it waits for the answer).
        assert sip_joined[0]["data"]["participant"]["sip"].get("sip.callStatus") in ("dialing", "ringing")
        assert sip_joined[0]["to_status"] in ("ringing", "answered"), sip_joined[0]
        assert any(e["kind"] == "dial_answered" and e["to_status"] == "answered" for e in timeline), timeline
        # The egress request fails (nothing records on this stack) — the call goes on.
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            v = handoo.rest("GET", f"/orgs/{org}/calls/{call_id}")
            if v["call"]["recording_status"] == "failed":
                break
            time.sleep(0.2)
        failed = [e for e in v["timeline"] if e["kind"] == "recording_failed"]
        assert failed and failed[0]["data"]["code"], f"why it was not recorded: {v}"
        assert v["call"]["status"] == "answered", v["call"]

        # A manager listens: the hidden, subscribe-only token joins the real room and hears the prospect.
        access = handoo.rest("POST", f"/orgs/{org}/calls/{call_id}/listen")
        assert access["url"] == stack.ws_url and access["room"] == room
        listener = rtc.Room()
        heard: asyncio.Future = asyncio.get_running_loop().create_future()

        @listener.on("track_subscribed")
        def _on(track, _pub, participant):
            if participant.identity == "callee" and not heard.done():
                heard.set_result(track)

        await listener.connect(access["url"], access["token"])
        try:
            track = await asyncio.wait_for(heard, 15)
            prospect = await record(track, 3, rate=8000)
            assert rms(prospect) > 200, f"the listener heard almost nothing: rms {rms(prospect):.0f}"
        finally:
            await listener.disconnect()

        # Hang up in Handoo: the room goes, LiveKit's room_finished completes the call.
        time.sleep(1)
        handoo.rest("POST", f"/orgs/{org}/calls/{call_id}/hang-up")
        await webhooks.wait_for("room_finished", room)
        done = until(handoo, org, call_id, "completed")
        assert done["call"]["talk_ms"] >= 1000, done["call"]
        # (the sink hands each webhook on after it has it: give Handoo a moment)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            kinds = [(e["source"], e["kind"]) for e in handoo.rest("GET", f"/orgs/{org}/calls/{call_id}")["timeline"]]
            if ("webhook", "room_finished") in kinds:
                break
            time.sleep(0.1)
        assert ("webhook", "room_finished") in kinds, kinds

        # A second call, transferred: LiveKit's bridge sends the phone a REFER to the
        # agent's transfer number (the only number Handoo transfers to).
        second = handoo.rest("POST", f"/orgs/{org}/calls", {"to_number": NUMBER, "agent_id": agent})["id"]
        until(handoo, org, second, "answered")
        # baresip takes the REFER and cannot reach a `tel:` target, so it answers 500: the
        # transfer really went out and was refused, which Handoo reports as such (409) while
        # the call goes on. (When baresip's NOTIFY overtakes its 202 Accepted, LiveKit's
        # bridge sees the REFER's transaction end unanswered, Twirp `canceled`: the same 409.)
        r = handoo.http.post(
            f"{handoo.base}/api/v1/orgs/{org}/calls/{second}/transfer", headers={"x-csrf-token": handoo.csrf}, timeout=40
        )
        assert (r.status_code, r.json()["code"]) == (409, "transfer_refused"), r.text
        assert "+33199999999" in stack.logs(), "LiveKit's bridge sent the REFER to the transfer number"
        assert handoo.rest("GET", f"/orgs/{org}/calls/{second}")["call"]["status"] == "answered"
        handoo.rest("POST", f"/orgs/{org}/calls/{second}/hang-up")
        until(handoo, org, second, "completed")
    finally:
        webhooks.forward.remove(hook)
        handoo.stop()
        phone.service.stop()


TONE_HZ = 440


async def test_the_call_page_follows_a_real_call_in_chromium(sip_stack, workdir, webhooks):
    """end2end/livekit/calls.spec.ts in Chromium, in English and French: the phone
    rings until the spec answers it and plays a tone the page must play back;
    LiveKit's agent framework takes the dispatch as Handoo's voice worker."""
    stack = sip_stack
    tone = tone_wav(workdir / "phone-tone.wav", TONE_HZ, seconds=120, rate=8000)
    phone = harness.start_phone(workdir / f"phone-{uuid.uuid4().hex[:8]}", tone, number=NUMBER, answer="manual")
    worker, jobs = harness.start_agent_worker(workdir, stack.ws_url)
    handoo = Handoo(workdir, stack)
    hook = f"{handoo.base}/webhooks/livekit"
    webhooks.forward.append(hook)
    try:
        status, text = await harness.playwright_spec(
            "livekit/calls.spec.ts",
            {
                "HANDOO_URL": handoo.base,
                "PHONE_NUMBER": NUMBER,
                "PHONE_HOST": phone.uri_host,
                "PHONE_CTRL_PORT": str(phone.ctrl_port),
                "PHONE_TONE_HZ": str(TONE_HZ),
                "AGENT_JOBS": str(jobs),
            },
            300,
        )
        assert status == 0, f"{text}\n{handoo.tail()}\n{worker.tail()}\n{phone.service.tail()}"
        assert "2 passed" in text, text
        # Both calls really ended on the phone when the page hung up.
        assert phone.log().count(" terminated (duration:") >= 2, phone.service.tail()
    finally:
        webhooks.forward.remove(hook)
        handoo.stop()
        worker.stop()
        phone.service.stop()
