"""Conformance: LiveKit's official agent framework (PyPI `livekit-agents`)
works against the agent endpoint of the LiveKit stand-in in `mock-vendors`.

The framework's worker connects to `{MOCK}/agent` with its agent-grant token,
registers under an agent name, reports its status, answers the availability
request of a dispatched job, takes the assignment (with the room token the
mock signs) and reports the job's status as it runs and ends. If the
official worker does all that against the mock, the mock speaks LiveKit's
agent protocol, and our own Rust worker, tested against the same mock
(voice/tests/agent_mock.rs), is tested against the real protocol.

Run by `scripts/conformance` (which starts the mock); MOCK is its base URL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

MOCK = os.environ["MOCK"]
# The secret every mock project shares (mock_vendors::livekit::API_SECRET).
SECRET = "mock-livekit-secret-0123456789abcdef"
AGENT = "handoo-conformance"

# The worker: the entrypoint writes what it was given and ends the job without
# joining (the mock has no media server); the framework then reports it done.
WORKER = r'''
import asyncio, json, os, sys
from livekit.agents import AgentServer, JobContext, JobExecutorType

server = AgentServer(job_executor_type=JobExecutorType.THREAD, num_idle_processes=0,
                     load_fnc=lambda *_: 0.0, load_threshold=1.0, port=0, host="127.0.0.1")

@server.rtc_session(agent_name=os.environ["AGENT"])
async def entrypoint(ctx: JobContext) -> None:
    with open(os.environ["JOBS"], "a") as f:
        f.write(json.dumps({"id": ctx.job.id, "room": ctx.job.room.name, "metadata": ctx.job.metadata,
                            "identity": ctx.token_claims().identity}) + "\n")
    ctx.shutdown(reason="conformance: done")

server.on("worker_registered", lambda worker_id, _info: print(f"registered {worker_id}", flush=True))
asyncio.run(server.run(devmode=False))
'''


def control(path: str, body: dict | None = None):
    req = urllib.request.Request(
        f"{MOCK}/__control/livekit/agent/{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"content-type": "application/json"},
        method="GET" if body is None else "POST",
    )
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read() or b"null")


def wait(what: str, check, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = check()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"never {what}: workers {control('workers')}, jobs {control('jobs')}")


def test_the_official_worker_registers_and_takes_a_job():
    jobs = tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False).name
    env = dict(os.environ, LIVEKIT_URL=MOCK.replace("http://", "ws://"), LIVEKIT_API_KEY="APIagents",
               LIVEKIT_API_SECRET=SECRET, AGENT=AGENT, JOBS=jobs)
    proc = subprocess.Popen([sys.executable, "-c", WORKER], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        line = ""
        deadline = time.time() + 60
        while time.time() < deadline and not line.startswith("registered"):
            line = proc.stdout.readline()
            assert line or proc.poll() is None, "the worker exited before registering"
        worker_id = line.split()[1]
        assert worker_id.startswith("AW_"), line
        worker = wait("the worker listed", lambda: [w for w in control("workers") if w["id"] == worker_id])[0]
        assert worker["agent_name"] == AGENT, worker
        wait("its status", lambda: [w for w in control("workers") if w["status"] == "available"])

        job_id = control("dispatch", {"room": "conf-agent-room", "agent_name": AGENT,
                                      "metadata": '{"call_id":"c-42"}'})["job_id"]
        seen = wait("the job in the entrypoint", lambda: open(jobs).read().strip())
        got = json.loads(seen.splitlines()[0])
        assert got == {"id": job_id, "room": "conf-agent-room", "metadata": '{"call_id":"c-42"}',
                       "identity": got["identity"]}, got
        job = wait("the job done", lambda: [j for j in control("jobs") if j["id"] == job_id
                                            and j["status"] == "JS_SUCCESS"])[0]
        assert job["worker_id"] == worker_id and job["participant_identity"] == got["identity"], job
        assert job["declined_by"] == [], job
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        os.unlink(jobs)
    wait("the worker gone", lambda: control("workers") == [] or None, timeout=20)


if __name__ == "__main__":
    for name, fn in list(globals().items()):
        if name.startswith("test_") and callable(fn):
            fn()
            print(f"ok  {name}")
