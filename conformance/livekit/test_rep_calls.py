"""A rep calls from the copilot, through the real LiveKit stack, in Chromium.

Handoo's server runs with its own worker on (`HANDOO_VOICE_AGENT=on`): on a
rep's call it joins the room in listen-only mode through `liblivekit_ffi.so`
and streams the rep's and the phone's tracks, each on its own, through the
speech-to-text (the mock vendors' Deepgram, scripted: the lines are the
script's, in the order the stretches of speech end). end2end/livekit/
rep_calls.spec.ts drives two Chromiums: the rep's, whose fake microphone
says a line (espeak-ng), presses Call in the copilot; the phone (baresip)
rings until the spec answers it, then says its objection; the copilot shows
both sides' lines and the card. The manager's Chromium, whose fake
microphone plays a 1,200 Hz tone, whispers from the live board, then barges.
What the phone recorded is checked here afterwards, window by window (the
spec writes when each began and ended): no trace of the tone while the
manager whispered — LiveKit kept the track from the phone — and the tone
while they barged. Mid-call the spec also cuts the rep's network (a proxy
in front of their Chromium) for a few seconds: the softphone shows it
reconnecting, the call goes on, and the keypad's tones then reach the phone
(baresip's DTMF events); while the rep holds with music the phone hears its
notes. In English and in French, one call each.
"""

from __future__ import annotations

import json
import subprocess
import uuid

import numpy as np
import pytest

import harness
from audio import read_wav, speech_wav, tone_wav
from handoo import with_worker

NUMBER = "+33612345077"
WHISPER_HZ = 1200.0
# The notes of the hold music (public/livekit-loader.js's holdMusicTrack).
HOLD_NOTES = (392.0, 523.25, 440.0, 349.23)
REP_LINE = "Hello Claire, this is Mia from Handoo."
PROSPECT_LINE = "Honestly, it is too expensive for us."


def tone_level(samples: np.ndarray, rate: int, hz: float) -> float:
    """How much of `samples` is at `hz` (the spectrum's magnitude there over its mean)."""
    if len(samples) < rate // 10:
        return 0.0
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples))))
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    near = (freqs > hz - 25) & (freqs < hz + 25)
    return float(spectrum[near].max() / (spectrum.mean() + 1e-9))


# Two calls in two Chromiums each, with a network cut and a hold: longer than
# the suite's default.
@pytest.mark.timeout(420)
async def test_a_rep_calls_from_the_copilot_and_a_manager_whispers_then_barges(sip_stack, workdir, webhooks):
    stack = sip_stack
    # The phone lets the rep speak first, then objects, once — and stays on
    # the line (baresip hangs up when its audio file ends).
    said = speech_wav(workdir / "objection-said.wav", PROSPECT_LINE, rate=8000, pause=6)
    answer = workdir / "objection.wav"
    subprocess.run(["sox", str(said), str(answer), "pad", "0", "120"], check=True)
    phone = harness.start_phone(workdir / f"phone-rep-{uuid.uuid4().hex[:8]}", answer, number=NUMBER, answer="manual")
    rep_mic = speech_wav(workdir / "rep.wav", REP_LINE, rate=48000, pause=1.5)
    manager_mic = tone_wav(workdir / "manager.wav", WHISPER_HZ, seconds=60, rate=48000)
    marks = workdir / f"rep-call-marks-{uuid.uuid4().hex[:8]}.json"
    with with_worker(workdir, stack, webhooks) as (handoo, port):
        try:
            status, text = await harness.playwright_spec(
                "rep_calls.spec.ts",
                {
                    "HANDOO_URL": handoo.base,
                    "PHONE_NUMBER": NUMBER,
                    "PHONE_HOST": phone.uri_host,
                    "PHONE_CTRL_PORT": str(phone.ctrl_port),
                    "REP_MIC": str(rep_mic),
                    "MANAGER_MIC": str(manager_mic),
                    "STT_SCRIPT_URL": f"http://127.0.0.1:{port}/__control/stt-script",
                    "REP_LINE": REP_LINE,
                    "PROSPECT_LINE": PROSPECT_LINE,
                    "MARKS_FILE": str(marks),
                },
                380,
            )
            assert status == 0, f"{text}\n{handoo.tail()}\n{phone.service.tail()}"
            assert "2 passed" in text, text
            phone.wait_hung_up(20)
            # The rep joined each call's room once: the cut was ridden out by
            # the SDK resuming, and nothing on the page redrew the softphone
            # (which leaves the room and joins again, hold and mute lost).
            joins: dict[str, int] = {}
            for ev in webhooks.events("participant_joined"):
                if ev.get("participant", {}).get("identity", "").startswith("rep-"):
                    room = ev["room"]["name"]
                    joins[room] = joins.get(room, 0) + 1
            assert len(joins) == 2 and set(joins.values()) == {1}, f"the rep's joins per room: {joins}"
            # What the phone heard, call by call: the whisper never, the barge
            # yes; while the rep held, the hold music's notes (livekit-loader.js)
            # — and not while the manager whispered, when nobody the phone hears spoke.
            windows = json.loads(marks.read_text())
            recordings = phone.heard()
            assert len(recordings) >= len(windows), (recordings, windows)
            for rec, w in zip(recordings[-len(windows):], windows):
                samples, rate = read_wav(rec)
                cut = lambda a, b: samples[int(max(0, a) * rate) : int(max(0, b) * rate)]  # noqa: E731
                whispered = tone_level(cut(w["whisper"][0] + 0.5, w["whisper"][1] - 0.2), rate, WHISPER_HZ)
                barged = tone_level(cut(w["barge"][0] + 1.0, w["barge"][1] - 0.2), rate, WHISPER_HZ)
                assert whispered < 8, f"{w['lang']}: the phone heard the whisper ({whispered:.1f}); windows {w}"
                assert barged > 30, f"{w['lang']}: the phone did not hear the barge ({barged:.1f}); windows {w}"
                music = lambda a, b: max(tone_level(cut(a, b), rate, hz) for hz in HOLD_NOTES)  # noqa: E731
                on_hold = music(w["held"][0] + 0.5, w["held"][1] - 0.2)
                quiet = music(w["whisper"][0] + 0.5, w["whisper"][1] - 0.2)
                assert on_hold > 30, f"{w['lang']}: the phone did not hear the hold music ({on_hold:.1f}); windows {w}"
                assert quiet < 8, f"{w['lang']}: the notes were there before the hold ({quiet:.1f}); windows {w}"
        finally:
            phone.service.stop()
