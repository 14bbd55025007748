"""A phone call through LiveKit's SIP bridge to a real SIP phone on loopback.

The phone (baresip) plays the prospect: it answers, says a few sentences made
with espeak-ng, and records what it hears. The call is placed the way Handoo
will place it: an outbound trunk, then CreateSIPParticipant, both through
LiveKit's official Python server SDK.
"""

import asyncio

from livekit import api

from audio import dominant_frequency, read_wav, record, rms, voiced_fraction
from conftest import token
from test_media import TonePublisher


async def test_outbound_call_rings_the_phone_and_both_sides_hear_each_other(sip_stack, phone, lkapi, room_name):
    stack = sip_stack
    trunk = await lkapi.sip.create_outbound_trunk(
        api.CreateSIPOutboundTrunkRequest(
            trunk=api.SIPOutboundTrunkInfo(
                name="loopback phone",
                address=phone.uri_host,
                numbers=["+15550000"],
                transport=api.SIPTransport.SIP_TRANSPORT_UDP,
            )
        )
    )
    assert trunk.sip_trunk_id.startswith("ST_")
    listed = await lkapi.sip.list_outbound_trunk(api.ListSIPOutboundTrunkRequest())
    assert trunk.sip_trunk_id in {t.sip_trunk_id for t in listed.items}

    # The agent side of the call: it plays a tone the phone should hear, and
    # listens to the prospect.
    agent = TonePublisher(440, amplitude=10000)
    await agent.start(stack.ws_url, token("agent", room_name))
    heard_prospect: asyncio.Future = asyncio.get_running_loop().create_future()

    @agent.room.on("track_subscribed")
    def _on(track, _pub, participant):
        if participant.identity == "prospect" and not heard_prospect.done():
            heard_prospect.set_result((track, participant))

    try:
        call = await asyncio.wait_for(
            lkapi.sip.create_sip_participant(
                api.CreateSIPParticipantRequest(
                    sip_trunk_id=trunk.sip_trunk_id,
                    sip_call_to="+15550100",
                    room_name=room_name,
                    participant_identity="prospect",
                    participant_name="Claire Dupont",
                    wait_until_answered=True,
                )
            ),
            30,
        )
        assert call.participant_identity == "prospect"
        assert call.sip_call_id

        track, participant = await asyncio.wait_for(heard_prospect, 15)
        assert participant.attributes.get("sip.phoneNumber") == "+15550100"
        assert participant.attributes.get("sip.callStatus") == "active"

        prospect = await record(track, 6, rate=8000)
        # Speech, not silence or a constant tone: loud stretches and quiet gaps.
        assert rms(prospect) > 200, f"the room heard almost nothing: rms {rms(prospect):.0f}"
        assert 0.2 < voiced_fraction(prospect, 8000) < 0.98

        # Hang up from the room's side, as an agent's endCall will.
        await lkapi.room.remove_participant(api.RoomParticipantIdentity(room=room_name, identity="prospect"))
    finally:
        await agent.stop()
        await lkapi.sip.delete_trunk(api.DeleteSIPTrunkRequest(sip_trunk_id=trunk.sip_trunk_id))

    log = phone.log()
    assert "+15550100" in log, "the phone never saw the INVITE"

    # The phone recorded the agent's tone.
    await asyncio.to_thread(phone.wait_hung_up)
    recordings = phone.heard()
    assert recordings, "the phone recorded nothing"
    path = recordings[-1]
    samples, rate = read_wav(path)
    tail = samples[len(samples) // 3 :]
    assert rms(tail) > 1000, f"the phone heard almost nothing: rms {rms(tail):.0f}"
    assert abs(dominant_frequency(tail, rate) - 440) < 15
