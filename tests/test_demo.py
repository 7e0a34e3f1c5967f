"""The one-command demo (`python -m demo`), run the way a test can: `--script FILE`, no terminal.

One run plays the walk-through against the real bot and the Salesforce plugin and checks what the
person at the console would see: the private greeting, the command answers, the transcript saved
in Salesforce, and no CRM data in the livechat room. Other runs check that Ctrl-C and SIGTERM stop
every process the demo started.
"""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from demo.render import render
from demo.session import CommandError, parse_open
from simulators.launch import ROOT

SCRIPT = """\
# the walk-through, with waits a slow machine needs
:open Jane Doe jane.doe@example.com
:visitor Hi, my last invoice shows the wrong VAT rate
:take
:wait is already a Salesforce Contact
:wait jane.doe@example.com
:click Calls
:wait Calls of Jane Doe
!salesforce contact
:wait Operations Manager
/salesforce cases
:wait Invoice shows the wrong VAT rate
!salesforce create-case --subject "Wrong VAT rate on the March invoice"
:wait Wrong VAT rate on the March invoice
:visitor !salesforce cases
:room chat
Thanks Jane, I opened a case for you.
:visitor Great, thank you!
:close
:open Sam Newman sam.newman@example.org
:take
:wait not a Salesforce Contact
:salesforce
!salesforce status
:wait Closed chats quarantined
"""


def _pids(output: str) -> list[int]:
    return [int(p) for p in re.findall(r"^  started .*: pid (\d+),", output, re.MULTILINE)]


def _survivors(run_dir: Path, pids: list[int]) -> list[str]:
    """Processes still alive that the demo started: by pid, or by the DEMO_RUN_DIR marker in their environment."""
    marker = f"DEMO_RUN_DIR={run_dir}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and (marker in environ.split(b"\0") or int(entry.name) in pids):
            found.append(f"{entry.name}: {cmdline}")
    return found


