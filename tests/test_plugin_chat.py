"""A whole Omnichannel chat, played for real: visitor, agent, the bot with the Salesforce plugin,
and both simulators. Salesforce's state is read back through the simulator's `/_sim/` controls."""

from __future__ import annotations

from plugin_fixtures import BOT, wait_until
from salesforce_omnichannel.chat import registry
from simulators.rocketchat.people import Agent, Visitor, text_of

JANE = "jane.doe@example.com"


def records(stack, sobject: str, **where) -> list[dict]:
    return [r for r in stack.sf.records(sobject) if all(r.get(k) == v for k, v in where.items())]


def contact_id(stack, email: str) -> str:
    [record] = [r for r in stack.sf.records("Contact") if (r.get("Email") or "").lower() == email.lower()]
    return record["Id"]


def start_chat(stack, alice, name: str, email: str | None = None, phone: str | None = None) -> tuple[Visitor, str, int]:
    visitor = Visitor(stack.rc.url, name, email=email, phone=phone)
    rid = visitor.open_chat()
    mark = alice.mark()
    alice.take(rid)
    return visitor, rid, mark


def test_a_known_visitor_from_greeting_to_transcript(stack, alice):
    jane = contact_id(stack, JANE)
    visitor, rid, mark = start_chat(stack, alice, "Jane Doe", email=JANE)
    dm = alice.dm(BOT)
    try:
        greeting = alice.wait_for_reply(dm, BOT, mark, contains="is already a Salesforce Contact")
        assert "Jane Doe is already a Salesforce Contact" in text_of(greeting)
        card = alice.wait_for_reply(dm, BOT, mark, contains=JANE)
        [att] = card["attachments"]
        assert att["title"] == "Contact: Jane Doe" and att["title_link"].endswith(f"/{jane}/view")
        assert {"short": True, "title": "Account", "value": "Acme Corporation"} in att["fields"]
        # the greeting's buttons post the next command into alice's DM with the bot: one click
        buttons = {a["text"]: a for a in att["actions"]}
        assert set(buttons) == {"Cases", "Tasks", "Events", "Calls", "Create case"}
        assert all(
            a["type"] == "button" and a["msg_in_chat_window"] and a["msg_processing_type"] == "sendMessage"
            for a in buttons.values()
        )
        clicked = stack.ask(alice, dm, buttons["Calls"]["msg"], contains="Calls of Jane Doe")
        assert "Calls of Jane Doe" in text_of(clicked)
        usage = stack.ask(alice, dm, buttons["Create case"]["msg"], contains="needs a subject")
        assert "create-case --subject" in text_of(usage)

        visitor.say("Hi, my portal login fails and my printer jams")
        # Commands typed in the livechat room are answered privately, with both prefixes.
        reply = stack.ask(alice, rid, "!salesforce contact", contains="Matched on email")
        assert reply["attachments"][0]["title"] == "Contact: Jane Doe"
        cases_button = next(a for a in reply["attachments"][0]["actions"] if a["text"] == "Cases")
        assert cases_button["msg"] == f"!salesforce cases --contact {jane}"  # a card's buttons name its contact
        cases = stack.ask(alice, rid, "/salesforce cases", contains="Cases of Jane Doe")
        assert text_of(cases).index("Cannot log in to the customer portal") < text_of(cases).index(
            "Printer jams on tray 2"
        )
        # From the agent's direct message, the one chat the agent serves is the subject.
        case = stack.ask(alice, dm, "!salesforce case 1001", contains="Case Number")
        assert case["attachments"][0]["title"] == "Case 00001001: Printer jams on tray 2"
        calls = stack.ask(alice, dm, "/salesforce activities calls", contains="Calls of Jane Doe")
        assert "Call about the portal login" in text_of(calls)
        created = stack.ask(
            alice,
            dm,
            '!salesforce create-case --subject "Portal login fails" --priority high --type Electronic',
            contains="Case Number",
        )
        fields = {f["title"]: f["value"] for f in created["attachments"][0]["fields"]}
        assert fields["Priority"] == "High" and fields["Status"] == "New" and fields["Case Origin"] in ("Chat", "Web")
        [new_case] = records(stack, "Case", Subject="Portal login fails")
        assert new_case["ContactId"] == jane and new_case["Priority"] == "High"
        bad = stack.ask(
            alice, dm, '!salesforce create-case --subject "x" --priority urgent', contains="not a valid Priority"
        )
        assert "High, Medium, Low" in bad["msg"]

        visitor.say("Thanks, bye")
        alice.close_chat(rid, comment="solved")
        task = wait_until(
            lambda: records(stack, "Task", WhoId=jane, Status="Completed", WhatId=new_case["Id"]),
            what="the transcript Task",
        )
        [task] = task
        assert task["Subject"].startswith("Chat transcript: Jane Doe")
        assert "my portal login fails" in task["Description"] and "Thanks, bye" in task["Description"]
        # the visitor's widget never showed anything from the bot
        history = visitor.history()
    finally:
        visitor.close()
    assert not [m for m in history if m["u"]["username"] == BOT]
    assert not any("Salesforce" in text_of(m) or "Acme" in text_of(m) for m in history)
    assert not [m for m in stack.rc.room_messages(rid) if m["u"]["username"] == BOT]


