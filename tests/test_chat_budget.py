"""The API budget guard's pure state (chat/budget.py) and its settings: API_BUDGET_PERCENT,
API_WARN_PERCENT (at most the budget) and ALERT_OUTBOX_AGE_MINUTES."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from salesforce_omnichannel.chat import config as plugin_config
from salesforce_omnichannel.chat.budget import ApiBudget


def kinds(budget: ApiBudget) -> list[tuple[str, bool]]:
    return [(n.kind, n.chat) for n in budget.notices()]


def test_unknown_usage_never_holds():
    budget = ApiBudget(90, 80)
    assert not budget.holding and budget.usage is None and budget.notices() == []
    assert "not known yet" in budget.describe()


def test_the_warning_line_is_told_once_per_crossing():
    budget = ApiBudget(90, 80)
    budget.observe(7_000, 10_000)
    assert kinds(budget) == [] and not budget.holding
    budget.observe(8_000, 10_000)  # reaches the line
    [notice] = budget.notices()
    assert notice.kind == "warn" and notice.chat
    assert "API_WARN_PERCENT (80%)" in notice.text and "8,000/10,000 calls in the last 24 hours (80%)" in notice.text
    assert "Fix:" in notice.text and "commands still run" in notice.text
    for used in (8_100, 8_500, 7_950, 8_050):  # above it, or hovering at it: no repeat
        budget.observe(used, 10_000)
    assert kinds(budget) == [] and not budget.holding
    budget.observe(7_800, 10_000)  # fell below the line (and its 1-point margin): re-armed
    budget.observe(8_200, 10_000)  # the next crossing
    assert kinds(budget) == [("warn", True)]


def test_a_jump_straight_past_the_budget_is_one_message_and_holds():
    budget = ApiBudget(90, 80)
    budget.observe(1_000, 10_000)
    budget.observe(9_500, 10_000)
    [notice] = budget.notices()
    assert budget.holding and notice.kind == "hold" and notice.chat
    assert "API_BUDGET_PERCENT (90%)" in notice.text and "holds closed chats" in notice.text
    assert "commands still run" in notice.text
    budget.observe(9_600, 10_000)
    assert kinds(budget) == []


def test_reaching_the_budget_after_the_warning_is_told_and_resuming_is_logged():
    budget = ApiBudget(90, 80)
    budget.observe(8_500, 10_000)
    assert kinds(budget) == [("warn", True)]
    budget.observe(9_000, 10_000)  # exactly at the budget: holding
    assert budget.holding and kinds(budget) == [("hold", True)]
    budget.observe(8_999, 10_000)  # below it: resumes at once
    assert not budget.holding and kinds(budget) == [("resume", False)]
    budget.observe(9_001, 10_000)  # holding again without having left the warning zone: logged, not told again
    assert budget.holding and kinds(budget) == [("hold", False)]
    budget.observe(5_000, 10_000)
    budget.observe(9_200, 10_000)  # a new crossing after usage fell well below: told again
    assert [k for k in kinds(budget) if k[1]] == [("hold", True)]


def test_describe_and_state_survive_a_restart():
    budget = ApiBudget(90, 80)
    budget.observe(9_100, 10_000)
    budget.notices()
    assert budget.describe().startswith("9100/10000 today (91%)") and "HOLDING" in budget.describe()
    again = ApiBudget(90, 80)
    again.restore(budget.state())
    again.observe(9_150, 10_000)  # the first figure after a restart: holding, already told
    assert again.holding and [n.chat for n in again.notices()] == [False]


def test_percent_shown_is_never_rounded_up_to_the_line():
    budget = ApiBudget(90, 80)
    budget.observe(8_999, 10_000)
    assert "(89%)" in budget.describe() and not budget.holding


def test_reconfiguring_the_lines_applies_to_the_figure_at_once():
    budget = ApiBudget(90, 80)
    budget.observe(9_300, 10_000)
    assert budget.holding
    budget.configure(95, 80)
    assert not budget.holding


# -- the settings --------------------------------------------------------------------------------
def test_the_new_keys_have_their_defaults_and_ranges():
    defaults = plugin_config.defaults(None, environ={})
    assert (defaults["API_BUDGET_PERCENT"], defaults["API_WARN_PERCENT"], defaults["ALERT_OUTBOX_AGE_MINUTES"]) == (
        90,
        80,
        30,
    )
    merged = plugin_config.validate(
        {"API_BUDGET_PERCENT": "95", "API_WARN_PERCENT": 95, "ALERT_OUTBOX_AGE_MINUTES": 1440}, defaults
    )
    assert (merged["API_BUDGET_PERCENT"], merged["API_WARN_PERCENT"], merged["ALERT_OUTBOX_AGE_MINUTES"]) == (
        95,
        95,
        1440,
    )
    for key, bad, words in (
        ("API_BUDGET_PERCENT", 0, "from 1 to 100"),
        ("API_BUDGET_PERCENT", 101, "from 1 to 100"),
        ("API_WARN_PERCENT", "lots", "whole number from 1 to 100"),
        ("ALERT_OUTBOX_AGE_MINUTES", 0, "from 1 to 1440"),
        ("ALERT_OUTBOX_AGE_MINUTES", 1441, "from 1 to 1440"),
    ):
        with pytest.raises(plugin_config.ConfigError, match=words):
            plugin_config.validate({key: bad}, defaults)


def test_a_warning_above_the_budget_is_refused_with_what_to_do():
    defaults = plugin_config.defaults(None, environ={})
    with pytest.raises(plugin_config.ConfigError) as refused:
        plugin_config.validate({"API_WARN_PERCENT": 95}, defaults)
    assert str(refused.value) == (
        "API_WARN_PERCENT (95) must not be above API_BUDGET_PERCENT (90): the admins are warned before the bot starts "
        "holding closed chats. Lower API_WARN_PERCENT or raise API_BUDGET_PERCENT (both from 1 to 100)."
    )
    with pytest.raises(plugin_config.ConfigError, match=r"API_WARN_PERCENT \(80\) must not be above"):
        plugin_config.validate({"API_BUDGET_PERCENT": 70}, defaults)
    both = plugin_config.validate({"API_BUDGET_PERCENT": 70, "API_WARN_PERCENT": 60}, defaults)
    assert (both["API_BUDGET_PERCENT"], both["API_WARN_PERCENT"]) == (70, 60)


def test_an_environment_warning_above_the_budget_warns_at_the_budget_and_is_a_setting_to_fix():
    env = {"SALESFORCE_API_BUDGET_PERCENT": "85", "SALESFORCE_API_WARN_PERCENT": "95"}
    defaults = plugin_config.defaults(None, environ=env)
    assert (defaults["API_BUDGET_PERCENT"], defaults["API_WARN_PERCENT"]) == (85, 85)
    plugin_config.validate({"POLL_SECONDS": 5}, defaults)  # other changes are not blocked by it
    [problem] = plugin_config.problems(defaults, None, environ=env)
    assert problem.startswith("SALESFORCE_API_WARN_PERCENT (95) must not be above API_BUDGET_PERCENT (85)")
    assert problem.endswith("Warning at 85% until it is fixed.")
    bot = SimpleNamespace(SALESFORCE_API_WARN_PERCENT=50)  # the bot's setting wins over the environment's
    assert plugin_config.problems(defaults, bot, environ=env) == []


# -- where the admins see it: status and the setup check ------------------------------------------
def test_status_shows_the_guard_and_the_alerts_on():
    from salesforce_omnichannel.chat import status as plugin_status
    from salesforce_omnichannel.chat.alerts import Facts
    from salesforce_omnichannel.chat.watchdog import Watchdog

    dog = Watchdog(lambda: 1_000_000.0)
    dog.configure({"API_BUDGET_PERCENT": 90, "API_WARN_PERCENT": 80})
    dog.budget.observe(9_100, 10_000)
    dog.alerts.review(Facts(quarantined=1, quarantined_items=(("R", "x"),)))
    config = {
        **plugin_config.BUILTIN_DEFAULTS,
        "CONSUMER_KEY": "3MVG9x",
        "USERNAME": "int@acme.example",
        "PRIVATE_KEY_FILE": "/k.pem",
    }
    info = {"reachable": True, "username": "int@acme.example", "api_usage": (9_100, 10_000)}
    plugin = SimpleNamespace(config=config, crm=lambda: SimpleNamespace(status=lambda: info), watchdog=dog)
    text = plugin_status.status_text(plugin, None)
    assert (
        "- API usage: 9100/10000 today (91%); warn at 80% (API_WARN_PERCENT), budget 90% (API_BUDGET_PERCENT): "
        "HOLDING closed chats and greeting look-ups until usage falls below 90%" in text
    )
    assert "- Alert since 1970-01-12 13:46 UTC: closed chats are quarantined (told to the bot admins)" in text


def test_the_setup_check_line_for_the_usage():
    from salesforce_omnichannel.chat.setupcheck import FAIL, OK, WARN, usage_finding

    reads: list[int] = []

    def read_usage():
        reads.append(1)
        return (1_200, 10_000)

    crm = SimpleNamespace(client=SimpleNamespace(read_usage=read_usage))
    budget = ApiBudget(90, 80)
    ok = usage_finding(crm, budget)  # not known yet: one read
    assert ok.mark == OK and reads == [1] and "1,200/10,000 calls in the last 24 hours (12%)" in ok.text
    budget.observe(8_300, 10_000)
    warned = usage_finding(crm, budget)
    assert warned.mark == WARN and "past the warning line" in warned.text and warned.fix and reads == [1]
    budget.observe(9_000, 10_000)
    failed = usage_finding(crm, budget)
    assert failed.mark == FAIL and "holds closed chats" in failed.line() and "raise API_BUDGET_PERCENT" in failed.fix
