"""The loopback Rocket.Chat answers like Rocket.Chat: driven by rocketchat_API (a client we did
not write), by a raw DDP websocket, and through a whole Omnichannel chat."""

from __future__ import annotations

import json
import time

import pytest
import requests
import websocket
from rocketchat_API.rocketchat import RocketChat

from rc_fixtures import ADMIN


def client(sim, user, password) -> RocketChat:
    session = requests.Session()
    session.trust_env = False
    return RocketChat(user, password, server_url=sim.url, session=session)


def ddp(sim):
    ws = websocket.create_connection(sim.url.replace("http://", "ws://") + "/websocket", timeout=10)
    ws.send(json.dumps({"msg": "connect", "version": "1", "support": ["1"]}))
    assert json.loads(ws.recv())["msg"] == "connected"
    return ws


def recv_until(ws, predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        frame = json.loads(ws.recv())
        if frame.get("msg") == "ping":
            ws.send(json.dumps({"msg": "pong"}))
        if predicate(frame):
            return frame
    raise TimeoutError


def test_rocketchat_api_client_login_me_users_dm_and_channels(rc_sim):
    admin = client(rc_sim, *ADMIN)
    assert admin.me()["username"] == "admin"
    created = admin.users_create(email="dave@example.com", name="Dave", password="dave-pass", username="dave")
    assert created["success"] is True and created["user"]["username"] == "dave"
    dave = client(rc_sim, "dave", "dave-pass")
    room = dave.dm_create("alice")["room"]
    assert room["t"] == "d" and room["usernames"] == ["alice", "dave"]
    posted = dave.chat_post_message("hello alice", room_id=room["_id"])
    assert posted["success"] and posted["message"]["msg"] == "hello alice" and posted["channel"] == room["_id"]
    channel = admin.channels_create("support", members=["dave"])["channel"]
    admin.chat_post_message("welcome", room_id=channel["_id"])
    history = dave.channels_history(channel["_id"])
    assert [m["msg"] for m in history] == ["welcome"]
    bot = client(rc_sim, "salesforce-bot", "bot-pass")
    agents = bot.livechat_get_users("agent")
    agents = agents if isinstance(agents, dict) else {"users": list(agents)}
    assert {"alice", "bob"} <= {u["username"] for u in agents["users"]}
    assert list(bot.livechat_rooms()) == []
    visitor = client(rc_sim, *ADMIN).livechat_register_visitor(
        "tok-1", visitor={"name": "Web Visitor", "email": "v@example.com"}
    )
    assert visitor["visitor"]["token"] == "tok-1" and visitor["visitor"]["visitorEmails"] == [
        {"address": "v@example.com"}
    ]


def test_paging_caps_count_at_the_upper_limit_and_refuses_a_bad_sort(start_rc_sim):
    sim = start_rc_sim()
    sim.open_chats(130, "alice")
    bot = client(sim, "salesforce-bot", "bot-pass")

    def listed(**params):
        resp = bot.session.get(sim.url + "/api/v1/livechat/rooms", params=params, headers=bot.headers)
        return resp.json()

    capped = listed(count=500)
    assert (len(capped["rooms"]), capped["count"], capped["total"]) == (100, 100, 130)  # API_Upper_Count_Limit
    assert len(listed()["rooms"]) == 50  # API_Default_Count
    assert len(listed(count=0)["rooms"]) == 130  # API_Allow_Infinite_Count
    assert len(listed(count=100, offset=100)["rooms"]) == 30
    for sort in ('{"_updatedAt": 2}', '{"_updatedAt": "desc"}', "not json"):
        assert listed(sort=sort) == {
            "success": False,
            "error": f'Invalid sort parameter provided: "{sort}" [error-invalid-sort]',
            "errorType": "error-invalid-sort",
            "details": {"helperMethod": "parseJsonQuery"},
        }
    newest = listed(sort='{"_updatedAt": -1}', count=2)["rooms"]
    assert newest[0]["_updatedAt"] >= newest[1]["_updatedAt"]


def test_rooms_info_of_a_room_one_cannot_read_is_400_not_allowed(rc_sim):
    admin = client(rc_sim, *ADMIN)
    private = admin.dm_create("bob")["room"]  # admin and bob's; alice is not in it
    alice = client(rc_sim, "alice", "agent-pass")
    resp = alice.session.get(
        rc_sim.url + "/api/v1/rooms.info", params={"roomId": private["_id"]}, headers=alice.headers
    )
    assert resp.status_code == 400
    assert resp.json() == {"success": False, "error": "not-allowed", "errorType": "Not Allowed"}
    assert admin.rooms_info(room_id=private["_id"])["room"]["_id"] == private["_id"]


def test_errors_have_rocket_chat_bodies(rc_sim):
    http = requests.Session()
    http.trust_env = False
    bad = http.post(rc_sim.url + "/api/v1/login", json={"user": "alice", "password": "nope"})
    assert bad.status_code == 401 and bad.json() == {
        "status": "error",
        "error": "Unauthorized",
        "message": "Unauthorized",
    }
    anon = http.get(rc_sim.url + "/api/v1/me")
    assert anon.status_code == 401 and anon.json()["message"] == "You must be logged in to do this."
    carol = rc_sim.user("carol", stream=False)
    with pytest.raises(Exception) as denied:
        carol.rest.call("GET", "livechat/rooms")
    assert denied.value.status == 403 and "error-unauthorized" in denied.value.body["error"]
    unknown = http.post(
        rc_sim.url + "/api/v1/livechat/message", json={"token": "no-such-visitor", "rid": "x", "msg": "hi"}
    )
    assert unknown.status_code == 400
    assert unknown.json()["error"].count("[") == 1  # Rocket.Chat names the error type once: "… [invalid-token]"


def test_client_chosen_ids_are_not_inserted_twice(rc_sim):
    alice = rc_sim.user("alice", stream=False)
    rid = alice.dm("bob")
    message = {"_id": "FixedId0000000001", "rid": rid, "msg": "once"}
    alice.rest.call("POST", "chat.sendMessage", {"message": message})
    again = alice.rest.http.post(
        rc_sim.url + "/api/v1/chat.sendMessage", json={"message": message}, headers=alice.rest.headers
    )
    assert again.status_code == 400 and again.json()["errorType"] == "error-message-already-exists"
    assert [m["msg"] for m in rc_sim.room_messages(rid)].count("once") == 1


def test_realtime_login_stream_and_participation(rc_sim):
    bot = rc_sim.user("salesforce-bot", stream=False)
    ws = ddp(rc_sim)
    ws.send(json.dumps({"msg": "method", "method": "login", "id": "1", "params": [{"resume": "wrong"}]}))
    refused = recv_until(ws, lambda f: f.get("id") == "1")
    assert refused["error"]["error"] == 403 and "logged out" in refused["error"]["reason"]
    ws.send(json.dumps({"msg": "method", "method": "login", "id": "2", "params": [{"resume": bot.token}]}))
    assert recv_until(ws, lambda f: f.get("id") == "2")["result"]["id"] == bot.user_id
    ws.send(
        json.dumps({"msg": "sub", "id": "s1", "name": "stream-room-messages", "params": ["__my_messages__", False]})
    )
    assert recv_until(ws, lambda f: f.get("msg") == "ready")["subs"] == ["s1"]
    alice = rc_sim.user("alice", stream=False)
    alice.say_to("salesforce-bot", "!help")
    frame = recv_until(ws, lambda f: f.get("msg") == "changed")
    message, meta = frame["fields"]["args"]
    assert frame["fields"]["eventName"] == "__my_messages__" and message["msg"] == "!help"
    assert isinstance(message["ts"], dict) and "$date" in message["ts"]
    assert meta["roomType"] == "d" and meta["roomParticipant"] is True
    admin = rc_sim.admin_user()
    channel = admin.create_channel("lobby", ["alice"])
    alice.send(channel["_id"], "public chatter")
    frame = recv_until(ws, lambda f: f.get("msg") == "changed" and f["fields"]["args"][0]["msg"] == "public chatter")
    assert frame["fields"]["args"][1]["roomParticipant"] is False  # a public channel the bot never joined
    dm = alice.dm("bob")
    ws.send(json.dumps({"msg": "sub", "id": "s2", "name": "stream-room-messages", "params": [dm, False]}))
    assert recv_until(ws, lambda f: f.get("id") == "s2")["msg"] == "nosub"
    ws.close()


def test_server_pings_and_closes_a_silent_socket(start_rc_sim):
    sim = start_rc_sim(extra_args=("--ping-interval", "0.5", "--ping-timeout", "0.5"))
    ws = ddp(sim)
    assert json.loads(ws.recv()) == {"msg": "ping"}
    ws.send(json.dumps({"msg": "pong"}))
    assert json.loads(ws.recv()) == {"msg": "ping"}  # silence again: pinged again
    with pytest.raises(
        (websocket.WebSocketConnectionClosedException, ConnectionResetError)
    ):  # a close frame, or a reset under load
        for _ in range(10):
            ws.recv()  # no pong: the server closes the socket
    assert ws.status == 4000 or not ws.connected


def test_rate_limiter_answers_429_with_epoch_ms_reset_and_exempts_bots(start_rc_sim):
    sim = start_rc_sim()
    carol = sim.user("carol", stream=False)
    http, url = carol.rest.http, sim.url + "/api/v1/me"
    statuses = [http.get(url, headers=carol.rest.headers) for _ in range(11)]
    assert [r.status_code for r in statuses[:10]] == [200] * 10
    limited = statuses[10]
    assert limited.status_code == 429 and "Retry-After" not in limited.headers
    assert "error-too-many-requests" in limited.json()["error"]
    assert int(limited.headers["X-RateLimit-Reset"]) > time.time() * 1000
    bot = sim.user("salesforce-bot", stream=False)
    assert all(http.get(url, headers=bot.rest.headers).status_code == 200 for _ in range(15))


def test_a_whole_omnichannel_chat(start_rc_sim):
    sim = start_rc_sim()
    visitor = sim.visitor("Jane Doe", "jane.doe@example.com", "+1 (415) 555-0134")
    with pytest.raises(Exception) as nobody:
        visitor.open_chat()
    assert nobody.value.body["errorType"] == "no-agent-online"
    alice, bob = sim.agent("alice"), sim.agent("bob")
    bot = sim.user("salesforce-bot")
    rid = visitor.open_chat()
    visitor.say("Hello, my printer is broken")
    assert [i["rid"] for i in alice.queued()] == [rid]
    mark = bot.mark()
    alice.take(rid)
    connected = bot.wait_for(lambda m: m.get("rid") == rid and m.get("t") == "command", since=mark)
    joined = bot.wait_for(lambda m: m.get("rid") == rid and m.get("t") == "uj", since=mark)
    assert connected["msg"] == "connected" and joined["u"]["username"] == "alice"
    open_rooms = bot.rest.call("GET", "livechat/rooms", params={"open": "true"})["rooms"]
    assert [(r["_id"], r["servedBy"]["username"], r["v"]["token"]) for r in open_rooms] == [
        (rid, "alice", visitor.token)
    ]
    info = bot.rest.call("GET", "livechat/visitors.info", params={"visitorId": open_rooms[0]["v"]["_id"]})["visitor"]
    assert info["visitorEmails"] == [{"address": "jane.doe@example.com"}] and info["phone"] == [
        {"phoneNumber": "+1 (415) 555-0134"}
    ]
    alice.forward(rid, bob.user_id)
    transfer = bot.wait_for(lambda m: m.get("rid") == rid and m.get("t") == "livechat_transfer_history", since=mark)
    assert transfer["transferData"]["transferredTo"]["username"] == "bob"
    before = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - 60))
    bob.close_chat(rid, "solved")
    closed = bot.wait_for(lambda m: m.get("rid") == rid and m.get("t") == "livechat-close", since=mark)
    assert closed["msg"] == "solved" and "token" not in closed
    assert bot.rest.call("GET", "livechat/rooms", params={"open": "true"})["rooms"] == []
    closed_rooms = bot.rest.call(
        "GET", "livechat/rooms", params={"open": "false", "closedAt": json.dumps({"start": before})}
    )["rooms"]
    assert closed_rooms[0]["_id"] == rid and closed_rooms[0]["closer"] == "user" and "open" not in closed_rooms[0]
    assert any(m.get("token") == visitor.token and m["msg"] == "Hello, my printer is broken" for m in visitor.history())
