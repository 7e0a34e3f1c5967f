"""FIELD_MAP's values for one chat (chat/fieldmap.py): each source read from the visitor, the room and
the serving agent, fitted to describe (cut to the field's length, picklists mended or left out with a
note); a source the chat has no value for fills nothing; fakes without the optional details still work.
Then a visitor registered with a custom field on the loopback Rocket.Chat, read through the backend."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from rc_omnichannel import Agent, LivechatRoom, Omnichannel, Visitor
from rc_rest import RestClient

from rc_fixtures import PASSWORDS
from salesforce_omnichannel.chat.context import RememberedVisitor
from salesforce_omnichannel.chat.fieldmap import ChatData, FieldMapper, room_url, source_value
from salesforce_omnichannel.crm.fieldmap import FieldMapOrg
from salesforce_omnichannel.crm.metadata import MetadataCache


def _field(name, kind="string", length=255, values=()):
    return {
        "name": name,
        "type": kind,
        "length": length,
        "nillable": True,
        "createable": True,
        "updateable": True,
        "defaultedOnCreate": False,
        "picklistValues": [{"value": v, "label": v, "active": True, "defaultValue": False} for v in values],
    }


DESCRIBES = {
    "Contact": [
        _field("Chat_Source__c", length=40),
        _field("Product__c", length=10),
        _field("Customer_Tier__c", "picklist", values=("Gold", "Silver", "Bronze")),
        _field("Interests__c", "multipicklist", values=("vip", "billing")),
        _field("Department"),
        _field("Tags__c"),
        _field("Chat_Link__c", "url"),
        _field("Agent_Email__c", "email", 80),
        _field("Agent__c"),
        _field("Agent_Name__c"),
        _field("Visitor_Name__c"),
        _field("Visitor_Email__c", "email", 80),
        _field("Visitor_Phone__c", "phone", 40),
        _field("Visitor_Username__c"),
        _field("Visitor_Department__c"),
        _field("Room_Id__c", length=18),
        _field("Order__c"),
        _field("Consent__c", "boolean"),
    ],
    "Case": [_field("Product__c", length=80), _field("Origin", "picklist", values=("Chat", "Web"))],
}


class FakeClient:
    def call(self, what, fn):
        sobject = what.split(" ", 1)[1]
        return fn(SimpleNamespace(**{sobject: SimpleNamespace(describe=lambda: {"fields": DESCRIBES[sobject]})}))


@pytest.fixture
def org():
    metadata = MetadataCache(FakeClient(), 30)
    return FieldMapOrg(metadata, lambda s, f: [p.value for p in metadata.picklist(s, f) if p.active])


VISITOR = Visitor(
    "V1",
    "tok",
    "guest-7",
    "Jane Doe",
    ("jane@example.com", "j2@example.com"),
    ("+1 415 555 0134",),
    department="D1",
    custom={"product": "Widget Professional", "tier": "silver", "empty": ""},
)
ROOM = LivechatRoom(
    "ROOM1",
    "Jane Doe",
    False,
    "V1",
    "tok",
    "Jane Doe",
    "A1",
    "alice",
    None,
    None,
    None,
    None,
    "user",
    tags=("vip", "billing", "golf"),
    department_id="D1",
    department_name="Sales",
    custom={"order": "A-17", "product": "room's product"},
)
AGENT = Agent("A1", "alice", "Alice Agent", "alice@example.com")
CHAT = ChatData(VISITOR, ROOM, AGENT, "https://chat.example.com/")


def test_every_source_on_a_chat_the_backend_read(org):
    field_map = {
        "Contact.Chat_Source__c": "=Rocket.Chat",
        "Contact.Product__c": "visitor.custom.product",  # cut to the field's 10 characters
        "Contact.Customer_Tier__c": "visitor.custom.tier",  # mended to the org's spelling
        "Contact.Interests__c": "room.tags",  # a multi-select: ;-joined, the values it has
        "Contact.Tags__c": "room.tags",
        "Contact.Department": "room.department",
        "Contact.Chat_Link__c": "room.url",
        "Contact.Room_Id__c": "room.id",
        "Contact.Order__c": "visitor.custom.order",  # no visitor field of that key: the room's
        "Contact.Agent__c": "agent.username",
        "Contact.Agent_Name__c": "agent.name",
        "Contact.Agent_Email__c": "agent.email",
        "Contact.Visitor_Name__c": "visitor.name",
        "Contact.Visitor_Email__c": "visitor.email",
        "Contact.Visitor_Phone__c": "visitor.phone",
        "Contact.Visitor_Username__c": "visitor.username",
        "Contact.Visitor_Department__c": "visitor.department",  # the room's department: its name
        "Contact.consent__c": "=true",
        "Case.Product__c": "room.custom.product",
        "Case.Origin": "=chat",
    }
    mapper = FieldMapper(field_map, CHAT, org)
    assert mapper.values_for("Contact") == {
        "Chat_Source__c": "Rocket.Chat",
        "Product__c": "Widget Pro",
        "Customer_Tier__c": "Silver",
        "Interests__c": "vip;billing",
        "Tags__c": "vip, billing, golf",
        "Department": "Sales",
        "Chat_Link__c": "https://chat.example.com/live/ROOM1",
        "Room_Id__c": "ROOM1",
        "Order__c": "A-17",
        "Agent__c": "alice",
        "Agent_Name__c": "Alice Agent",
        "Agent_Email__c": "alice@example.com",
        "Visitor_Name__c": "Jane Doe",
        "Visitor_Email__c": "jane@example.com",
        "Visitor_Phone__c": "+1 415 555 0134",
        "Visitor_Username__c": "guest-7",
        "Visitor_Department__c": "Sales",
        "Consent__c": True,
    }
    assert mapper.values_for("Case") == {"Product__c": "room's product", "Origin": "Chat"}
    assert mapper.values_for("Task") == {} and mapper.notes == []


def test_what_the_chat_lacks_fills_nothing_and_what_does_not_fit_is_noted(org):
    room = LivechatRoom("R2", "X", False, None, None, "X", None, None, None, None, None, None, None, tags=("gold",))
    chat = ChatData(Visitor("V2", "t", "guest-8", "Xavier", department="D9"), room, None, "")
    field_map = {
        "Contact.Product__c": "visitor.custom.product",  # no such custom field
        "Contact.Agent__c": "agent.username",  # no serving agent
        "Contact.Chat_Link__c": "room.url",  # no server URL given
        "Contact.Visitor_Email__c": "visitor.email",
        "Contact.Department": "room.department",
        "Contact.Visitor_Department__c": "visitor.department",  # not the room's: the id Rocket.Chat keeps
        "Contact.Customer_Tier__c": "room.tags",  # 'gold' mended to 'Gold'
        "Contact.Interests__c": "visitor.name",  # no such value
    }
    mapper = FieldMapper(field_map, chat, org)
    assert mapper.values_for("Contact") == {"Visitor_Department__c": "D9", "Customer_Tier__c": "Gold"}
    assert mapper.notes == [
        "FIELD_MAP 'Contact.Interests__c' left out: 'Xavier' is not a Contact.Interests__c value for the bot's record type."
    ]


def test_a_visitor_without_the_details_still_serves():
    remembered = RememberedVisitor("V1", "tok", "Jane Doe", ("jane@example.com",), ())
    bare_room = SimpleNamespace(id="R1")
    chat = ChatData(remembered, bare_room, None, "https://chat.example.com")
    assert source_value("visitor.email", chat) == "jane@example.com"
    assert source_value("visitor.custom.product", chat) is None
    assert source_value("visitor.username", chat) is None and source_value("visitor.department", chat) is None
    assert source_value("room.tags", chat) is None and source_value("room.department", chat) is None
    assert source_value("room.url", chat) == "https://chat.example.com/live/R1"
    assert source_value("visitor.name", ChatData()) is None
    assert room_url("", "R1") == "" and room_url("https://c.example/", "") == ""


def test_a_visitor_registered_with_a_custom_field_through_the_backend(rc_sim, org):
    admin = rc_sim.admin_user()
    admin.create_custom_field("product")
    admin.create_department("Support")
    alice = rc_sim.agent("alice")
    widget = rc_sim.visitor("Wanda Widget", "wanda@example.com", department="Support", custom={"product": "Widget"})
    rid = widget.open_chat()
    alice.take(rid)
    alice.close_chat(rid, "thanks", tags=["vip"])
    rest = RestClient(rc_sim.url)
    rest.login("salesforce-bot", PASSWORDS["salesforce-bot"])
    omni = Omnichannel(rest, lambda r: None, lambda r: None, lambda: rest.user_id)
    [room] = [r for r in omni.closed_rooms(omni.room(rid).created_at) if r.id == rid]
    chat = ChatData(omni.visitor(room.visitor_id), room, omni.agent(room.agent_username), rc_sim.url)
    field_map = {
        "Case.Product__c": "visitor.custom.product",
        "Contact.Visitor_Department__c": "visitor.department",
        "Contact.Tags__c": "room.tags",
        "Contact.Agent_Email__c": "agent.email",
        "Contact.Chat_Link__c": "room.url",
    }
    mapper = FieldMapper(field_map, chat, org)
    assert mapper.values_for("Case") == {"Product__c": "Widget"}
    assert mapper.values_for("Contact") == {
        "Visitor_Department__c": "Support",
        "Tags__c": "vip",
        "Agent_Email__c": "alice@example.com",
        "Chat_Link__c": f"{rc_sim.url}/live/{rid}",
    }
