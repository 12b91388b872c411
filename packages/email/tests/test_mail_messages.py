"""Building messages: templates, addresses, headers, and what SMTP replies mean."""

from __future__ import annotations

import pytest
from temporalio.exceptions import ApplicationError

from mail.addresses import normalize
from mail.compose import build_message, message_id_for, unsubscribe_url
from mail.smtp import classify
from mail.templating import render


def test_a_template_renders_an_escaped_html_part_a_text_part_and_a_subject() -> None:
    rendered = render(
        "welcome",
        {"name": "<Ada & co>", "login_url": "https://app.example/login"},
        unsubscribe_url="https://app.example/u?e=ada",
    )
    assert rendered.subject == "Welcome to Lanes, <Ada & co>"
    assert "Hello <Ada & co>," in rendered.text  # the text part is not HTML: no escaping
    assert rendered.html is not None
    assert "Hello &lt;Ada &amp; co&gt;," in rendered.html
    assert 'href="https://app.example/u?e=ada"' in rendered.html


def test_a_context_its_model_rejects_is_a_non_retryable_error_naming_the_field() -> None:
    with pytest.raises(ApplicationError) as caught:
        render("welcome", {"name": "Ada", "login_url": "not a url"}, unsubscribe_url="x")
    assert caught.value.non_retryable and caught.value.type == "InvalidMessage"
    assert "login_url" in caught.value.message
    with pytest.raises(ApplicationError, match=r"unknown template 'nope'.*welcome"):
        render("nope", {}, unsubscribe_url="x")


def test_addresses_are_validated_without_dns() -> None:
    assert normalize(" Ada@Example.COM ") == "Ada@example.com"
    with pytest.raises(ApplicationError) as caught:
        normalize("ada@@example.com")
    assert caught.value.non_retryable and caught.value.type == "InvalidAddress"
    assert "ada@@example.com" in caught.value.message


def test_the_message_id_is_the_same_for_every_attempt_of_one_key() -> None:
    first = message_id_for("welcome:42", "Lanes <news@lanes.example>")
    assert first == message_id_for("welcome:42", "news@lanes.example")
    assert first != message_id_for("welcome:43", "news@lanes.example")
    assert first.endswith("@lanes.example>")


def test_messages_carry_list_unsubscribe() -> None:
    link = unsubscribe_url("https://app.example/u?e={email}", "a+b@x.example", "n@lanes.example")
    assert link == "https://app.example/u?e=a%2Bb%40x.example"
    message = build_message(
        to="a+b@x.example",
        sender="n@lanes.example",
        subject="Hi",
        text="text",
        html="<p>html</p>",
        message_id="<1@lanes.example>",
        unsubscribe=link,
    )
    assert message["List-Unsubscribe"] == f"<{link}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    mailto = unsubscribe_url(None, "a@x.example", "Lanes <n@lanes.example>")
    assert mailto == "mailto:unsubscribe@lanes.example?subject=unsubscribe"


@pytest.mark.parametrize(
    ("code", "text", "verdict"),
    [
        (421, "4.3.2 Service shutting down", "temporary"),
        (451, "4.7.1 Greylisted", "temporary"),
        (550, "5.1.1 <x@y>: Recipient address rejected: User unknown", "no_such_user"),
        (550, "No such user here", "no_such_user"),
        (553, "5.1.3 Bad recipient address syntax", "no_such_user"),
        (550, "5.7.1 Message rejected as spam", "permanent"),
        (554, "Transaction failed", "permanent"),
        (552, "5.2.2 Mailbox full", "permanent"),
    ],
)
def test_what_an_smtp_reply_means(code: int, text: str, verdict: str) -> None:
    assert classify(code, text) == verdict
