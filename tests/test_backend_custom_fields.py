"""What a chat carries besides names and addresses, as the backend reads it: the visitor's livechat
custom fields (`livechatData`) and department, the room's tags, department and room-scoped custom
fields. Payload shapes first, then against the loopback Rocket.Chat: an admin defines the custom fields
and a department, the visitor's widget registers with `customFields`, the agent closes with tags."""

from __future__ import annotations

import pytest
import requests
from rc_omnichannel import LivechatRoom, Omnichannel, Visitor, custom_fields, room_from_payload, visitor_from_payload
from rc_rest import RestClient

from rc_fixtures import PASSWORDS
from salesforce_omnichannel.chat import omnichannel as interface
from simulators.rocketchat.people import ApiFailure


def test_payloads_give_custom_fields_tags_and_the_department():
    room = room_from_payload(
        {
            "_id": "LR1",
            "t": "l",
            "fname": "Jane",
            "v": {"_id": "V1", "username": "guest-1", "token": "tok"},
            "tags": ["vip", "", "billing", 7],
            "departmentId": "D1",
            "department": {"_id": "D1", "name": "Sales"},
            "livechatData": {"order": "A-17", "rating": 5, "nested": {"x": 1}, "empty": ""},
        }
    )
    assert (room.tags, room.department_id, room.department_name) == (("vip", "billing"), "D1", "Sales")
    assert room.custom == {"order": "A-17", "rating": "5"}
    bare = room_from_payload({"_id": "LR2", "t": "l", "v": {}})  # rooms.info: no department object, no tags
    assert (bare.tags, bare.department_id, bare.department_name, bare.custom) == ((), None, None, {})
    visitor = visitor_from_payload(
        {"_id": "V1", "username": "guest-1", "department": "D1", "livechatData": {"product": "Widget", "vip": True}}
    )
    assert (visitor.department, visitor.custom) == ("D1", {"product": "Widget", "vip": "true"})
    assert visitor_from_payload({"_id": "V2"}).custom == {} and custom_fields(["not", "a", "dict"]) == {}


def test_the_backend_classes_fit_the_detailed_protocols_and_older_constructions_still_work():
    room = LivechatRoom("R1", "Jane", True, "v1", "tok", "Jane", "a1", "alice", None, None, None, None, None)
    visitor = Visitor("v1", "tok", "guest", "Jane")
    assert isinstance(room, interface.LivechatRoomDetails) and isinstance(room, interface.LivechatRoom)
    assert isinstance(visitor, interface.VisitorDetails) and isinstance(visitor, interface.Visitor)
    assert (room.tags, room.custom, visitor.custom, visitor.department) == ((), {}, {}, None)


def omni_as(sim, username: str) -> Omnichannel:
    rest = RestClient(sim.url)
    rest.login(username, PASSWORDS[username])
    return Omnichannel(rest, lambda r: None, lambda r: None, lambda: rest.user_id)


@pytest.fixture(scope="module")
def org(rc_sim):
    admin = rc_sim.admin_user()
    for key, scope in (("product", "visitor"), ("tier", "visitor"), ("order", "room")):
        admin.create_custom_field(key, scope)
    department = admin.create_department("Sales")
    return admin, department


def test_a_visitor_s_custom_fields_and_department_reach_the_backend(rc_sim, org):
    _, department = org
    visitor = rc_sim.visitor(
        "Vera Custom", "vera@example.com", department="Sales", custom={"product": "Widget Pro", "unknown": "x"}
    )
    assert visitor.visitor["department"] == department["_id"]  # named by name, kept by id
    omni = omni_as(rc_sim, "salesforce-bot")
    seen = omni.visitor(visitor.visitor["_id"])
    assert seen.custom == {"product": "Widget Pro"}  # a key no admin defined is ignored, as Rocket.Chat does
    assert seen.department == department["_id"] and seen.username.startswith("guest-")
    visitor.set_custom_field("tier", "Gold")
    visitor.set_custom_field("product", "Other", overwrite=False)  # kept: overwrite false
    assert omni.visitor(visitor.visitor["_id"]).custom == {"product": "Widget Pro", "tier": "Gold"}


def test_a_closed_room_lists_its_tags_department_and_room_custom_fields(rc_sim, org):
    _, department = org
    alice = rc_sim.agent("alice")  # online: a chat needs an agent to open
    visitor = rc_sim.visitor("Rita Room", "rita@example.com", department=department["_id"])
    rid = visitor.open_chat()
    alice.take(rid)
    visitor.set_custom_field("order", "A-17")  # a room-scoped field lands on the open room
    omni = omni_as(rc_sim, "salesforce-bot")
    assert omni.visitor(visitor.visitor["_id"]).custom == {}
    open_room = omni.room(rid)  # rooms.info: the room document, without the department's name
    assert (open_room.department_id, open_room.department_name, open_room.custom) == (
        department["_id"],
        None,
        {"order": "A-17"},
    )
    alice.close_chat(rid, "done", tags=["vip", "billing", "vip"])
    [closed] = [r for r in omni.closed_rooms(open_room.created_at) if r.id == rid]
    assert (closed.tags, closed.department_id, closed.department_name) == (
        ("vip", "billing"),
        department["_id"],
        "Sales",
    )
    assert closed.custom == {"order": "A-17"}


def test_the_simulator_refuses_what_rocket_chat_refuses(rc_sim, org):
    http = requests.Session()
    http.trust_env = False
    answer = http.post(
        rc_sim.url + "/api/v1/livechat/visitor",
        json={"visitor": {"token": "t-bad", "department": "Nowhere"}},
        timeout=10,
    )
    assert answer.status_code == 400 and answer.json()["errorType"] == "error-invalid-department"
    bad_fields = {"visitor": {"token": "t-bad2", "customFields": [{"key": "product", "value": "x"}]}}
    assert http.post(rc_sim.url + "/api/v1/livechat/visitor", json=bad_fields, timeout=10).status_code == 400
    visitor = rc_sim.visitor("Una Known")
    with pytest.raises(ApiFailure, match="invalid-custom-field"):
        visitor.set_custom_field("nobody-defined-this", "x")
    admin, _ = org
    with pytest.raises(ApiFailure, match="already exists"):
        admin.create_custom_field("product")
    carol = rc_sim.user("carol", stream=False)
    with pytest.raises(ApiFailure) as refused:
        carol.rest.call("POST", "livechat/department", {"department": {"name": "Carol's", "enabled": True}})
    assert refused.value.status == 403
