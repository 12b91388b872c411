"""The activity registry and retry policies: declared once, validated when declared."""

from datetime import timedelta

import pydantic
import pytest
from temporalio.common import RetryPolicy

from core import activities, retry
from core.activities import DEFAULT_START_TO_CLOSE, ActivityOptions


class Greeting(pydantic.BaseModel):
    name: str
    times: int = 1


@activities.defn(queue="registry-test")
async def registry_greet(input: Greeting) -> str:
    return f"hello {input.name}" * input.times


@activities.defn(
    name="registry.custom",
    queue="registry-test",
    retry="llm",
    start_to_close=timedelta(minutes=2),
    heartbeat=timedelta(seconds=10),
)
async def registry_custom() -> None:
    return None


def test_defaults_are_documented_ones() -> None:
    config = activities.get("registry_greet")
    assert config.queue == "registry-test"
    assert config.retry_policy == retry.STANDARD_RETRY
    assert config.start_to_close_timeout == DEFAULT_START_TO_CLOSE == timedelta(minutes=5)
    assert config.schedule_to_close_timeout is None
    assert config.input_type is Greeting
    assert config.output_type is str
    assert activities.config_of(registry_greet) is config


def test_explicit_config_and_named_policy() -> None:
    config = activities.get("registry.custom")
    assert config.retry_policy is retry.LLM_RETRY
    assert config.heartbeat_timeout == timedelta(seconds=10)
    assert config.input_type is None


def test_named_policies_match_the_design() -> None:
    assert retry.STANDARD_RETRY.initial_interval == timedelta(seconds=60)
    assert retry.STANDARD_RETRY.maximum_attempts == 4
    assert retry.LLM_RETRY.non_retryable_error_types == ["ValueError", "KeyError"]
    assert retry.WEBHOOK_RETRY.backoff_coefficient == 3.0
    assert retry.retry_policy("LLM") is retry.LLM_RETRY
    with pytest.raises(KeyError, match="unknown retry policy 'nope'; known policies: "):
        retry.retry_policy("nope")


def test_overrides_apply_to_a_copy() -> None:
    config = activities.get("registry_greet")
    options = config.execution_options(
        ActivityOptions.model_validate({"maximum_attempts": 1, "start_to_close_timeout": 3})
    )
    assert options["retry_policy"].maximum_attempts == 1
    assert options["start_to_close_timeout"] == timedelta(seconds=3)
    assert retry.STANDARD_RETRY.maximum_attempts == 4
    named = ActivityOptions.model_validate({"retry_policy": "webhook"})
    assert config.execution_options(named)["retry_policy"] == retry.WEBHOOK_RETRY


def test_input_is_validated_with_a_clear_message() -> None:
    config = activities.get("registry_greet")
    assert config.validate_input({"name": "ada"}) == Greeting(name="ada")
    with pytest.raises(ValueError, match=r"invalid input for activity 'registry_greet'.*name"):
        config.validate_input({"nom": "ada"})
    with pytest.raises(ValueError, match="needs an input of type Greeting"):
        config.validate_input(None)
    with pytest.raises(ValueError, match="takes no input"):
        activities.get("registry.custom").validate_input({"x": 1})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"heartbeat": timedelta(minutes=10)}, "heartbeat .* must be shorter than the run"),
        ({"start_to_close": timedelta(0)}, "start_to_close must be positive"),
        ({"retry": "nope"}, "unknown retry policy 'nope'"),
        ({"priority": 0}, r"priority must be 1 \(first\) to 5 \(last\), got 0"),
        ({"priority": 6}, "priority must be 1"),
        ({"fairness_key": ""}, "fairness_key must be 1 to 64 bytes"),
    ],
)
def test_bad_declarations_fail_when_declared(kwargs: dict[str, object], message: str) -> None:
    async def bad(input: Greeting) -> None: ...

    with pytest.raises(ValueError, match=message):
        activities.defn(name="registry.bad", queue="q", **kwargs)(bad)  # type: ignore[call-overload]


def test_one_input_argument_only() -> None:
    async def two(a: int, b: int) -> None: ...

    with pytest.raises(TypeError, match="takes 2 arguments; an activity takes one input model"):
        activities.defn(queue="q")(two)


def test_a_name_is_declared_once() -> None:
    async def registry_greet(input: Greeting) -> str:  # same name, other function
        return ""

    with pytest.raises(ValueError, match="activity name 'registry_greet' is declared twice"):
        activities.defn(queue="registry-test")(registry_greet)


def test_queue_is_required_outside_a_domain() -> None:
    async def orphan() -> None: ...

    with pytest.raises(ValueError, match=r"is not an installed domain's package .*; pass queue="):
        activities.defn(orphan)


def test_register_retry_policy_refuses_a_silent_redefinition() -> None:
    policy = RetryPolicy(maximum_attempts=2)
    assert retry.register_retry_policy("registry_test_policy", policy) is policy
    retry.register_retry_policy("registry_test_policy", RetryPolicy(maximum_attempts=2))
    with pytest.raises(ValueError, match="already defined differently"):
        retry.register_retry_policy("registry_test_policy", RetryPolicy(maximum_attempts=3))
