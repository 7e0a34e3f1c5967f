"""An Errbot operator adds the plugin to a bot of their own, without this repository's config.py:
by copying `plugins/salesforce` into BOT_EXTRA_PLUGIN_DIR, or with `!repos install` of this whole
repository. Each bot runs on Errbot's own Test backend (no Omnichannel) in a
separate Python process whose path holds nothing of this repository."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from errbot.utils import collect_roots

from simulators.launch import ROOT

OPERATOR_BOT = textwrap.dedent('''
    """An operator's bot on Errbot's Test backend; prints each reply as a JSON line."""
    import json, logging, sys
    from errbot.backends.test import TestBot

    plugin_dir, index_file, commands = sys.argv[1], sys.argv[2], sys.argv[3:]
    bot = TestBot(extra_plugin_dir=plugin_dir or None, loglevel=logging.INFO,
                  extra_config={"BOT_PLUGIN_INDEXES": index_file, "BOT_ADMINS": ("gbin@localhost",)})
    bot.start()
    try:
        for command in commands:
            bot.push_message(command)
            replies = []
            installing = command.startswith("!repos install")
            while True:
                try:
                    replies.append(bot.pop_message(timeout=120 if installing else (20 if not replies else 3)))
                except Exception:
                    break
                if installing and ("Plugins reloaded" in replies[-1] or "Error" in replies[-1]):
                    break
            print(json.dumps({"command": command, "replies": replies}), flush=True)
    finally:
        bot.stop()
''')


def run_operator_bot(
    tmp_path: Path, plugin_dir: str, commands: list[str], env: dict[str, str], python: str = sys.executable
) -> tuple[list[dict], str]:
    """Run the operator's Test-backend bot with PYTHON (another virtual environment's, for a pip install)."""
    script = tmp_path / "operator_bot.py"
    script.write_text(OPERATOR_BOT)
    index = tmp_path / "index.json"
    index.write_text("{}")  # offline: Errbot reads its plugin index even for a direct URL
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith(("SALESFORCE_", "PYTHONPATH"))}
    clean_env.update(env)
    proc = subprocess.run(
        [python, "-I", str(script), plugin_dir, str(index), *commands],
        cwd=tmp_path,
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    replies = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert proc.returncode == 0, proc.stderr[-3000:]
    return replies, proc.stderr


def salesforce_env(sim) -> dict[str, str]:
    """The operator configures the plugin through the environment (no config.py of ours)."""
    return {
        "SALESFORCE_CONSUMER_KEY": sim.consumer_key,
        "SALESFORCE_USERNAME": sim.username,
        "SALESFORCE_AUTH_URL": sim.url + "/services/oauth2/token",
        "SALESFORCE_AUDIENCE": "https://login.salesforce.com",
        "SALESFORCE_PRIVATE_KEY_FILE": str(sim.key_path),
        "SALESFORCE_CA_BUNDLE": sim.ca_cert,
    }


def test_a_copied_plugin_works_in_an_operators_bot_on_the_test_backend(tmp_path, start_sf_sim):
    sim = start_sf_sim("demo")
    plugins = tmp_path / "operator-plugins"
    shutil.copytree(
        ROOT / "plugins" / "salesforce", plugins / "salesforce", ignore=shutil.ignore_patterns("__pycache__")
    )
    replies, log = run_operator_bot(
        tmp_path,
        str(plugins),
        [
            "!salesforce help",
            "!salesforce contact jane.doe@example.com",
            "!salesforce cases +1 415 555 0134",
            "!salesforce contact",
            "!salesforce cases --contact jane.doe@example.com",
            "!salesforce activities calls --contact '+1 (415) 555-0134'",
            '!salesforce create-case --subject "Printer on fire" --contact john.smith@globex.example',
            "!salesforce create-case --subject Orphan",
        ],
        salesforce_env(sim),
    )
    by_command = {r["command"]: "\n".join(r["replies"]) for r in replies}
    assert "!salesforce create-case" in by_command["!salesforce help"]
    card = by_command["!salesforce contact jane.doe@example.com"]
    assert "Contact: Jane Doe" in card and "- Email: jane.doe@example.com" in card and "Acme Corporation" in card
    assert "{: color=" not in card and "| Name | Email" not in card  # plain fields, not Errbot's one-line table
    assert "Invoice shows the wrong VAT rate" in by_command["!salesforce cases +1 415 555 0134"]
    assert "Outside a chat, name the person with --contact EMAIL|PHONE|ID" in by_command["!salesforce contact"]
    assert "Invoice shows the wrong VAT rate" in by_command["!salesforce cases --contact jane.doe@example.com"]
    assert "Calls of Jane Doe" in by_command["!salesforce activities calls --contact '+1 (415) 555-0134'"]
    created = by_command['!salesforce create-case --subject "Printer on fire" --contact john.smith@globex.example']
    assert "created for John Smith" in created and "Printer on fire" in created
    assert "--contact EMAIL|PHONE|ID" in by_command["!salesforce create-case --subject Orphan"]
    assert "No Omnichannel on this backend" in log  # the pollers stay quiet instead of failing
    assert "Traceback" not in log and "BEGIN" not in log


def repository_copy(dest: Path) -> Path:
    """This repository as an operator would clone it: its tracked files (and new ones not ignored) in a git
    repository of their own, so nothing built or run here (venvs, data, wheels) comes along."""
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / name, dest / name)
    git = ["git", "-c", "user.name=ops", "-c", "user.email=ops@example.com", "-c", "init.defaultBranch=main"]
    subprocess.run([*git, "init", "-q", str(dest)], check=True)
    subprocess.run([*git, "-C", str(dest), "add", "."], check=True)
    subprocess.run([*git, "-C", str(dest), "commit", "-qm", "errbot-salesforce-omnichannel"], check=True)
    return dest


def test_errbots_plugin_scan_of_the_repository_finds_the_salesforce_plugin_alone(tmp_path):
    repo = repository_copy(tmp_path / "repo")
    assert collect_roots([str(repo)]) == [str(repo / "plugins" / "salesforce")]
    assert sorted(p.relative_to(repo).as_posix() for p in repo.glob("**/*.plug")) == [
        "backends/rocketchat/.errbot/rocketchat.plug",  # hidden: only BOT_EXTRA_BACKEND_DIR or the wheel names it
        "plugins/salesforce/salesforce.plug",
    ]


def test_repos_install_of_the_whole_repository_offline(tmp_path, start_sf_sim):
    sim = start_sf_sim("demo")
    repo = repository_copy(tmp_path / "errbot-salesforce-omnichannel")
    replies, log = run_operator_bot(
        tmp_path,
        "",
        [f"!repos install {repo}", "!salesforce contact priya@initech.example", "!status plugins"],
        salesforce_env(sim),
    )
    by_command = {r["command"]: "\n".join(r["replies"]) for r in replies}
    installed = by_command[f"!repos install {repo}"]
    assert "installed correctly" in installed and "errors" not in installed and "Removing" not in installed
    assert "Contact: Priya Patel" in by_command["!salesforce contact priya@initech.example"]
    plugins = by_command["!status plugins"]
    assert re.search(r"\bA\W+Salesforce\b", plugins), plugins  # activated
    assert "RocketChat" not in plugins and "Probe" not in plugins
    assert "Traceback" not in log


def test_settings_to_fix_are_named_in_the_log_in_status_and_to_the_admins(tmp_path, start_sf_sim):
    sim = start_sf_sim("demo")
    plugins = tmp_path / "operator-plugins"
    shutil.copytree(
        ROOT / "plugins" / "salesforce", plugins / "salesforce", ignore=shutil.ignore_patterns("__pycache__")
    )
    env = salesforce_env(sim)
    env.update(SALESFORCE_POLL_SECONDS="abc", SALESFORCE_CA_BUNDLE=str(tmp_path / "missing-ca.pem"))
    replies, log = run_operator_bot(
        tmp_path, str(plugins), ["!salesforce status", "!salesforce contact jane.doe@example.com"], env
    )
    by_command = {r["command"]: "\n".join(r["replies"]) for r in replies}
    status = by_command["!salesforce status"]
    assert "Setting to fix: the environment's SALESFORCE_POLL_SECONDS is ignored" in status and "Using 30" in status
    assert f"CA_BUNDLE names {tmp_path / 'missing-ca.pem'}, which does not exist" in status
    assert (
        "CA_BUNDLE names" in by_command["!salesforce contact jane.doe@example.com"]
    )  # the agent is told what, not "OSError"
    assert "Salesforce setting to fix: the environment's SALESFORCE_POLL_SECONDS" in log
    assert "Something went wrong" not in "\n".join(by_command.values()) and "Traceback" not in log
