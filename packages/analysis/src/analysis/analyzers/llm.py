"""The LLM analyzer: pydantic-ai over any OpenAI-compatible chat-completions API.

The model answers in :class:`~analysis.schema.CommitInsight` through *tool output*: it is offered
one ``final_result`` tool whose JSON schema is the output model's, and the tool call's arguments
are validated by pydantic. Each analysis is one request through pydantic-ai's direct API
(:func:`pydantic_ai.direct.model_request` on a shared ``OpenAIChatModel``), reported to the usage
table with its tokens, latency and outcome.

**Why the direct API, not ``Agent.run``.** An analysis is one structured answer and no tools
to run, which is what the direct API does; the agent's graph around the same request (run
context, capability hooks, event streams, a price lookup per response) cost more CPU than the
request itself, and a worker's CPU per call is what bounds its calls per second (see
docs/analysis.md, Throughput). Built once
per analyzer and shared by every call: the OpenAI client and its connection pool, the pydantic-ai
model and provider, and per output model the request parameters (the ``final_result`` tool and
its JSON schema).

**Retries belong to Temporal.** The OpenAI client is built with ``max_retries=0``: a 5xx or a
timeout ends the activity attempt and ``LLM_RETRY`` (30 s doubling, 6 attempts) decides, visibly
in the history. *Output* retries are a different thing and stay on, at
``LANES_LLM_OUTPUT_RETRIES`` (default 1): when the model's answer does not validate, the errors go
back to it as the tool call's result in the same conversation (what pydantic-ai's agent does), and
that is what fixes structured output in practice, for one more request; a Temporal retry would
resend the same prompt from scratch and pay again for every commit of the batch. Output still
invalid after that is non-retryable (``ModelOutputInvalid``): the same prompt will not do better
five more times.

**Errors, mapped to Temporal** (:meth:`LlmAnalyzer.classify`):

- 429 — the provider's ``Retry-After`` (or ``retry-after-ms``; :func:`rate_limit_delay`) is waited
  out *inside* the attempt, without holding a concurrency slot and without spending an attempt
  (the activity keeps heartbeating); a delay beyond ``LANES_LLM_MAX_RATE_LIMIT_WAIT`` ends the
  attempt with the server's delay as ``next_retry_delay``.
- 5xx, timeouts, dropped connections — retryable (``ModelServerError``, ``ModelUnavailable``).
- 400, 401, 403, 404, 422 — non-retryable ``ModelRequestRejected``: the key, the model name or
  the request is wrong, and retrying cannot fix it.

Every outcome, the failures included, is a row in ``analysis_model_calls`` with the reason.

Importing this module loads pydantic-ai and the OpenAI SDK, the domain's heaviest imports:
:func:`analysis.analyzers.current_analyzer` imports it only when a model is configured, in a
thread, so the built-in analyzer's workers never pay for it.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

import pydantic
from openai import AsyncOpenAI
from pydantic_ai.direct import model_request
from pydantic_ai.exceptions import ModelAPIError, ModelHTTPError, UnexpectedModelBehavior
from pydantic_ai.messages import (
    InstructionPart,
    ModelMessage,
    ModelRequest,
    RetryFeedbackPart,
    RetryInfo,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models import ModelRequestParameters
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider
from pydantic_ai.tools import ToolDefinition
from pydantic_ai.usage import RunUsage
from temporalio.exceptions import ApplicationError

from analysis.analyzers.base import CallRecord, CallRecorder
from analysis.schema import CommitData, CommitInsight, PullRequestData, PullRequestInsight
from analysis.settings import AnalysisSettings

__all__ = [
    "OUTPUT_INVALID",
    "PROMPT_VERSION",
    "RATE_LIMITED",
    "REQUEST_REJECTED",
    "LlmAnalyzer",
    "commit_prompt",
    "rate_limit_delay",
]

PROMPT_VERSION = "llm-1"
"""Bump when the instructions or prompts change: every commit is then analysed again."""

REQUEST_REJECTED = "ModelRequestRejected"
OUTPUT_INVALID = "ModelOutputInvalid"
RATE_LIMITED = "RateLimited"

_MAX_PATHS = 60
_MAX_MESSAGE = 4000

COMMIT_INSTRUCTIONS = """\
You analyse one git commit for an engineering team's records. From the commit message, the paths
it touched and its line counts, say what kind of work it is (Conventional Commits type), which
areas of the code base and which programming languages it touches, how large and how risky it is,
and summarise it in one line. Answer only through the result tool."""

PULL_REQUEST_INSTRUCTIONS = """\
You review one pull request for an engineering team. From its title, description and commits, say
what kind of work it is, summarise it, name the areas it touches, how risky merging it is, and what
a reviewer should look at first. Answer only through the result tool."""

OUTPUT_TOOL = "final_result"
"""The tool the model answers through (the name pydantic-ai's agent gives its output tool)."""

T = TypeVar("T", bound=pydantic.BaseModel)


def rate_limit_delay(
    status_code: int, headers: Mapping[str, str] | None, *, default: float, now: float | None = None
) -> float | None:
    """Seconds the provider asks to wait, or ``None`` when the answer is not a rate limit.

    ``retry-after-ms`` (OpenAI), then ``retry-after`` in seconds or as an HTTP date; a 429
    naming neither waits ``default``. Header names are matched case-insensitively.
    """
    if status_code != 429:
        return None
    lower = {k.lower(): v for k, v in (headers or {}).items()}
    millis = lower.get("retry-after-ms", "").strip()
    try:
        if millis:
            return max(float(millis) / 1000.0, 0.0)
    except ValueError:
        pass
    value = lower.get("retry-after", "").strip()
    if value:
        try:
            return max(float(value), 0.0)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                return default
            current = datetime.now(UTC).timestamp() if now is None else now
            return max(when.timestamp() - current, 0.0)
    return default


def commit_prompt(data: CommitData) -> str:
    """The user prompt for one commit: message, stats and (at most 60) paths."""
    paths = data.paths[:_MAX_PATHS]
    more = len(data.paths) - len(paths)
    files = data.files_changed if data.files_changed is not None else len(data.paths)
    lines = [
        f"Commit {data.sha} by {data.author_name or data.author_email}",
        f"Files changed: {files}; lines added: {_n(data.additions)}; "
        f"lines deleted: {_n(data.deletions)}",
        "Paths:",
        *(f"- {p}" for p in paths),
        *([f"- ... and {more} more"] if more > 0 else []),
        "Message:",
        data.message[:_MAX_MESSAGE],
    ]
    return "\n".join(lines)


def pull_request_prompt(data: PullRequestData) -> str:
    """The user prompt for one pull request."""
    lines = [
        f"Pull request #{data.number} ({data.state}) by {data.author or 'unknown'}",
        f"Title: {data.title}",
        "Description:",
        data.body[:_MAX_MESSAGE] or "(none)",
        f"Commits ({len(data.commits)}):",
        *(f"- {c.message.strip().splitlines()[0][:200] if c.message.strip() else c.sha}"
          for c in data.commits[:50]),
    ]  # fmt: skip
    return "\n".join(lines)


@dataclass(frozen=True)
class _Output(Generic[T]):
    """One kind of answer: the model it validates into and the request parameters that offer it
    as the ``final_result`` tool, built once per analyzer."""

    model: type[T]
    parameters: ModelRequestParameters

    @classmethod
    def of(cls, model: type[T], instructions: str) -> _Output[T]:
        tool = ToolDefinition(
            name=OUTPUT_TOOL,
            parameters_json_schema=model.model_json_schema(),
            description=model.__doc__,
            kind="output",
        )
        parameters = ModelRequestParameters(
            output_mode="tool",
            output_tools=[tool],
            allow_text_output=False,  # tool_choice "required": the answer is the tool call
            instruction_parts=[InstructionPart(instructions)],
        )
        return cls(model, parameters)

    def validate(self, call: ToolCallPart) -> T:
        """The call's arguments as the output model (raises ``pydantic.ValidationError``)."""
        if isinstance(call.args, str):
            return self.model.model_validate_json(call.args)
        return self.model.model_validate(call.args or {})


class LlmAnalyzer:
    """Analyses through one OpenAI-compatible model; see the module docstring."""

    prompt_version = PROMPT_VERSION

    def __init__(self, settings: AnalysisSettings, limit: asyncio.Semaphore) -> None:
        assert settings.llm_model is not None
        self.model = settings.llm_model
        self.name = f"llm:{settings.llm_model}"
        self._settings = settings
        self._limit = limit
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-set"
        client = AsyncOpenAI(
            base_url=settings.llm_base_url,
            api_key=key,  # local servers want none, the client wants one: a placeholder
            max_retries=0,  # Temporal owns retries (LLM_RETRY); see the module docstring
            timeout=settings.llm_timeout.total_seconds(),
        )
        self._model = OpenAIChatModel(
            settings.llm_model, provider=OpenAIProvider(openai_client=client)
        )
        self._commit = _Output.of(CommitInsight, COMMIT_INSTRUCTIONS)
        self._pull = _Output.of(PullRequestInsight, PULL_REQUEST_INSTRUCTIONS)

    async def commit(self, data: CommitData, record: CallRecorder) -> CommitInsight:
        """Ask the model about one commit."""
        subject = f"commit {data.repository}@{data.sha}"
        return await self._run(self._commit, commit_prompt(data), subject, record)

    async def pull_request(self, data: PullRequestData, record: CallRecorder) -> PullRequestInsight:
        """Ask the model about one pull request."""
        subject = f"pull {data.repository}#{data.number}"
        return await self._run(self._pull, pull_request_prompt(data), subject, record)

    async def _run(self, output: _Output[T], prompt: str, subject: str, record: CallRecorder) -> T:
        while True:
            usage = RunUsage()
            async with self._limit:
                started = time.monotonic()
                try:
                    answer = await self._ask(output, prompt, usage)
                except asyncio.CancelledError:
                    # The batch failed or the attempt was cancelled with this request in flight:
                    # it may have reached the provider, so it is a row too.
                    await record(self._record(subject, "cancelled", started, usage))
                    raise
                except Exception as err:
                    outcome, error, delay = self.classify(err)
                    await record(self._record(subject, outcome, started, usage, err, error))
                    if delay is None:
                        raise error from None
                else:
                    await record(self._record(subject, "ok", started, usage))
                    return answer
            await self._wait_out(delay)  # the slot is free meanwhile

    async def _ask(self, output: _Output[T], prompt: str, usage: RunUsage) -> T:
        """One answer: a request, then up to ``LANES_LLM_OUTPUT_RETRIES`` more while the answer
        does not validate, each sending the errors back in the same conversation (as the tool
        call's result, the way pydantic-ai's agent does)."""
        messages: list[ModelMessage] = [ModelRequest(parts=[UserPromptPart(prompt)])]
        retries = self._settings.llm_output_retries
        for _ in range(retries + 1):
            response = await model_request(
                self._model, messages, model_request_parameters=output.parameters
            )
            usage.incr(response.usage)
            call = next((p for p in response.parts if isinstance(p, ToolCallPart)), None)
            feedback: ToolReturnPart | RetryFeedbackPart
            if call is None:
                problem = f"had no call of the {OUTPUT_TOOL} tool"
                feedback = RetryFeedbackPart(
                    f"Answer by calling the {OUTPUT_TOOL} tool.", retry=RetryInfo("no_output")
                )
            elif call.tool_name != OUTPUT_TOOL:
                problem = f"called an unknown tool {call.tool_name!r}"
                feedback = ToolReturnPart(
                    call.tool_name,
                    f"Unknown tool; answer by calling the {OUTPUT_TOOL} tool.",
                    call.tool_call_id,
                    outcome="retried",
                    retry=RetryInfo("unknown_tool"),
                )
            else:
                try:
                    return output.validate(call)
                except pydantic.ValidationError as err:
                    problem = f"did not validate: {err}"
                    feedback = ToolReturnPart(
                        OUTPUT_TOOL,
                        err.errors(include_url=False, include_context=False),
                        call.tool_call_id,
                        outcome="retried",
                        retry=RetryInfo("validation_error"),
                    )
            messages = [*messages, response, ModelRequest(parts=[feedback])]
        raise UnexpectedModelBehavior(
            f"Exceeded maximum output retries ({retries}); the last answer {problem}"
        )

    def classify(self, err: Exception) -> tuple[str, ApplicationError, float | None]:
        """(outcome, error to raise, delay to wait first — ``None``: raise the error now)."""
        status = err.status_code if isinstance(err, ModelHTTPError) else None
        reason = _reason(err)
        if isinstance(err, ModelHTTPError):
            assert status is not None
            default = self._settings.llm_rate_limit_default_wait.total_seconds()
            delay = rate_limit_delay(status, err.headers, default=default)
            if delay is not None:
                limit = self._settings.llm_max_rate_limit_wait.total_seconds()
                if delay > limit:
                    return (
                        "rate_limited",
                        ApplicationError(
                            f"rate limited by the model API for {delay:.0f}s, longer than "
                            f"LANES_LLM_MAX_RATE_LIMIT_WAIT ({limit:.0f}s); retrying after it",
                            type=RATE_LIMITED,
                            next_retry_delay=timedelta(seconds=delay),
                        ),
                        None,
                    )
                return "rate_limited", ApplicationError(reason, type=RATE_LIMITED), delay
            if status >= 500:
                return "server_error", ApplicationError(reason, type="ModelServerError"), None
            if status in (400, 401, 403, 404, 422):
                hint = (
                    "; check LANES_LLM_API_KEY"
                    if status in (401, 403)
                    else "; check LANES_LLM_MODEL and LANES_LLM_BASE_URL"
                    if status == 404
                    else ""
                )
                return (
                    "rejected",
                    ApplicationError(
                        f"the model API refused the request: {reason}{hint}",
                        type=REQUEST_REJECTED,
                        non_retryable=True,
                    ),
                    None,
                )
            return "error", ApplicationError(reason, type="ModelHTTPError"), None
        if isinstance(err, ModelAPIError):  # timeouts, refused or dropped connections
            return "timeout", ApplicationError(reason, type="ModelUnavailable"), None
        if isinstance(err, UnexpectedModelBehavior):
            return (
                "invalid_output",
                ApplicationError(
                    f"the model's answer never validated "
                    f"({self._settings.llm_output_retries} output retries): {reason}",
                    type=OUTPUT_INVALID,
                    non_retryable=True,
                ),
                None,
            )
        return "error", ApplicationError(reason, type=type(err).__name__), None

    def _record(
        self,
        subject: str,
        outcome: str,
        started: float,
        usage: RunUsage,
        err: Exception | None = None,
        error: ApplicationError | None = None,
    ) -> CallRecord:
        return CallRecord(
            model=self.model,
            subject=subject[:2200],
            outcome=outcome,
            latency_ms=round((time.monotonic() - started) * 1000),
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            status_code=err.status_code if isinstance(err, ModelHTTPError) else None,
            error=None if error is None else f"{error.type}: {error.message}"[:4000],
        )

    async def _wait_out(self, delay: float) -> None:
        # The activity's heartbeat task keeps the attempt alive meanwhile; no slot is held.
        await asyncio.sleep(delay)


def _reason(err: Exception) -> str:
    if isinstance(err, ModelHTTPError):
        body = err.body if isinstance(err.body, str | None) else str(err.body)
        return f"HTTP {err.status_code} from model {err.model_name}: {(body or '')[:500]}"
    return f"{type(err).__name__}: {str(err)[:500]}"


def _n(value: int | None) -> str:
    return "unknown" if value is None else str(value)
