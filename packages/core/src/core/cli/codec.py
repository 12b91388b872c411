"""``lanes codec-server``: decode encrypted payloads for the Temporal UI and CLI (see
:mod:`core.codec_server`)."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import click

from core.cli.support import LanesError, run_async

__all__ = ["codec_server_command"]


@click.command("codec-server")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8234, show_default=True, help="Port to listen on.")
@click.option(
    "--origin",
    "origins",
    multiple=True,
    help="Browser origin allowed by CORS (repeatable); adds to LANES_CODEC_SERVER_ORIGINS.",
)
def codec_server_command(host: str, port: int, origins: tuple[str, ...]) -> None:
    """Serve /decode and /encode with LANES_ENCRYPTION_KEYS, behind LANES_CODEC_SERVER_TOKEN."""
    run_async(_serve)(host, port, origins)


async def _serve(host: str, port: int, extra_origins: tuple[str, ...]) -> None:
    from core.codec import codec_from_settings
    from core.codec_server import start_codec_server
    from core.settings import settings

    config = settings()
    codec = codec_from_settings(config)
    if not codec.key_ids:
        raise LanesError("LANES_ENCRYPTION_KEYS is not set: there is nothing to decode with")
    if config.codec_server_token is None or not config.codec_server_token.get_secret_value():
        raise LanesError(
            "set LANES_CODEC_SERVER_TOKEN: every request must carry it "
            "(Authorization: Bearer <token>)"
        )
    origins = [o.strip() for o in config.codec_server_origins.split(",") if o.strip()]
    origins += extra_origins
    runner = await start_codec_server(
        codec,
        config.codec_server_token.get_secret_value(),
        host=host,
        port=port,
        origins=origins,
    )
    click.echo(
        f"codec server     http://{host}:{port}  (keys {', '.join(codec.key_ids)}; "
        f"CORS origins: {', '.join(origins) or 'none'})"
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        with contextlib.suppress(Exception):
            await runner.cleanup()