def test_a_new_visitor_is_offered_and_given_a_contact(stack, alice):
    visitor, rid, mark = start_chat(stack, alice, "Nina Newcomer", email="nina@newco.example", phone="+49 30 9876543")
    dm = alice.dm(BOT)
    try:
        greeting = alice.wait_for_reply(dm, BOT, mark, contains="This is not a Salesforce Contact")
        assert (
            "!salesforce create-contact --first-name Nina --last-name Newcomer --email nina@newco.example --phone '+49 30 9876543'"
            in text_of(greeting)
        )
        [create] = greeting["attachments"][0]["actions"]  # one click makes the contact, prefilled
        assert (
            create["text"] == "Create contact"
            and f"--chat {rid}" in create["msg"]
            and "--first-name Nina" in create["msg"]
        )
        made = stack.ask(
            alice,
            dm,
            "!salesforce create-contact --city Berlin --account Initech --lead-source 'phone inquiry'",
            contains="Contact created",
        )
        card = alice.wait_for_reply(dm, BOT, alice.mark() - 1, contains="nina@newco.example")
        assert card["attachments"][0]["title"] == "Contact: Nina Newcomer"
        [nina] = records(stack, "Contact", Email="nina@newco.example")
        assert (
            nina["MailingCity"] == "Berlin" and nina["LeadSource"] == "Phone Inquiry" and nina["LastName"] == "Newcomer"
        )
        assert made["msg"] == "Contact created."
        again = stack.ask(alice, dm, "!salesforce create-contact", contains="already exists")
        assert "nothing was created" in again["msg"]
        visitor.say("see you")
        alice.close_chat(rid)
        wait_until(lambda: records(stack, "Task", WhoId=nina["Id"], Status="Completed"), what="the transcript Task")
    finally:
        visitor.close()
    assert len(records(stack, "Contact", Email="nina@newco.example")) == 1


def test_closing_saves_a_visitor_nobody_created(stack, alice):
    visitor, rid, mark = start_chat(stack, alice, "Otto Quiet", email="otto@quiet.example", phone="030 1111 2222")
    try:
        alice.wait_for_reply(alice.dm(BOT), BOT, mark, contains="This is not a Salesforce Contact")
        visitor.say("just browsing")
        visitor.close_chat()  # the visitor ends it this time
        [otto] = wait_until(lambda: records(stack, "Contact", Email="otto@quiet.example"), what="the saved contact")
    finally:
        visitor.close()
    assert otto["FirstName"] == "Otto" and otto["LastName"] == "Quiet" and otto["Phone"] == "030 1111 2222"
    [task] = wait_until(lambda: records(stack, "Task", WhoId=otto["Id"]), what="the transcript Task")
    assert "just browsing" in task["Description"]


def test_help_lists_every_command(stack, alice):
    reply = stack.ask(alice, alice.dm(BOT), "/salesforce help", contains="create-contact")
    for command in (sub.usage for sub in registry.SUBCOMMANDS):
        assert f"/salesforce {command}" in reply["msg"]


def test_the_log_holds_no_traceback_and_no_secret(stack):
    out = stack.bot.output()
    print(out)
    assert "Traceback" not in out
    assert "BEGIN" not in out and stack.sf.key_path.read_text().splitlines()[1] not in out


