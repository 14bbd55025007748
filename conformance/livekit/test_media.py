"""Media through the real server: LiveKit's Python real-time SDK publishes,
and both the Python SDK and our Rust binding of `liblivekit_ffi.so` hear it."""

import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from livekit import rtc

from audio import dominant_frequency, read_wav, record, rms
from conftest import ROOT, required_file, token


class TonePublisher:
    """A participant playing a steady sine, as a microphone would."""

    def __init__(self, freq: float, amplitude: int = 8000, rate: int = 48000):
        self.freq, self.amplitude, self.rate = freq, amplitude, rate
        self.room = rtc.Room()
        self.task = None

    async def start(self, url: str, tok: str) -> None:
        await self.room.connect(url, tok)
        source = rtc.AudioSource(self.rate, 1)
        track = rtc.LocalAudioTrack.create_audio_track("tone", source)
        await self.room.local_participant.publish_track(
            track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        )

        async def play():
            n, chunk = 0, self.rate // 100
            while True:
                t = (np.arange(chunk) + n) / self.rate
                n += chunk
                samples = (np.sin(2 * np.pi * self.freq * t) * self.amplitude).astype(np.int16)
                await source.capture_frame(rtc.AudioFrame(samples.tobytes(), self.rate, 1, chunk))

        self.task = asyncio.create_task(play())

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
        await self.room.disconnect()


async def listen(url: str, tok: str, from_identity: str, seconds: float, rate: int = 16000, timeout: float = 20):
    """Joins, waits for `from_identity`'s audio track, returns `seconds` of it (mono int16)."""
    room = rtc.Room()
    subscribed: asyncio.Future = asyncio.get_running_loop().create_future()

    @room.on("track_subscribed")
    def _on(track, _pub, participant):
        if participant.identity == from_identity and track.kind == rtc.TrackKind.KIND_AUDIO and not subscribed.done():
            subscribed.set_result(track)

    await room.connect(url, tok)
    try:
        track = await asyncio.wait_for(subscribed, timeout)
        return await record(track, seconds, rate, timeout=timeout)
    finally:
        await room.disconnect()


async def test_python_sdk_publishes_and_hears_a_track(stack, room_name):
    speaker = TonePublisher(440)
    await speaker.start(stack.ws_url, token("speaker", room_name))
    try:
        heard = await listen(stack.ws_url, token("listener", room_name), "speaker", seconds=2)
    finally:
        await speaker.stop()
    tail = heard[len(heard) // 2 :]  # past the first packets
    assert rms(tail) > 3000, f"too quiet: rms {rms(tail):.0f}"
    assert abs(dominant_frequency(tail, 16000) - 440) < 10


def test_the_ffi_protocol_types_match_the_library_we_load():
    """rtc/proto/livekit_ffi.fds.bin is what the installed wheel describes."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "fds.bin"
        subprocess.run(
            [sys.executable, str(ROOT / "rtc/proto/extract_descriptors.py"), str(out)],
            check=True, capture_output=True,
        )
        assert out.read_bytes() == (ROOT / "rtc/proto/livekit_ffi.fds.bin").read_bytes(), (
            "the livekit wheel changed: rerun rtc/proto/extract_descriptors.py"
        )


async def test_rust_ffi_binding_receives_a_python_track(stack, room_name, tmp_path):
    probe = required_file("HANDOO_RTC_PROBE_BIN")
    lib = required_file("LIVEKIT_FFI_LIB")
    speaker = TonePublisher(523.25)
    await speaker.start(stack.ws_url, token("speaker", room_name))
    wav = tmp_path / "heard.wav"
    try:
        proc = await asyncio.create_subprocess_exec(
            probe, "--lib", lib, "--url", stack.ws_url, "--token", token("rust-listener", room_name),
            "--from", "speaker", "--seconds", "2", "--sample-rate", "16000", "--wav", str(wav),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "RUST_LOG": "warn"},
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        await speaker.stop()
    assert proc.returncode == 0, err.decode()
    report = json.loads(out)
    assert report["room"] == room_name
    assert report["participant"] == "speaker"
    assert report["sample_rate"] == 16000 and report["channels"] == 1
    assert report["seconds"] >= 2.0

    samples, rate = read_wav(wav)
    assert rate == 16000
    tail = samples[len(samples) // 2 :]
    assert rms(tail) > 3000
    assert abs(dominant_frequency(tail, rate) - 523.25) < 10


async def test_rust_ffi_binding_reports_an_unreachable_server(tmp_path):
    probe = required_file("HANDOO_RTC_PROBE_BIN")
    lib = required_file("LIVEKIT_FFI_LIB")
    proc = await asyncio.create_subprocess_exec(
        probe, "--lib", lib, "--url", "ws://127.0.0.1:9", "--token", "not-a-token", "--seconds", "1",
        "--connect-timeout-ms", "3000",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1
    assert b"could not connect" in err
