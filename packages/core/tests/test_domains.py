"""Domains are found by entry point; a bad declaration is a clear startup error."""

import pytest

from core import domains
from core.domains import DomainError


def test_every_domain_is_installed_under_its_queue_name() -> None:
    assert domains.installed() == {
        "analysis": "analysis",
        "email": "mail",
        "operations": "operations",
        "sync": "sync",
    }
    email = domains.load("email")
    assert email.task_queue == "email" and email.package == "mail"


def test_an_unknown_domain_says_what_is_installed() -> None:
    with pytest.raises(DomainError, match=r"domain 'billing' is not installed \(installed: "):
        domains.load("billing")


def test_included_modules_add_activities_for_that_queue() -> None:
    loaded = domains.load("sync", include=["slow_activity"])
    assert "test.slow_step" in [c.name for c in loaded.activities]
    assert "test.slow_step" not in [c.name for c in domains.load("email").activities]
