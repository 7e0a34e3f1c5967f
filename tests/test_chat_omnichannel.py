"""The Rocket.Chat backend provides the Omnichannel interface the plugin names (chat/omnichannel.py),
without either half importing the other."""

from __future__ import annotations

import datetime as dt
import inspect
from pathlib import Path

import rc_omnichannel

from salesforce_omnichannel.chat import omnichannel as interface

ROOT = Path(__file__).resolve().parents[1]
T0 = dt.datetime(2026, 3, 2, 9, tzinfo=dt.timezone.utc)


def test_the_backend_classes_fit_the_protocols():
    room = rc_omnichannel.LivechatRoom("R1", "Jane", True, "v1", "tok", "Jane", "a1", "alice", T0, T0, T0, None, None)
    assert isinstance(room, interface.LivechatRoom)
    assert isinstance(rc_omnichannel.Visitor("v1", "tok", "guest", "Jane"), interface.Visitor)
    assert isinstance(rc_omnichannel.TranscriptLine(T0, "Jane", "visitor", "hi"), interface.TranscriptLine)
    omni = rc_omnichannel.Omnichannel(None, lambda r: None, lambda r: None, lambda: None)
    assert isinstance(omni, interface.Omnichannel)


def test_every_method_of_the_interface_takes_the_same_arguments_in_the_backend():
    for name, method in inspect.getmembers(interface.Omnichannel, inspect.isfunction):
        if name.startswith("_"):
            continue
        ours = list(inspect.signature(method).parameters)
        theirs = list(inspect.signature(getattr(rc_omnichannel.Omnichannel, name)).parameters)
        assert ours == theirs[: len(ours)], name


def test_neither_half_imports_the_other():
    backend = "\n".join(p.read_text() for p in (ROOT / "backends" / "rocketchat").glob("*.py"))
    plugin = "\n".join(p.read_text() for p in (ROOT / "plugins" / "salesforce").rglob("*.py"))
    assert "salesforce_omnichannel" not in backend.replace("salesforce_omnichannel/chat/omnichannel.py", "")
    assert "import rc_" not in plugin and "from rc_" not in plugin
