"""Conformance: LiveKit's official Python server SDK (PyPI `livekit-api`)
talks to the LiveKit stand-in in `mock-vendors`.

The SDK signs each request with the grants LiveKit checks, sends protobuf
bodies to `/twirp/livekit.<Service>/<Method>` and reads Twirp errors
(with the SIP status of a failed dial) exactly as it does against a real
server; the mock checks the token and the grants the way the server does.
Run by `scripts/conformance` (which starts the mock); MOCK is its base URL.
"""

import asyncio
import os

from livekit import api

MOCK = os.environ["MOCK"]
# The secret every mock project shares (mock_vendors::livekit::API_SECRET).
SECRET = "mock-livekit-secret-0123456789abcdef"


def lk(key="APIconformance", secret=SECRET):
    return api.LiveKitAPI(url=MOCK, api_key=key, api_secret=secret)


async def rooms_dispatch_and_egress():
    async with lk() as c:
        room = await c.room.create_room(api.CreateRoomRequest(name="conf-room", metadata='{"call_id":"c1"}', empty_timeout=30))
        assert room.name == "conf-room" and room.sid.startswith("RM_") and room.metadata == '{"call_id":"c1"}', room
        listed = await c.room.list_rooms(api.ListRoomsRequest(names=["conf-room"]))
        assert [r.name for r in listed.rooms] == ["conf-room"], listed
        d = await c.agent_dispatch.create_dispatch(
            api.CreateAgentDispatchRequest(agent_name="handoo-voice", room="conf-room", metadata='{"call_id":"c1"}'))
        assert d.id.startswith("AD_") and d.agent_name == "handoo-voice" and d.room == "conf-room", d
        eg = await c.egress.start_room_composite_egress(api.RoomCompositeEgressRequest(room_name="conf-room", audio_only=True))
        assert eg.egress_id.startswith("EG_") and eg.room_name == "conf-room", eg
        await c.room.delete_room(api.DeleteRoomRequest(room="conf-room"))
        assert not (await c.room.list_rooms(api.ListRoomsRequest(names=["conf-room"]))).rooms


async def trunks_and_dials():
    async with lk() as c:
        t = await c.sip.create_sip_outbound_trunk(api.CreateSIPOutboundTrunkRequest(trunk=api.SIPOutboundTrunkInfo(
            name="Main", address="sip.example.com", numbers=["+33187654321"], auth_username="u", auth_password="p")))
        assert t.sip_trunk_id.startswith("ST_") and list(t.numbers) == ["+33187654321"], t
        await c.room.create_room(api.CreateRoomRequest(name="conf-call"))
        p = await c.sip.create_sip_participant(api.CreateSIPParticipantRequest(
            sip_trunk_id=t.sip_trunk_id, sip_call_to="+33612345678", room_name="conf-call",
            participant_identity="callee", wait_until_answered=True))
        assert p.participant_identity == "callee" and p.room_name == "conf-call" and p.sip_call_id, p
        try:
            await c.sip.create_sip_participant(api.CreateSIPParticipantRequest(
                sip_trunk_id=t.sip_trunk_id, sip_call_to="+33612345486", room_name="conf-call", wait_until_answered=True))
            raise AssertionError("a busy line answered")
        except api.TwirpError as e:
            # The SDK's own reading of a failed dial: the SIP status in the metadata.
            assert e.metadata.get("sip_status_code") == "486" and e.metadata.get("sip_status") == "Busy Here", e
        rule = await c.sip.create_dispatch_rule(api.CreateSIPDispatchRuleRequest(dispatch_rule=api.SIPDispatchRuleInfo(
            name="in", trunk_ids=[t.sip_trunk_id],
            rule=api.SIPDispatchRule(dispatch_rule_individual=api.SIPDispatchRuleIndividual(room_prefix="inbound-")))))
        assert rule.sip_dispatch_rule_id.startswith("SDR_") and list(rule.trunk_ids) == [t.sip_trunk_id], rule
        await c.sip.delete_sip_dispatch_rule(api.DeleteSIPDispatchRuleRequest(sip_dispatch_rule_id=rule.sip_dispatch_rule_id))
        await c.sip.delete_sip_trunk(api.DeleteSIPTrunkRequest(sip_trunk_id=t.sip_trunk_id))
        await c.room.delete_room(api.DeleteRoomRequest(room="conf-call"))


async def refusals():
    async with lk(secret="not-the-secret") as c:
        try:
            await c.room.list_rooms(api.ListRoomsRequest())
            raise AssertionError("a wrong secret was accepted")
        except api.TwirpError as e:
            assert e.code == "unauthenticated" and e.status == 401, e
    # A token with one grant cannot use another (roomList is not roomCreate).
    token = api.AccessToken("APIconformance", SECRET).with_grants(api.VideoGrants(room_list=True)).to_jwt()
    async with api.LiveKitAPI(url=MOCK, token=token) as c:
        try:
            await c.room.create_room(api.CreateRoomRequest(name="nope"))
            raise AssertionError("roomCreate without the grant")
        except api.TwirpError as e:
            assert e.code == "permission_denied", e
    async with lk(key="lk-down") as c:
        try:
            await c.room.list_rooms(api.ListRoomsRequest())
            raise AssertionError("a down server answered")
        except api.TwirpError as e:
            assert e.code == "unavailable" and e.status == 503, e


def test_rooms_dispatch_and_egress():
    asyncio.run(rooms_dispatch_and_egress())


def test_trunks_and_dials():
    asyncio.run(trunks_and_dials())


def test_refusals():
    asyncio.run(refusals())


if __name__ == "__main__":
    for name, fn in list(globals().items()):
        if name.startswith("test_") and callable(fn):
            fn()
            print(f"ok  {name}")
