"""The plugin and the backend as pip-installable distributions: wheels built from this repository,
installed into a fresh virtual environment holding only Errbot, found by Errbot through their entry
points, and a lookup answered against the Salesforce simulator. A second plugin with modules named
`crm.py` and `phones.py` runs beside ours in the same bot."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from test_plugin_install import run_operator_bot, salesforce_env

from simulators.launch import ROOT

ERRBOT_VERSION = "6.2.1"

OTHER_PLUGIN = {
    "other.plug": "[Core]\nName = Other\nModule = other\n\n[Python]\nVersion = 3\n",
    "other.py": textwrap.dedent('''
        """A plugin of someone else's, with helper modules whose names ours once had."""
        from errbot import BotPlugin, botcmd

        import crm
        import phones


        class Other(BotPlugin):
            @botcmd
            def other(self, msg, args):
                return f"other plugin: {crm.WHO} {phones.WHAT}"
    '''),
    "crm.py": 'WHO = "their crm"\n',
    "phones.py": 'WHAT = "their phones"\n',
}


def build_wheel(source: Path, out: Path) -> Path:
    """`pip wheel` of SOURCE (a copy, so the build leaves nothing in the repository)."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return next(out.glob("*.whl"))


@pytest.fixture(scope="module")
def operator_venv(tmp_path_factory):
    """A fresh virtual environment with Errbot (and pytest, for its Test backend) and the two wheels: nothing
    else of this repository."""
    base = tmp_path_factory.mktemp("packaging")
    plugin_src, backend_src, wheels = base / "plugin-src", base / "backend-src", base / "wheels"
    (plugin_src / "plugins").mkdir(parents=True)
    shutil.copy(ROOT / "pyproject.toml", plugin_src)
    shutil.copy(ROOT / "README.md", plugin_src)
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "plugins" / "salesforce", plugin_src / "plugins" / "salesforce", ignore=ignore)
    shutil.copytree(ROOT / "backends" / "rocketchat", backend_src, ignore=ignore)
    plugin_wheel, backend_wheel = build_wheel(plugin_src, wheels), build_wheel(backend_src, wheels)
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    # pytest only because Errbot's Test backend, which the operator's bot here runs on, imports it
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            f"errbot=={ERRBOT_VERSION}",
            "pytest",
            str(plugin_wheel),
            str(backend_wheel),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return python, base


def test_the_wheels_hold_the_plugin_the_package_and_the_backend(operator_venv):
    python, _ = operator_venv
    site = subprocess.run(
        [
            str(python),
            "-c",
            "import errbot_salesforce, salesforce_omnichannel, errbot_backend_rocketchat, "
            "os; print(os.path.dirname(errbot_salesforce.__path__[0]))",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert (Path(site) / "errbot_salesforce" / "salesforce.plug").is_file()
    assert (Path(site) / "errbot_backend_rocketchat" / ".errbot" / "rocketchat.plug").is_file()
    assert not (Path(site) / "crm.py").exists() and not (Path(site) / "phones.py").exists()


def test_errbot_finds_the_backend_through_its_entry_point(operator_venv, tmp_path):
    python, _ = operator_venv
    errbot = python.with_name("errbot")
    subprocess.run([str(errbot), "--init"], cwd=tmp_path, check=True, capture_output=True, text=True, timeout=120)
    listed = subprocess.run([str(errbot), "-l"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert "RocketChat" in listed.stdout, listed.stdout + listed.stderr
    loaded = subprocess.run(
        [
            str(python),
            "-I",
            "-c",
            "import inspect, sys; from errbot.backend_plugin_manager import BackendPluginManager; "
            "from errbot.core import ErrBot; "
            "m = BackendPluginManager(None, 'errbot.backends', 'RocketChat', ErrBot, '/nonexistent'); "
            "info = m.plugin_info; "
            "sys.path.append(str(info.location.parent)); "
            "classes = info.load_plugin_classes('errbot.backends', ErrBot); "
            "print(classes[0][0], inspect.getfile(classes[0][1]))",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    name, _, where = loaded.stdout.strip().partition(" ")
    assert name == "RocketChatBackend", loaded.stdout + loaded.stderr
    assert where.endswith("errbot_backend_rocketchat/rocketchat.py")  # the wheel's code, through its hidden .plug


def test_a_pip_installed_plugin_answers_a_lookup_beside_a_plugin_with_a_crm_module(
    operator_venv, tmp_path, start_sf_sim
):
    python, _ = operator_venv
    sim = start_sf_sim("demo")
    other = tmp_path / "other-plugins" / "other"
    other.mkdir(parents=True)
    for name, text in OTHER_PLUGIN.items():
        (other / name).write_text(text)
    replies, log = run_operator_bot(
        tmp_path,
        str(other.parent),
        ["!salesforce contact jane.doe@example.com", "!other", "!salesforce help"],
        salesforce_env(sim),
        python=str(python),
    )
    by_command = {r["command"]: "\n".join(r["replies"]) for r in replies}
    assert "Contact: Jane Doe" in by_command["!salesforce contact jane.doe@example.com"]
    assert "other plugin: their crm their phones" in by_command["!other"]
    assert "create-case" in by_command["!salesforce help"]
    assert "Traceback" not in log and "failed to load" not in log.lower()
