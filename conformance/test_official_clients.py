"""Conformance: the vendors' official Python SDKs talk to `mock-vendors`.

If the official client parses our mock's streams, tool calls and error
bodies the way it parses the real service's, the mock is faithful, and the
Rust clients tested against the mock are tested against the real format.
Run by `scripts/conformance` (which starts the mock); MOCK is its base URL.
"""

import io
import json
import os
import struct

import anthropic
import openai

MOCK = os.environ["MOCK"]
TOOLS_OPENAI = [{
    "type": "function",
    "function": {
        "name": "updateData",
        "description": "Record a value",
        "parameters": {"type": "object", "properties": {"field": {"type": "string", "enum": ["budget"]}, "value": {}},
                       "required": ["field", "value"]},
    },
}]
TOOLS_ANTHROPIC = [{"name": t["function"]["name"], "description": t["function"]["description"],
                    "input_schema": t["function"]["parameters"]} for t in TOOLS_OPENAI]


def oa(key="sk-test"):
    return openai.OpenAI(base_url=f"{MOCK}/openai/v1", api_key=key, max_retries=0)


def an(key="sk-test"):
    return anthropic.Anthropic(base_url=f"{MOCK}/anthropic", api_key=key, max_retries=0)


def test_openai_streamed_text_tools_and_usage():
    text = "".join(
        c.choices[0].delta.content or ""
        for c in oa().chat.completions.create(model="gpt-4.1-mini", messages=[{"role": "user", "content": "Hello"}], stream=True)
        if c.choices
    )
    assert text == "You said: Hello", text
    calls, finish, usage = {}, None, None
    stream = oa().chat.completions.create(
        model="gpt-4.1-mini", messages=[{"role": "user", "content": "my budget is 450"}], tools=TOOLS_OPENAI,
        stream=True, stream_options={"include_usage": True})
    for chunk in stream:
        usage = chunk.usage or usage
        for ch in chunk.choices:
            finish = ch.finish_reason or finish
            for tc in ch.delta.tool_calls or []:
                c = calls.setdefault(tc.index, {"id": None, "name": "", "args": ""})
                c["id"] = tc.id or c["id"]
                c["name"] += tc.function.name or ""
                c["args"] += tc.function.arguments or ""
    assert finish == "tool_calls", finish
    assert calls[0]["name"] == "updateData" and calls[0]["id"]
    assert json.loads(calls[0]["args"]) == {"field": "budget", "value": "450"}
    assert usage.completion_tokens > 0 and usage.prompt_tokens > 0


def test_openai_errors_raise_the_sdks_own_exceptions():
    cases = [("bad-key", openai.AuthenticationError), ("rate-limited", openai.RateLimitError), ("down", openai.InternalServerError)]
    for key, exc in cases:
        try:
            oa(key).chat.completions.create(model="gpt-4.1-mini", messages=[{"role": "user", "content": "hi"}], stream=True)
        except exc:
            continue
        raise AssertionError(f"{key}: expected {exc.__name__}")
    try:
        oa().chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "hi"}], stream=True)
        raise AssertionError("missing model accepted")
    except openai.NotFoundError as e:
        assert e.body["code"] == "model_not_found"


def test_openai_speech_and_transcription():
    with oa().audio.speech.with_streaming_response.create(model="tts-1", voice="alloy", input="Bonjour", response_format="pcm") as r:
        pcm = r.read()
    assert len(pcm) == 240 * 7 * 2, len(pcm)
    samples = b"\x00\x00" * 16000
    wav = io.BytesIO()
    wav.write(b"RIFF" + struct.pack("<I", 36 + len(samples)) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16)
              + b"data" + struct.pack("<I", len(samples)) + samples)
    out = oa().audio.transcriptions.create(model="whisper-1", file=("audio.wav", wav.getvalue(), "audio/wav"))
    assert out.text == "audio of 1000 ms", out.text


def test_anthropic_streamed_text_and_tool_use():
    with an().messages.stream(model="claude-haiku-4-5", max_tokens=100, messages=[{"role": "user", "content": "Hello"}]) as s:
        assert s.get_final_text() == "You said: Hello"
    with an().messages.stream(model="claude-haiku-4-5", max_tokens=100, tools=TOOLS_ANTHROPIC,
                              messages=[{"role": "user", "content": "my budget is 450"}]) as s:
        msg = s.get_final_message()
    assert msg.stop_reason == "tool_use"
    tool = [b for b in msg.content if b.type == "tool_use"][0]
    assert tool.name == "updateData" and tool.input == {"field": "budget", "value": "450"}
    assert msg.usage.output_tokens > 0


def test_anthropic_errors():
    for key, exc in [("bad-key", anthropic.AuthenticationError), ("rate-limited", anthropic.RateLimitError)]:
        try:
            an(key).messages.create(model="claude-haiku-4-5", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
        except exc:
            continue
        raise AssertionError(f"{key}: expected {exc.__name__}")
    try:
        an("down").messages.create(model="claude-haiku-4-5", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
        raise AssertionError("overloaded accepted")
    except anthropic.APIStatusError as e:
        assert e.status_code == 529 and e.body["error"]["type"] == "overloaded_error"


if __name__ == "__main__":
    for name, fn in list(globals().items()):
        if name.startswith("test_") and callable(fn):
            fn()
            print(f"ok  {name}")
