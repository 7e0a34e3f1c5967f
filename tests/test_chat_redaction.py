"""Key material redacted from every log record."""

from __future__ import annotations

import logging

import pytest
from unit_helpers import BASE64_RUN, BEGIN_RSA_KEY, PEM

from salesforce_omnichannel.chat import redaction as log_redaction


def test_redact_pem_block_and_long_base64():
    text = f"config {{'CONSUMER_KEY': '{PEM}'}} done"
    cleaned = log_redaction.redact(text)
    assert "MIIEvQ" not in cleaned and "BEGIN" not in cleaned and "END PRIVATE" not in cleaned
    assert cleaned.startswith("config {'CONSUMER_KEY': '") and cleaned.endswith("'} done")
    assert log_redaction.REDACTED in cleaned
    cleaned = log_redaction.redact(f"key={BASE64_RUN}== tail")
    assert cleaned == f"key={log_redaction.REDACTED} tail"


def test_redact_unterminated_pem_blanks_the_rest():
    cleaned = log_redaction.redact(f"paste: {BEGIN_RSA_KEY}\nMIIEow\nAAAA")
    assert cleaned == f"paste: {log_redaction.REDACTED}"


@pytest.mark.parametrize(
    "text",
    [
        "Processing command 'salesforce_contact' with parameters 'jane@example.com'",
        "https://acme.my.salesforce.com/services/data/v59.0/sobjects/Contact/003000000000001AAA",
        "a" * 119,
        "--- a dashed line ---",
        "",
    ],
)
def test_ordinary_text_is_untouched(text):
    assert log_redaction.redact(text) == text


def test_filter_rewrites_a_record_with_args_and_its_exc_text():
    record = logging.LogRecord(
        "errbot.core",
        logging.INFO,
        __file__,
        1,
        "Processing command %s with parameters %r",
        ("plugin_config", PEM),
        None,
    )
    record.exc_text = f"Traceback ...\nValueError: {BASE64_RUN}"
    assert log_redaction.RedactKeyMaterial().filter(record) is True
    assert record.args == ()
    assert "MIIEvQ" not in record.getMessage() and log_redaction.REDACTED in record.getMessage()
    assert record.getMessage().startswith("Processing command plugin_config with parameters ")
    assert "MIIEvQ" not in record.exc_text and record.exc_text.startswith("Traceback ...")


def test_filter_leaves_clean_records_and_malformed_ones_alone():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    assert log_redaction.RedactKeyMaterial().filter(record)
    assert record.msg == "hello %s" and record.args == ("world",)
    broken = logging.LogRecord("x", logging.INFO, __file__, 1, "two %s %s", ("one",), None)
    assert log_redaction.RedactKeyMaterial().filter(broken) is True
    assert broken.args == ("one",)


def test_install_is_idempotent_and_redacts_through_a_handler():
    logger = logging.getLogger("errbot.core")
    before = list(logger.filters)
    try:
        log_redaction.install()
        log_redaction.install()
        assert sum(isinstance(f, log_redaction.RedactKeyMaterial) for f in logger.filters) == 1
    finally:
        logger.filters[:] = before
        for handler in logging.getLogger().handlers:
            handler.filters[:] = [f for f in handler.filters if not isinstance(f, log_redaction.RedactKeyMaterial)]
