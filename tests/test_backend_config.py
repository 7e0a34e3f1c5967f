"""config.py builds Errbot's settings from the environment and refuses incomplete ones with one line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from simulators.launch import ROOT

SHOW = (
    "import config, json; print(json.dumps({k: (list(v) if isinstance(v, tuple) else v) "
    "for k, v in vars(config).items() if k.isupper() and isinstance(v, (str, int, float, tuple, list, dict, type(None)))}))"
)


def load_config(env: dict, tmp_path) -> subprocess.CompletedProcess:
    base = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "BOT_DATA_DIR": str(tmp_path / "data")}
    return subprocess.run(
        [sys.executable, "-c", SHOW], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=30
    )


@pytest.mark.parametrize(
    "env,hint",
    [
        ({}, "ROCKETCHAT_URL"),
        ({"ROCKETCHAT_URL": "http://127.0.0.1:3000", "ROCKETCHAT_USER": "bot"}, "ROCKETCHAT_PASSWORD"),
        ({"ROCKETCHAT_URL": "http://127.0.0.1:3000", "ROCKETCHAT_USER_ID": "abc"}, "ROCKETCHAT_TOKEN"),
    ],
)
def test_a_missing_setting_exits_with_one_clear_line(env, hint, tmp_path):
    done = load_config(env, tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and hint in lines[0] and "Traceback" not in done.stderr


def test_password_login_settings(tmp_path):
    done = load_config(
        {
            "ROCKETCHAT_URL": "http://127.0.0.1:3000",
            "ROCKETCHAT_USER": "salesforce-bot",
            "ROCKETCHAT_PASSWORD": "pw",
            "BOT_ADMINS": "alice, @bob,,",
            "SALESFORCE_CONSUMER_KEY": "3MVG9",
            "SALESFORCE_PRIVATE_KEY_FILE": "/keys/sf.key",
            "SALESFORCE_NOT_A_KEY": "ignored",
        },
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    cfg = json.loads(done.stdout)
    assert cfg["BACKEND"] == "RocketChat"
    assert cfg["BOT_IDENTITY"] == {"server": "http://127.0.0.1:3000", "username": "salesforce-bot", "password": "pw"}
    assert cfg["BOT_ADMINS"] == ["@alice", "@bob"]
    assert cfg["BOT_ALT_PREFIXES"] == ["/", "@salesforce-bot"]
    assert cfg["BOT_ASYNC"] is True and cfg["BOT_LOG_FILE"] is None
    assert "VersionChecker" not in cfg["CORE_PLUGINS"] and "Webserver" not in cfg["CORE_PLUGINS"]
    assert cfg["SALESFORCE_CONSUMER_KEY"] == "3MVG9" and cfg["SALESFORCE_PRIVATE_KEY_FILE"] == "/keys/sf.key"
    assert "SALESFORCE_NOT_A_KEY" not in cfg and "SALESFORCE_USERNAME" not in cfg
    assert (tmp_path / "data").is_dir()
    assert cfg["BOT_EXTRA_PLUGIN_DIR"] == [str(ROOT / "plugins")]
    assert cfg["BOT_EXTRA_BACKEND_DIR"] == str(ROOT / "backends" / "rocketchat" / ".errbot")


def test_personal_access_token_settings(tmp_path):
    done = load_config(
        {
            "ROCKETCHAT_URL": "https://chat.example.com",
            "ROCKETCHAT_USER_ID": "uid1",
            "ROCKETCHAT_TOKEN": "pat",
            "ROCKETCHAT_BOT_NAME": "crm",
            "BOT_EXTRA_PLUGIN_DIR": str(tmp_path),
        },
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    cfg = json.loads(done.stdout)
    assert cfg["BOT_IDENTITY"] == {"server": "https://chat.example.com", "user_id": "uid1", "token": "pat"}
    assert cfg["BOT_ALT_PREFIXES"] == ["/", "@crm"]
    assert cfg["BOT_EXTRA_PLUGIN_DIR"] == [str(tmp_path)]


_LOGIN = {"ROCKETCHAT_URL": "http://127.0.0.1:3000", "ROCKETCHAT_USER": "bot", "ROCKETCHAT_PASSWORD": "pw"}


def test_a_standby_pair_shares_a_postgresql_state_url(tmp_path):
    done = load_config(
        {**_LOGIN, "STATE_URL": "postgresql://rcsf:s3cret@db:5432/rcsf", "LEASE_CHECK_SECONDS": "1.5"}, tmp_path
    )
    assert done.returncode == 0, done.stderr
    cfg = json.loads(done.stdout)
    assert cfg["STATE_URL"] == "postgresql://rcsf:s3cret@db:5432/rcsf" and cfg["LEASE_CHECK_SECONDS"] == 1.5
    alone = json.loads(load_config(_LOGIN, tmp_path).stdout)
    assert alone["STATE_URL"] is None and alone["LEASE_CHECK_SECONDS"] == 2.0  # the embedded SQLite store


@pytest.mark.parametrize(
    "env,hint",
    [
        ({"STATE_URL": "mysql://rcsf:s3cret@db/rcsf"}, "STATE_URL must be a postgresql:// URL"),
        ({"LEASE_CHECK_SECONDS": "0.1"}, "LEASE_CHECK_SECONDS"),
        ({"LEASE_CHECK_SECONDS": "soon"}, "LEASE_CHECK_SECONDS"),
    ],
)
def test_a_wrong_standby_setting_exits_with_one_clear_line(env, hint, tmp_path):
    done = load_config({**_LOGIN, **env}, tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and hint in lines[0] and "s3cret" not in done.stderr