def test_a_transfer_greets_the_new_agent(stack, alice):
    bob = Agent(stack.rc.url, "bob", "agent-pass")
    bob.go_online()
    visitor, rid, mark = start_chat(stack, alice, "Priya Patel", email="priya@initech.example")
    try:
        alice.wait_for_reply(alice.dm(BOT), BOT, mark, contains="Priya Patel is already a Salesforce Contact")
        bob_mark = bob.mark()
        alice.forward(rid, bob.user_id)
        greeting = bob.wait_for_reply(bob.dm(BOT), BOT, bob_mark, contains="is already a Salesforce Contact")
        assert "Priya Patel" in text_of(greeting)
        assert "Contact: Priya Patel" in text_of(
            stack.ask(bob, rid, "!salesforce contact", contains="Contact: Priya Patel")
        )
        bob.close_chat(rid)
    finally:
        visitor.close()
        bob.close()


def test_an_agent_with_several_chats_names_one(stack, alice):
    jane, rid_jane, _ = start_chat(stack, alice, "Jane Doe", email=JANE)
    john, rid_john, _ = start_chat(stack, alice, "John Smith", email="john.smith@globex.example")
    dm = alice.dm(BOT)
    try:
        listing = stack.ask(alice, dm, "!salesforce cases", contains="2 open chats of yours match")
        assert "- Jane Doe · jane.doe@example.com: `!salesforce cases --chat jane.doe@example.com`" in listing["msg"]
        assert "- John Smith · john.smith@globex.example:" in listing["msg"] and rid_jane not in listing["msg"]
        ambiguous = stack.ask(alice, dm, "!salesforce contact --chat EXAMPLE", contains="open chats of yours match")
        assert "Jane Doe" in ambiguous["msg"] and "John Smith" in ambiguous["msg"]
        partial = stack.ask(alice, dm, "!salesforce contact --chat jan", contains="Contact: Jane Doe")
        assert partial["attachments"][0]["title"] == "Contact: Jane Doe"
        cases = stack.ask(
            alice, dm, "!salesforce cases --chat john.smith@globex.example", contains="Cases of John Smith"
        )
        assert "Server room cooling failure" in cases["msg"]
        named = stack.ask(alice, dm, f"!salesforce contact --chat {rid_jane}", contains="Contact: Jane Doe")
        assert named["attachments"][0]["title"] == "Contact: Jane Doe"
        stack.ask(alice, dm, "!salesforce refresh", contains="metadata reloaded")
        refreshed = stack.ask(alice, dm, "!salesforce refresh", contains="metadata reloaded")
        assert "it was last fetched" in refreshed["msg"]  # by the refresh before
        alice.close_chat(rid_jane)
        alice.close_chat(rid_john)
    finally:
        jane.close()
        john.close()


def test_a_contact_merged_away_during_the_chat_gives_way_to_the_survivor(stack, alice):
    """An admin merges duplicates while the chat is open: the contact the greeting found is deleted.
    The next case and the transcript go to the surviving contact; the agent is not asked to retry."""
    mia = stack.sf.insert("Contact", {"FirstName": "Mia", "LastName": "Merge", "Email": "mia@merge.example"})
    visitor, rid, mark = start_chat(stack, alice, "Mia Merge", email="mia@merge.example")
    try:
        alice.wait_for_reply(alice.dm(BOT), BOT, mark, contains="Mia Merge is already a Salesforce Contact")
        survivor = stack.sf.insert("Contact", {"FirstName": "Mia", "LastName": "Merge", "Email": "mia@merge.example"})
        stack.sf.delete("Contact", mia)
        created = stack.ask(alice, rid, '!salesforce create-case --subject "After the merge"', contains="created for")
        assert "created for Mia Merge" in text_of(created)
        [case] = records(stack, "Case", Subject="After the merge")
        assert case["ContactId"] == survivor
        visitor.say("thanks")
        alice.close_chat(rid)
        [task] = wait_until(lambda: records(stack, "Task", WhoId=survivor), what="the transcript Task")
    finally:
        visitor.close()
    assert task["WhatId"] == case["Id"] and "thanks" in task["Description"]
    assert records(stack, "Contact", Email="mia@merge.example") == [records(stack, "Contact", Id=survivor)[0]]
