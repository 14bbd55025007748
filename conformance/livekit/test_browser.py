"""LiveKit's browser SDK (npm `livekit-client`) in Chromium under Playwright,
with the fake microphone playing a tone; LiveKit's Python SDK listens."""

import asyncio
import functools
import os
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

from livekit import rtc

from audio import dominant_frequency, record, rms, tone_wav
from conftest import ROOT, token

TONE_HZ = 660.0
PAGE = b"""<!doctype html><meta charset="utf-8"><title>microphone</title>
<link rel="icon" href="data:,"><script src="/livekit-client.umd.js"></script>"""


class PageServer:
    """Serves the test page and the npm package's UMD build on loopback."""

    def __init__(self) -> None:
        sdk_dir = ROOT / "node_modules/livekit-client/dist"

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                if self.path == "/":
                    self.send_response(200)
                    self.send_header("content-type", "text/html")
                    self.send_header("content-length", str(len(PAGE)))
                    self.end_headers()
                    self.wfile.write(PAGE)
                elif self.path == "/livekit-client.umd.js":
                    super().do_GET()
                else:
                    self.send_error(404)

            def log_message(self, *args):
                pass

        handler = functools.partial(Handler, directory=str(sdk_dir))
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


async def test_browser_microphone_is_heard_in_the_room(stack, room_name, tmp_path):
    wav = tone_wav(tmp_path / "mic.wav", TONE_HZ, seconds=10)
    room = rtc.Room()
    subscribed: asyncio.Future = asyncio.get_running_loop().create_future()

    @room.on("track_subscribed")
    def _on(track, _pub, participant):
        if participant.identity == "browser" and not subscribed.done():
            subscribed.set_result(track)

    await room.connect(stack.ws_url, token("listener", room_name))
    pages = PageServer()
    browser = await asyncio.create_subprocess_exec(
        "npx", "playwright", "test", "--config", "end2end/livekit/playwright.config.ts", "microphone.spec.ts",
        cwd=ROOT,
        env={
            **os.environ,
            "LIVEKIT_WS_URL": stack.ws_url,
            "LIVEKIT_TOKEN": token("browser", room_name),
            "FAKE_AUDIO_FILE": str(wav),
            "PAGE_URL": pages.url,
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    browser_output = asyncio.ensure_future(browser.communicate())
    try:
        track = await asyncio.wait_for(subscribed, 60)
        heard = await record(track, 2, rate=16000, skip_leading_silence=True, timeout=30)
        tail = heard[len(heard) // 4 :]
        assert rms(tail) > 1000, f"too quiet: rms {rms(tail):.0f}"
        assert abs(dominant_frequency(tail, 16000) - TONE_HZ) < 10
        await room.local_participant.publish_data(b"heard", reliable=True)
        out, _ = await asyncio.wait_for(browser_output, 90)
        assert browser.returncode == 0, out.decode(errors="replace")
    except BaseException as failure:
        if browser.returncode is None:
            browser.kill()
        out, _ = await browser_output
        raise AssertionError(f"browser side:\n{out.decode(errors='replace')}") from failure
    finally:
        pages.close()
        await room.disconnect()
