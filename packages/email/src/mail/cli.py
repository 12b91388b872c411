"""``lanes mail``: the outbox of the local sink, the suppression list, campaigns, warming.

Added to ``lanes`` by the ``lanes.cli`` entry point (see ``packages/email/pyproject.toml``), so
core does not import this domain. Heavy imports happen inside the commands: every ``lanes``
invocation loads this module.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import click

from core.cli.support import LanesError, run_async

__all__ = ["mail"]


async def _dispose() -> None:
    from core.db import dispose_engines

    await dispose_engines()


def _with_db(fn: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    return run_async(fn, cleanup=_dispose)


@click.group("mail")
def mail() -> None:
    """Email: the local outbox, suppressions, campaigns and domain warming."""


@mail.command("outbox")
@click.option("--limit", default=20, show_default=True, help="Newest messages to list.")
def outbox_command(limit: int) -> None:
    """Messages the local sink of `lanes dev` received (to, subject, time), newest first."""
    from mail.outbox import read_outbox
    from mail.settings import mail_settings

    directory = mail_settings().outbox_dir()
    entries = read_outbox(directory, limit=limit)
    if not entries:
        click.echo(f"no messages in {directory}")
        return
    click.echo(f"{'time (UTC)':<20} {'to':<32} subject")
    for e in entries:
        click.echo(f"{e.time:%Y-%m-%d %H:%M:%S} {e.to:<32} {e.subject}")
    click.echo(f"({len(entries)} shown; files in {directory})")


@mail.command("suppress")
@click.argument("addresses", nargs=-1, required=True)
@click.option(
    "--reason",
    type=click.Choice(["unsubscribed", "hard_bounce", "manual"]),
    default="manual",
    show_default=True,
)
@_with_db
async def suppress_command(addresses: tuple[str, ...], reason: str) -> None:
    """Never send to ADDRESSES again (a send to them is a recorded skip)."""
    from core import db
    from mail import store

    normalized = [_address(a) for a in addresses]
    async with db.session() as s:
        for address in normalized:
            await store.suppress(s, address, reason)
    click.echo(f"suppressed {len(normalized)} address(es)")


@mail.command("unsuppress")
@click.argument("address")
@_with_db
async def unsuppress_command(address: str) -> None:
    """Take ADDRESS off the suppression list."""
    from core import db
    from mail import store

    async with db.session() as s:
        removed = await store.unsuppress(s, _address(address))
    if not removed:
        raise LanesError(f"{address} is not on the suppression list")
    click.echo(f"{address} may be sent to again")


def _address(address: str) -> str:
    from temporalio.exceptions import ApplicationError

    from mail.addresses import normalize

    try:
        return normalize(address)
    except ApplicationError as err:
        raise LanesError(err.message) from None


@mail.group("campaign")
def campaign() -> None:
    """Create, start and steer campaigns (workflow mail-campaign-<id> on queue email)."""


@campaign.command("create")
@click.argument("name")
@click.option(
    "--recipients",
    "recipients_file",
    type=click.File("r"),
    required=True,
    help="File with one recipient a line: ADDRESS or ADDRESS,NAME (NAME goes into the context).",
)
@click.option("--template", help="Template name (welcome, password_reset, newsletter).")
@click.option("--context", "context_json", default="{}", help="Shared template context as JSON.")
@click.option("--subject", help="Subject (instead of a template).")
@click.option("--text", help="Text body (instead of a template).")
@click.option("--html", help="HTML body (with --subject and --text).")
@click.option("--from", "sender", help="Sender. Default: LANES_MAIL_FROM.")
@click.option("--rate", default=60, show_default=True, help="Messages per minute.")
@_with_db
async def campaign_create(
    name: str,
    recipients_file: Any,
    template: str | None,
    context_json: str,
    subject: str | None,
    text: str | None,
    html: str | None,
    sender: str | None,
    rate: int,
) -> None:
    """Create campaign NAME as a draft; prints its id."""
    import json

    from core import db
    from mail.campaigns import CampaignError, create_campaign

    try:
        context = json.loads(context_json)
    except json.JSONDecodeError as err:
        raise LanesError(f"--context is not valid JSON: {err}") from None
    recipients: list[tuple[str, dict[str, str]]] = []
    for line in recipients_file.read().splitlines():
        address, _, person = (part.strip() for part in line.partition(","))
        if address and not address.startswith("#"):
            recipients.append((address, {"name": person} if person else {}))
    try:
        async with db.session() as s:
            created = await create_campaign(
                s,
                name=name,
                recipients=recipients,
                template=template,
                context=context,
                subject=subject,
                text=text,
                html=html,
                sender=sender,
                rate_per_minute=rate,
            )
    except CampaignError as err:
        raise LanesError(str(err)) from None
    click.echo(f"campaign {created.id} created with {len(recipients)} recipient line(s)")


@campaign.command("start")
@click.argument("campaign_id", type=int)
@click.option("--batch-size", default=50, show_default=True)
@_with_db
async def campaign_start(campaign_id: int, batch_size: int) -> None:
    """Start sending CAMPAIGN_ID (starting it twice starts it once)."""
    from core import db
    from mail.campaigns import start_campaign
    from mail.models import Campaign

    async with db.session() as s:
        if await s.get(Campaign, campaign_id) is None:
            raise LanesError(f"no campaign {campaign_id}; see `lanes mail campaign create`")
    handle, started = await start_campaign(campaign_id, batch_size=batch_size)
    click.echo(f"{handle.id} {'started' if started else 'was already started'}")


@campaign.command("pause")
@click.argument("campaign_id", type=int)
@run_async
async def campaign_pause(campaign_id: int) -> None:
    """Pause after the batch in flight."""
    await _signal(campaign_id, "pause")


@campaign.command("resume")
@click.argument("campaign_id", type=int)
@run_async
async def campaign_resume(campaign_id: int) -> None:
    """Resume a paused campaign."""
    await _signal(campaign_id, "resume")


@campaign.command("cancel")
@click.argument("campaign_id", type=int)
@run_async
async def campaign_cancel(campaign_id: int) -> None:
    """Stop after the batch in flight; unsent recipients stay pending."""
    await _signal(campaign_id, "cancel")


@campaign.command("rate")
@click.argument("campaign_id", type=int)
@click.argument("per_minute", type=click.IntRange(min=1))
@run_async
async def campaign_rate(campaign_id: int, per_minute: int) -> None:
    """Change the sending rate (messages per minute) of a running campaign."""
    from mail.campaigns import campaign_handle
    from mail.workflows.campaign import CampaignWorkflow, RateUpdate

    handle = await campaign_handle(campaign_id)
    progress = await handle.execute_update(
        CampaignWorkflow.set_rate, RateUpdate(rate_per_minute=per_minute)
    )
    _show(progress)


@campaign.command("status")
@click.argument("campaign_id", type=int)
@run_async
async def campaign_status(campaign_id: int) -> None:
    """Sent, skipped, failed and remaining, from the running workflow (or its result)."""
    from temporalio.service import RPCError

    from mail.campaigns import campaign_handle
    from mail.workflows.campaign import CampaignWorkflow

    handle = await campaign_handle(campaign_id)
    try:
        progress = await handle.query(CampaignWorkflow.progress)
    except RPCError as err:
        raise LanesError(f"campaign {campaign_id} has not been started: {err.message}") from None
    _show(progress)


async def _signal(campaign_id: int, name: str) -> None:
    from temporalio.service import RPCError

    from mail.campaigns import campaign_handle

    handle = await campaign_handle(campaign_id)
    try:
        await handle.signal(name)
    except RPCError as err:
        raise LanesError(f"campaign {campaign_id} is not running: {err.message}") from None
    click.echo(f"{handle.id}: {name} sent")


def _show(progress: Any) -> None:
    p = progress
    click.echo(
        f"campaign {p.campaign_id}: {p.state}  sent {p.sent}  skipped {p.skipped}  "
        f"failed {p.failed}  remaining {p.remaining} of {p.total}  "
        f"rate {p.rate_per_minute}/min  runs {p.runs}"
    )


@mail.group("domain")
def domain() -> None:
    """Sending domains and their warming limits."""


@domain.command("warm")
@click.argument("name")
@_with_db
async def domain_warm(name: str) -> None:
    """Start warming NAME: its campaigns send at most the ramp's daily limit."""
    from core import db
    from mail import store

    async with db.session() as s:
        row = await store.start_warming(s, name)
    click.echo(f"{row.domain}: step {row.ramp_step}, daily limit {row.daily_limit}")


@domain.command("list")
@_with_db
async def domain_list() -> None:
    """Warming domains: step, daily limit, sent today."""
    from sqlalchemy import select

    from core import db
    from mail import store
    from mail.models import SendingDomain

    async with db.session() as s:
        rows = (await s.execute(select(SendingDomain).order_by(SendingDomain.domain))).scalars()
        click.echo(f"{'domain':<30} {'step':>4} {'limit':>8} {'today':>8}")
        for row in rows:
            today = row.sent_today if row.day == store.today() else 0
            limit = "warmed" if row.daily_limit is None else str(row.daily_limit)
            click.echo(f"{row.domain:<30} {row.ramp_step:>4} {limit:>8} {today:>8}")