def _assert_nothing_left(run_dir: Path, output: str) -> None:
    pids = _pids(output)
    assert len(pids) == 3, output  # Salesforce simulator, Rocket.Chat simulator, the bot
    deadline = time.monotonic() + 10
    while (left := _survivors(run_dir, pids)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, left
    assert not (run_dir / "keys").exists(), "the demo's private key outlived the demo"


def _kill_survivors(run_dir: Path) -> None:
    for line in _survivors(run_dir, []):
        try:
            os.kill(int(line.split(":", 1)[0]), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


def _chat_lines(output: str, name: str) -> list[str]:
    """Every line shown as posted in the livechat room, i.e. what the visitor's widget shows."""
    return [line for line in output.splitlines() if line.startswith(f"[chat with {name}]")]


@pytest.mark.timeout(300)
def test_script_plays_the_walkthrough_against_the_real_bot(tmp_path):
    script = tmp_path / "walk.txt"
    script.write_text(SCRIPT)
    run_dir = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "demo", "--script", str(script), "--run-dir", str(run_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        stdin=subprocess.DEVNULL,
    )
    out = proc.stdout
    assert proc.returncode == 0, f"{out}\n--- stderr ---\n{proc.stderr}\n--- bot log ---\n{_tail(run_dir / 'bot.log')}"
    private = "salesforce-bot (PRIVATE, only alice sees this):"
    assert "Salesforce status" in out and "Closed chats waiting to be saved:" in out  # the demo can show status
    assert "alice clicks [Calls]" in out and "Calls of Jane Doe" in out  # a button, clicked from the console
    # The greeting on assignment: privately, in alice's DM with the bot.
    assert re.search(
        re.escape(private) + r"\n  \| Contact: Jane Doe .*\n  \| \*Jane Doe is already a Salesforce Contact\.\*\n"
        r"  \| Matched on email\.\n  \| Next: `!salesforce cases`",
        out,
    )  # one message: the card with the next steps
    assert re.search(r"\| Contact: Jane Doe .*\n(  \|.*\n)*  \|   Account: Acme Corporation", out)
    # `!salesforce contact` and `/salesforce cases` answer with the demo contact's data, privately.
    after_contact = out.split("demo> !salesforce contact", 1)[1].split("demo> /salesforce cases", 1)[0]
    assert "Title: Operations Manager" in after_contact and "Email: jane.doe@example.com" in after_contact
    after_cases = out.split("demo> /salesforce cases", 1)[1].split("demo> !salesforce create-case", 1)[0]
    assert f"{private} *Cases of Jane Doe*" in after_cases
    for number, subject in (
        ("00001001", "Printer jams on tray 2"),
        ("00001002", "Invoice shows the wrong VAT rate"),
        ("00001003", "Cannot log in to the customer portal"),
    ):
        assert number in after_cases and subject in after_cases
    assert "Case Origin: Chat" in out and "Subject: Wrong VAT rate on the March invoice" in out
    # Closing the chat: Salesforce now holds the new case and the transcript as a completed Task.
    saved = out.split("demo> :close", 1)[1].split("demo> :open Sam Newman", 1)[0]
    assert "Salesforce (simulator) holds for jane.doe@example.com:" in saved
    assert re.search(r"Case \d{8} \[New, Medium\] Wrong VAT rate on the March invoice  \[NEW\]", saved), saved
    task = re.search(r"  Task \w+ \[Completed\] (.*)\[NEW\]\n((?:      .*\n?)*)", saved)
    assert task, saved
    assert "Jane Doe" in task.group(1)
    transcript = task.group(2)
    assert "Hi, my last invoice shows the wrong VAT rate" in transcript
    assert "Thanks Jane, I opened a case for you." in transcript and "Great, thank you!" in transcript
    assert "/salesforce" not in transcript and "create-case" not in transcript  # the DM with the bot is not the chat
    # A stranger gets the other greeting, also privately.
    assert f"{private}\n  | *This is not a Salesforce Contact* (Sam Newman, sam.newman@example.org)" in out
    assert "  | [Create contact] posts: !salesforce create-contact --chat " in out  # its button, shown
    # The visitor's widget never showed CRM data: only their own chat, alice's answer and system lines.
    for name in ("Jane Doe", "Sam Newman"):
        for line in _chat_lines(out, name):
            assert not any(
                crm in line for crm in ("Acme", "0000100", "Operations Manager", "salesforce-bot", "lightning")
            ), line
    assert len(_chat_lines(out, "Jane Doe")) >= 5
    # A visitor typing a command gets nothing: the bot never answers a visitor.
    after_visitor_command = out.split("demo> :visitor !salesforce cases", 1)[1].split("demo> ", 1)[0]
    assert "salesforce-bot" not in after_visitor_command, after_visitor_command
    _assert_nothing_left(run_dir, out)
    assert "Everything stopped." in out


def _tail(path: Path, lines: int = 60) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else "(no log)"


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    ("signum", "trigger"),
    [
        (signal.SIGINT, "demo> :sleep"),
        (signal.SIGTERM, "demo> :sleep"),
        (signal.SIGHUP, "demo> :sleep"),  # the terminal was closed
        (signal.SIGINT, "  waiting for the bot to connect"),  # Ctrl-C while the bot is still starting
    ],
    ids=["ctrl-c", "sigterm", "sighup", "ctrl-c-while-starting"],
)
def test_a_signal_stops_everything_it_started(tmp_path, signum, trigger):
    script = tmp_path / "idle.txt"
    script.write_text(":open Jane Doe jane.doe@example.com\n:take\n:sleep 300\n")
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "demo", "--script", str(script), "--run-dir", str(run_dir)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    lines: list[str] = []
    triggered = threading.Event()

    def read() -> None:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith(trigger):
                triggered.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert triggered.wait(150), "".join(lines)
        proc.send_signal(signum)
        try:
            code = proc.wait(60)
        except subprocess.TimeoutExpired:
            pytest.fail("the demo did not stop within 60 s of the signal; its output:\n" + "".join(lines))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            _kill_survivors(run_dir)  # a demo killed here cannot stop its children: the test does
    reader.join(5)
    out = "".join(lines)
    assert code == 130, out
    assert "Interrupted: stopping everything" in out and "Everything stopped." in out
    assert len(re.findall(r"^  stopped .*\(pid \d+, exit", out, re.MULTILINE)) == 3, out
    _assert_nothing_left(run_dir, out)


@pytest.mark.timeout(300)
def test_closing_its_terminal_stops_everything_even_though_nothing_can_be_printed(tmp_path):
    """The terminal goes away (its pty master closed, then SIGHUP): every write fails with EIO, and
    the demo must still stop all three processes."""
    script = tmp_path / "idle.txt"
    script.write_text(":open Jane Doe jane.doe@example.com\n:take\n:sleep 300\n")
    run_dir = tmp_path / "run"
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "demo", "--script", str(script), "--run-dir", str(run_dir)],
        cwd=ROOT,
        stdout=slave,
        stderr=slave,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    os.close(slave)
    out = b""
    try:
        deadline = time.monotonic() + 150
        while b"demo> :sleep" not in out and time.monotonic() < deadline:
            if select.select([master], [], [], 1)[0]:
                out += os.read(master, 65536)
        assert b"demo> :sleep" in out, out.decode(errors="replace")
        os.close(master)  # the terminal window is gone
        master = -1
        proc.send_signal(signal.SIGHUP)
        proc.wait(60)
    finally:
        if master >= 0:
            os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = out.decode(errors="replace").replace("\r\n", "\n")
    _assert_nothing_left(run_dir, text)


