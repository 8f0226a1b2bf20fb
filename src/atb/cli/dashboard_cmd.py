"""`atb dashboard`: a read-only web page of the live sessions in one or more stores."""

from __future__ import annotations

from pathlib import Path

import click

from atb.cli.option_types import POSITIVE, file_path
from atb.dashboard.access import TOKEN_VARIABLE, is_local
from atb.dashboard.server import bind, serve, url_host
from atb.dashboard.stores import open_stores
from atb.domain.errors import AtbError


@click.command("dashboard")
@click.option(
    "--db",
    "dbs",
    type=file_path(),
    multiple=True,
    help="A live store to show (repeatable; default: the default live store).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; anything but 127.0.0.1, localhost or ::1 needs --token.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8050,
    show_default=True,
    help="Port to listen on (0: a free one, announced).",
)
@click.option(
    "--token",
    envvar=TOKEN_VARIABLE,
    help=f"Require this token on every request (or set ${TOKEN_VARIABLE}).",
)
@click.option(
    "--poll",
    type=POSITIVE,
    default=2.0,
    show_default=True,
    help="Seconds between the page's updates.",
)
def dashboard(dbs: tuple[Path, ...], host: str, port: int, token: str | None, poll: float) -> None:
    """Serve a read-only web dashboard of the live sessions in the store(s).

    Every session with its state (running, stopped or crashed), equity and drawdown, position,
    trades, events, health and parity with the backtest; the page updates itself. Nothing it
    serves can change a session.
    """
    token = token or None  # an empty variable is no token
    if not is_local(host) and token is None:
        raise AtbError(
            f"--host {host} is not a local address: give --token (or ${TOKEN_VARIABLE}) so that "
            "only holders of the token can read the sessions"
        )
    if not dbs:
        from atb.cli.live_store import default_db  # finding it loads the data layer (pandas)

        dbs = (default_db(),)
    paths = list(dbs)
    readers = open_stores(paths)
    try:
        listener = bind(host, port)
        # The app pulls in the engines (the parity badge): imported once the input is known good,
        # so a bad --db or a busy port is refused at once.
        from atb.dashboard.app import DashboardSettings, build_app

        settings = DashboardSettings(host=host, token=token, poll_seconds=poll)
        app = build_app(readers, settings)
        count = len(readers)

        def announce(bound: int) -> None:
            click.echo(
                f"dashboard on http://{url_host(host)}:{bound} "
                f"(read-only; {count} store{'s' if count != 1 else ''})"
            )

        serve(app, listener, announce)
    finally:
        for reader in readers:
            reader.close()
