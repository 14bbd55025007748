"""A stand-in for Handoo's voice worker, built on LiveKit's own agent framework
(PyPI `livekit-agents`): it registers with the real server under the name
Handoo dispatches (`handoo-voice`), takes each job LiveKit hands it, writes
the job's room and metadata as a JSON line to $HANDOO_AGENT_JOBS, joins the
room as an agent participant and stays until the room ends. It says nothing:
Handoo's own worker (Rust, a later issue) speaks; this one proves that the
explicit dispatch and its metadata reach a worker, and makes the agent's
arrival (`agent_joined`) come from LiveKit's real webhooks.

Run by the real-stack tests (harness.start_agent_worker) with LIVEKIT_URL,
LIVEKIT_API_KEY and LIVEKIT_API_SECRET in the environment.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os

from livekit.agents import AgentServer, AutoSubscribe, JobContext, JobExecutorType

AGENT_NAME = "handoo-voice"

server = AgentServer(
    # One process: jobs run as threads of this one (no process pool to warm).
    job_executor_type=JobExecutorType.THREAD,
    num_idle_processes=0,
    # Never refuse a job because the test machine is busy.
    load_fnc=lambda *_: 0.0,
    load_threshold=1.0,
    port=0,
    host="127.0.0.1",
)


@server.rtc_session(agent_name=AGENT_NAME)
async def entrypoint(ctx: JobContext) -> None:
    with open(os.environ["HANDOO_AGENT_JOBS"], "a") as f:
        f.write(json.dumps({"room": ctx.job.room.name, "metadata": ctx.job.metadata}) + "\n")
    await ctx.connect(auto_subscribe=AutoSubscribe.AUDIO_ONLY)
    gone = asyncio.Event()
    ctx.room.on("disconnected", lambda *_: gone.set())
    await gone.wait()


# The harness waits for this line.
server.on("worker_registered", lambda worker_id, _info: print(f"registered worker {worker_id}", flush=True))

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    asyncio.run(server.run(devmode=False))
