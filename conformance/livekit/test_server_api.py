"""LiveKit's own server, driven by LiveKit's official Python server SDK."""

import json

import pytest
from livekit import api

import harness


async def test_rooms_are_created_listed_and_deleted(lkapi, room_name):
    created = await lkapi.room.create_room(
        api.CreateRoomRequest(name=room_name, empty_timeout=30, metadata='{"campaign":"spring"}')
    )
    assert created.name == room_name
    assert created.sid.startswith("RM_")

    listed = await lkapi.room.list_rooms(api.ListRoomsRequest(names=[room_name]))
    assert [(r.name, r.metadata) for r in listed.rooms] == [(room_name, '{"campaign":"spring"}')]
    everything = await lkapi.room.list_rooms(api.ListRoomsRequest())
    assert room_name in {r.name for r in everything.rooms}

    await lkapi.room.delete_room(api.DeleteRoomRequest(room=room_name))
    after = await lkapi.room.list_rooms(api.ListRoomsRequest(names=[room_name]))
    assert after.rooms == []


async def test_a_wrong_secret_is_refused(stack):
    intruder = api.LiveKitAPI(stack.http_url, harness.API_KEY, "x" * 40)
    try:
        with pytest.raises(api.TwirpError) as err:
            await intruder.room.list_rooms(api.ListRoomsRequest())
        assert err.value.status == 401
    finally:
        await intruder.aclose()


async def test_webhooks_arrive_signed_and_the_official_receiver_verifies_them(lkapi, webhooks, room_name):
    await lkapi.room.create_room(api.CreateRoomRequest(name=room_name))
    body, auth = await webhooks.wait_for("room_started", room_name)

    receiver = api.WebhookReceiver(api.TokenVerifier(harness.API_KEY, harness.API_SECRET))
    event = receiver.receive(body.decode(), auth)
    assert event.event == "room_started"
    assert event.room.name == room_name

    # The signature covers the body: a changed body is rejected.
    forged = json.loads(body)
    forged["room"]["name"] = "someone-else"
    with pytest.raises(Exception):
        receiver.receive(json.dumps(forged), auth)
    await lkapi.room.delete_room(api.DeleteRoomRequest(room=room_name))
    await webhooks.wait_for("room_finished", room_name)
