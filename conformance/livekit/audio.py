"""Small, dependable measurements of what a participant heard."""

from __future__ import annotations

import asyncio
import subprocess
import wave
from pathlib import Path

import numpy as np
from livekit import rtc
from websockets.sync.client import connect as ws_connect


def rms(samples: np.ndarray) -> float:
    if samples.size == 0:
        return 0.0
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


def dominant_frequency(samples: np.ndarray, sample_rate: int) -> float:
    """The strongest frequency above 50 Hz (windowed FFT over the whole clip)."""
    x = samples.astype(np.float64)
    x = x - x.mean()
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    freqs = np.fft.rfftfreq(x.size, 1.0 / sample_rate)
    spectrum[freqs < 50] = 0
    return float(freqs[int(np.argmax(spectrum))])


def voiced_fraction(samples: np.ndarray, sample_rate: int, threshold: float = 300.0) -> float:
    """Share of 20 ms windows louder than `threshold` (int16 RMS)."""
    win = max(1, sample_rate // 50)
    n = samples.size // win
    if n == 0:
        return 0.0
    frames = samples[: n * win].astype(np.float64).reshape(n, win)
    loud = np.sqrt((frames**2).mean(axis=1)) > threshold
    return float(loud.mean())


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Mono int16 samples of a WAV file (the first channel if there are more)."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"{path}: {8 * w.getsampwidth()}-bit samples, expected 16")
        data = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
        return data[:: w.getnchannels()].copy(), w.getframerate()


def tone_wav(path: Path, freq: float, seconds: float, rate: int = 48000, amplitude: int = 12000) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    samples = (np.sin(2 * np.pi * freq * t) * amplitude).astype(np.int16)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return path


def speech_wav(path: Path, text: str, rate: int = 8000, pause: float = 0.5) -> Path:
    """Speech made by espeak-ng, resampled by sox to `rate`, mono, with `pause`
    seconds of silence in front (a device or call loses its first instants;
    a callee lets the agent greet first) and 0.5 s after."""
    raw = path.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw), text], check=True)
    subprocess.run(
        ["sox", str(raw), "-r", str(rate), "-c", "1", "-b", "16", str(path), "pad", str(pause), "0.5"],
        check=True,
    )
    raw.unlink()
    return path


async def record(
    track: rtc.Track, seconds: float, rate: int = 16000, skip_leading_silence: bool = False, timeout: float = 20
) -> np.ndarray:
    """`seconds` of a subscribed audio track, mono int16 at `rate`. With
    `skip_leading_silence`, recording starts at the first audible frame (a
    microphone or a phone line is silent while it opens)."""
    stream = rtc.AudioStream(track, sample_rate=rate, num_channels=1)
    chunks: list[np.ndarray] = []
    got = 0

    async def collect() -> None:
        nonlocal got
        async for ev in stream:
            frame = np.frombuffer(ev.frame.data, dtype=np.int16).copy()
            if skip_leading_silence and got == 0 and rms(frame) < 100:
                continue
            chunks.append(frame)
            got += frame.size
            if got >= seconds * rate:
                return

    try:
        await asyncio.wait_for(collect(), timeout + seconds)
    finally:
        await stream.aclose()
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)


def mock_transcribe(deepgram_ws: str, samples: np.ndarray, rate: int, utterances: list[str]) -> list[str]:
    """`samples` through the mock vendors' streaming Deepgram, scripted with
    `utterances`: its energy splitter gives the next of them for each stretch
    of sound ended by 300 ms of silence, so the finals say how many separate
    utterances the audio holds (the mock cannot recognise words)."""
    import json
    import requests

    base = deepgram_ws.replace("ws://", "http://").split("/deepgram/")[0]
    r = requests.post(f"{base}/__control/stt-script", json={"utterances": utterances}, timeout=5)
    r.raise_for_status()
    finals = []
    url = f"{deepgram_ws}/listen?encoding=linear16&sample_rate={rate}&channels=1&interim_results=false"
    with ws_connect(url, additional_headers={"Authorization": "Token dg-test"}) as ws:
        pcm = samples.astype("<i2").tobytes()
        for i in range(0, len(pcm), 3200):
            ws.send(pcm[i : i + 3200])
        ws.send(json.dumps({"type": "CloseStream"}))
        for msg in ws:
            if isinstance(msg, str):
                m = json.loads(msg)
                if m.get("type") == "Results" and m.get("is_final"):
                    finals.append(m["channel"]["alternatives"][0]["transcript"])
    return finals
