"""Conformance: the speech vendors' official Python SDKs — and Google's
`google-genai` for Gemini — talk to `mock-vendors`.

The voice pipeline's streaming clients are tested against these mocks; if
each vendor's own SDK reads the mock's messages as it reads the real
service's (typed events, audio bytes, error statuses), the formats our
clients are tested against are the vendors' own. Found this way and fixed:
AssemblyAI's `Turn` carries `end_of_turn_confidence`; Cartesia's SDK sends
its key as `Authorization: Bearer` (our client now does too) and pages
voices with `starting_after` until a page comes back empty.

Run by `scripts/conformance` (which starts the mock); MOCK is its base URL.
"""

import math
import os
import struct

MOCK = os.environ["MOCK"]
HOST = MOCK.removeprefix("http://")


def tone(ms=1000, rate=16000, hz=440.0):
    return b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * hz * i / rate))) for i in range(rate * ms // 1000))


def test_deepgram_streaming_results_and_metadata():
    from deepgram import DeepgramClient
    from deepgram.environment import DeepgramClientEnvironment

    env = DeepgramClientEnvironment(base=f"{MOCK}/deepgram", production=f"ws://{HOST}/deepgram",
                                    agent=f"ws://{HOST}/deepgram", agent_rest=f"{MOCK}/deepgram")
    client = DeepgramClient(api_key="dg-test", environment=env)
    audio = tone(1000)
    events = []
    with client.listen.v1.connect(model="nova-3", encoding="linear16", sample_rate=16000, interim_results=True) as sock:
        for i in range(0, len(audio), 640):
            sock.send_media(audio[i:i + 640])
        sock.send_close_stream()
        try:
            while True:
                events.append(sock.recv())
        except Exception as e:  # the SDK raises when the server closes (1000 after CloseStream)
            assert "1000" in str(e), e
    kinds = [type(e).__name__ for e in events]
    assert kinds[-1] == "ListenV1Metadata", kinds
    results = [e for e in events if type(e).__name__ == "ListenV1Results"]
    assert any(not r.is_final for r in results) and results[-1].is_final, [(r.is_final, r.speech_final) for r in results]
    assert results[-1].channel.alternatives[0].transcript == "audio of 1000 ms"


def test_assemblyai_universal_streaming_turns():
    from assemblyai.streaming.v3 import (StreamingClient, StreamingClientOptions, StreamingEvents,
                                         StreamingParameters)

    client = StreamingClient(StreamingClientOptions(api_key="aai-test", api_host=f"ws://{HOST}/assemblyai"))
    seen = []
    client.on(StreamingEvents.Begin, lambda _c, e: seen.append(("begin", e.id)))
    client.on(StreamingEvents.Turn, lambda _c, e: seen.append(("turn", e.transcript, e.end_of_turn)))
    client.on(StreamingEvents.Termination, lambda _c, e: seen.append(("termination", e.audio_duration_seconds)))
    client.on(StreamingEvents.Error, lambda _c, e: seen.append(("error", str(e))))
    client.connect(StreamingParameters(sample_rate=16000, format_turns=True))
    audio = tone(1000)
    client.stream([audio[i:i + 1600] for i in range(0, len(audio), 1600)])
    client.disconnect(terminate=True)
    assert seen[0] == ("begin", "mock-session"), seen
    turns = [s for s in seen if s[0] == "turn"]
    assert turns and turns[-1][2] is True, seen
    assert not [s for s in seen if s[0] == "error"], seen
    assert seen[-1][0] == "termination", seen


def test_cartesia_websocket_tts_and_voices():
    from cartesia import Cartesia

    client = Cartesia(api_key="sk-cartesia", base_url=f"{MOCK}/cartesia", websocket_base_url=f"ws://{HOST}/cartesia")
    ws = client.tts.websocket()
    text = "Hello there, this is Handoo."
    chunks = ws.send(model_id="sonic-2", transcript=text, voice={"mode": "id", "id": "voice-1"},
                     output_format={"container": "raw", "encoding": "pcm_s16le", "sample_rate": 16000}, stream=True)
    audio = b"".join(c.audio or b"" for c in chunks)
    ws.close()
    # The mock speaks 10 ms of tone per character.
    assert len(audio) == 16000 // 100 * len(text) * 2, len(audio)
    assert [v.id for v in client.voices.list()], "voices listed"


def test_elevenlabs_streamed_speech_voices_and_refusals():
    from elevenlabs.client import ElevenLabs
    from elevenlabs.core.api_error import ApiError

    client = ElevenLabs(api_key="sk-el", base_url=f"{MOCK}/elevenlabs")
    text = "Hello there, this is Handoo."
    audio = b"".join(client.text_to_speech.stream(voice_id="voice-1", text=text, model_id="eleven_flash_v2_5",
                                                  output_format="pcm_16000"))
    assert len(audio) == 16000 // 100 * len(text) * 2, len(audio)
    assert "21m00Tcm4TlvDq8ikWAM" in [v.voice_id for v in client.voices.get_all().voices]
    bad = ElevenLabs(api_key="bad-key", base_url=f"{MOCK}/elevenlabs")
    try:
        list(bad.text_to_speech.stream(voice_id="v", text="x", model_id="m", output_format="pcm_16000"))
        raise AssertionError("a bad key was accepted")
    except ApiError as e:
        assert e.status_code == 401


def test_gemini_streamed_text_tools_usage_and_refusals():
    from google import genai
    from google.genai import errors, types

    options = types.HttpOptions(base_url=f"{MOCK}/gemini", api_version="v1beta")
    client = genai.Client(api_key="gm-test", http_options=options)
    text = "".join(ch.text or "" for ch in client.models.generate_content_stream(model="gemini-2.5-flash", contents="Hello"))
    assert text == "You said: Hello", text
    tool = types.Tool(function_declarations=[types.FunctionDeclaration(
        name="updateData", description="Record a value",
        parameters={"type": "object", "properties": {"field": {"type": "string", "enum": ["budget"]}, "value": {}},
                    "required": ["field", "value"]})])
    config = types.GenerateContentConfig(tools=[tool], automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True))
    calls, usage = [], None
    for ch in client.models.generate_content_stream(model="gemini-2.5-flash", contents="my budget is 450", config=config):
        calls += [(fc.name, dict(fc.args)) for fc in (ch.function_calls or [])]
        usage = ch.usage_metadata or usage
    assert calls == [("updateData", {"field": "budget", "value": "450"})], calls
    assert usage.prompt_token_count > 0 and usage.candidates_token_count > 0
    bad = genai.Client(api_key="bad-key", http_options=options)
    try:
        list(bad.models.generate_content_stream(model="gemini-2.5-flash", contents="x"))
        raise AssertionError("a bad key was accepted")
    except errors.ClientError as e:
        assert e.code == 400 and "API_KEY_INVALID" in str(e), e


if __name__ == "__main__":
    for name, fn in list(globals().items()):
        if name.startswith("test_") and callable(fn):
            fn()
            print(f"ok  {name}")
