"""Handoo's own voice agent on a real phone call: the product end to end.

Handoo's server runs with its voice agent on (`HANDOO_VOICE_AGENT=on`: the
worker registers with this real LiveKit server, and media goes through
`liblivekit_ffi.so`), with the mock vendors (their binary, on loopback) as the
agent's STT, LLM and TTS. Through Handoo's REST API a call is placed to the
loopback SIP phone: LiveKit dispatches the job to Handoo's worker, the bridge
rings the phone, baresip answers and, after a pause, says its line
(espeak-ng); the agent greets, hears the answer through the SIP bridge, the
room, the FFI and Silero VAD, and records the budget it hears on the call;
the phone records the agent's voice — as loud as long as the agent's text, at
the mock TTS's pitch, and split by the mock STT's energy splitter into exactly
the agent's stored turns. Hanging up in Handoo ends it all and the agent's
report lands on the call.
"""

from __future__ import annotations

import time
import uuid

import numpy as np
import requests

import harness
from audio import dominant_frequency, mock_transcribe, read_wav, rms, speech_wav
from handoo import VOICE_AGENT, Handoo, with_worker

NUMBER = "+33612345099"

# The suite's voice agent, made to talk: the mock vendors' voice, tools, a
# budget to collect, and no recording (this stack has no egress service).
AGENT = {
    **VOICE_AGENT,
    "name": "Max",
    "system_prompt": "You sell vans to {{prospect.company}}.",
    "first_message": "Hello {{prospect.first_name}}, this is Max from Handoo. Do you have a minute?",
    "tts": {"provider": "openai", "model": "gpt-4o-mini-tts", "voice": "alloy"},
    "max_call_seconds": 120,
    "transfer_number": None,
    "tools": ["updateData", "endCall"],
    "data_schema": {"fields": [{"name": "budget", "type": "string", "description": "Their budget"}]},
    "recording": "never",
    "recording_disclosure": None,
}


def until(handoo: Handoo, org: str, call_id: str, what: str, check, timeout: float = 40) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = handoo.rest("GET", f"/orgs/{org}/calls/{call_id}")
        if check(v):
            return v
        time.sleep(0.2)
    raise AssertionError(f"{what} never happened: {v}\n{handoo.tail()}")


async def test_handoos_own_agent_talks_with_the_phone(sip_stack, workdir, webhooks):
    stack = sip_stack
    # The callee lets the agent greet, then says its line once.
    answer = speech_wav(workdir / "answer.wav", "My budget is four hundred and fifty euros.", rate=8000, pause=7)
    phone = harness.start_phone(workdir / f"phone-agent-{uuid.uuid4().hex[:8]}", answer, number=NUMBER)
    with with_worker(workdir, stack, webhooks) as (handoo, port):
        try:
            r = requests.post(f"http://127.0.0.1:{port}/__control/stt-script", json={"utterances": ["My budget is 450 euros."]}, timeout=5)
            assert r.status_code == 204, r.text
            handoo.fn("sign_up", name="Olivia", email="olivia@example.com", password="correct horse battery staple")
            org = handoo.fn("create_org", name="Dupont Motors")["id"]
            handoo.rest("PUT", f"/orgs/{org}/compliance", {"window_start_minute": 0, "window_end_minute": 1440, "default_region": "FR"})
            agent = handoo.rest("POST", f"/orgs/{org}/agents", {"settings": AGENT})["id"]
            trunk = handoo.rest("POST", f"/orgs/{org}/telephony/trunks", {"name": "Loopback phone", "address": phone.uri_host, "numbers": ["+33187654321"]})
            handoo.rest("PUT", f"/orgs/{org}/telephony", {"default_trunk_id": trunk["id"]})
            prospect = handoo.rest("POST", f"/orgs/{org}/prospects", {"first_name": "Claire", "last_name": "Dupont", "company": "Dupont Motors", "phone": NUMBER})

            call_id = handoo.rest("POST", f"/orgs/{org}/calls", {"prospect_id": prospect["id"], "agent_id": agent})["id"]
            # The greeting, rendered for the prospect, is spoken and stored as the callee answers.
            v = until(handoo, org, call_id, "the agent's greeting", lambda v: any(t["speaker"] == "agent" for t in v["turns"]))
            greeting = next(t for t in v["turns"] if t["speaker"] == "agent")
            assert greeting["text"] == "Hello Claire, this is Max from Handoo. Do you have a minute?", greeting
            # The callee's answer travels the phone line into the agent, which records the budget.
            v = until(handoo, org, call_id, "the budget heard over the phone", lambda v: v["collected_data"].get("budget") == "450 euros", 60)
            assert any(t["speaker"] == "prospect" and "450" in t["text"] for t in v["turns"]), v["turns"]
            time.sleep(3)
            handoo.rest("POST", f"/orgs/{org}/calls/{call_id}/hang-up")
            phone.wait_hung_up(20)
            done = until(handoo, org, call_id, "the end of the call", lambda v: v["call"]["status"] == "completed" and v.get("agent_report"))
            report = done["agent_report"]
            assert report["usage"]["stt_seconds"] > 1 and report["usage"]["tts_characters"] > 40, report
            assert len(report["latencies"]) >= 1, report
            # The phone heard the agent, through the room, the bridge and G.711: the
            # mock TTS speaks 10 ms of a 440 Hz tone per character, so the line is
            # loud for up to as long as the agent's text, at the agent's pitch. (Not
            # all of it: with the whole suite on 2 cores, livekit-sip's mixer drops
            # input frames it gets late — its "call statistics" log them as
            # input_samples_dropped — and one run heard 0.42 s of 0.66 s.)…
            samples, rate = read_wav(phone.heard()[-1])
            win = rate // 50
            loud = [samples[i : i + win] for i in range(0, len(samples) - win, win) if rms(samples[i : i + win]) > 500]
            spoken = report["usage"]["tts_characters"] * 0.01
            heard = len(loud) * 0.02
            assert 0.4 * spoken <= heard <= 1.3 * spoken + 0.2, f"the phone heard {heard:.2f} s of the agent's {spoken:.2f} s"
            pitch = dominant_frequency(np.concatenate(loud), rate)
            assert abs(pitch - 440) < 15, pitch
            # …and as the separate utterances the agent stored, in order: the mock
            # STT's energy splitter finds a stretch of sound for each agent turn (a
            # turn lost on the line would leave the script's last one unheard).
            said = [t["text"] for t in done["turns"] if t["speaker"] == "agent"]
            assert len(said) >= 2, done["turns"]
            finals = mock_transcribe(f"ws://127.0.0.1:{port}/deepgram/v1", samples, rate, said)
            assert finals == said, f"the phone heard {finals}, the agent said {said}"
        finally:
            phone.service.stop()