@pytest.mark.timeout(300)
def test_a_failing_line_ends_the_script_with_a_non_zero_status(tmp_path):
    script = tmp_path / "bad.txt"
    script.write_text("!echo first\n:take\n!echo never sent\n")
    run_dir = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "demo", "--script", str(script), "--run-dir", str(run_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "salesforce-bot (PRIVATE, only alice sees this): first" in proc.stdout
    assert "! no chat yet" in proc.stdout and "script failed at bad.txt:2: :take" in proc.stdout
    assert "never sent" not in proc.stdout.split("script failed", 1)[1]
    _assert_nothing_left(run_dir, proc.stdout)


def test_a_missing_script_is_one_clear_line():
    proc = subprocess.run(
        [sys.executable, "-m", "demo", "--script", "no/such/file.txt"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == "no such script: no/such/file.txt"


def test_open_takes_a_name_of_several_words_then_email_and_phone():
    assert parse_open(["Jane", "Doe", "jane.doe@example.com"]) == ("Jane Doe", "jane.doe@example.com", None)
    assert parse_open(["Luis", "García", "luis@x.example", "+34", "912", "345", "678"]) == (
        "Luis García",
        "luis@x.example",
        "+34 912 345 678",
    )
    assert parse_open(["Tom", "+44", "20", "7946", "0958"]) == ("Tom", None, "+44 20 7946 0958")
    with pytest.raises(CommandError):
        parse_open(["jane@example.com"])


def test_a_card_from_the_bot_in_a_dm_reads_as_private_with_its_fields():
    message = {
        "_id": "m1",
        "msg": "",
        "u": {"username": "salesforce-bot"},
        "attachments": [
            {
                "title": "Contact: Jane Doe",
                "title_link": "https://sf.example/003",
                "text": "Matched on email.",
                "fields": [{"title": "Email", "value": "jane.doe@example.com"}],
            }
        ],
    }
    lines = render(message, {"roomType": "d", "roomName": ""}, "alice")
    assert lines[0] == "[DM alice <-> salesforce-bot] salesforce-bot (PRIVATE, only alice sees this):"
    assert lines[1:] == [
        "  | Contact: Jane Doe  <https://sf.example/003>",
        "  | Matched on email.",
        "  |   Email: jane.doe@example.com",
        "  +--",
    ]
    visitor = {"_id": "m2", "msg": "Hi", "token": "t", "u": {"username": "guest-1", "name": "Jane Doe"}}
    assert render(visitor, {"roomType": "l", "roomName": "Jane Doe"}, "alice") == [
        "[chat with Jane Doe] Jane Doe (visitor): Hi"
    ]


def test_printing_never_waits_for_ever_on_a_lock_an_interrupt_left_held():
    """A signal raised just as one emit took the output lock can leave it held; the stop that follows
    must still print (and so go on to stop every child)."""
    import io

    from demo.console import Output

    out = Output(io.StringIO(), interactive=False)
    out.LOCK_WAIT = 0.2
    out.lock.acquire()  # as an interrupted emit leaves it
    out.emit(["Interrupted: stopping everything ..."])
    assert out.stream.getvalue() == "Interrupted: stopping everything ...\n"
    assert out.lock.locked()  # not released by the emit that did not take it
