"""A loopback Salesforce org over HTTPS: `python -m simulators.salesforce --port 0 ...`.

Prints `listening on https://127.0.0.1:PORT` first and, when it made its own TLS pair,
`certificate PATH` second, so a client can trust exactly that certificate. `--profile NAME`
(repeatable, or `--profile all`) makes it a customised org (see profiles.py); without it the org
is plain.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import socket
import ssl
import sys
import tempfile
from pathlib import Path

from aiohttp import web

from simulators.certs import make_key_and_certificate
from simulators.salesforce import controls as sf_controls
from simulators.salesforce import profiles
from simulators.salesforce import rest as sf_rest
from simulators.salesforce.oauth import TokenIssuer, User
from simulators.salesforce.store import SfError

STANDARD_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")


@web.middleware
async def never_crash(request: web.Request, handler):
    """Bad requests get Salesforce's own error shapes, never a stack trace."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status == 404:
            return sf_rest.sf_error(SfError(404, "NOT_FOUND", "The requested resource does not exist"))
        if exc.status == 405:
            return sf_rest.sf_error(SfError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed."))
        raise
    except SfError as err:
        return sf_rest.sf_error(err)
    except Exception as exc:  # noqa: BLE001 - a simulator bug must look like Salesforce's 500
        print(
            f"simulator error on {request.method} {request.path}: {type(exc).__name__}: {exc}",
            file=sys.stderr,
            flush=True,
        )
        return sf_rest.sf_json([{"message": "An unexpected error occurred.", "errorCode": "UNKNOWN_EXCEPTION"}], 500)


def build_app(org: sf_rest.Org) -> web.Application:
    app = web.Application(middlewares=[never_crash], client_max_size=8 * 1024 * 1024)
    app["org"] = org
    app.router.add_post("/services/oauth2/token", sf_rest.token)
    app.router.add_get("/services/data", sf_rest.versions)
    app.router.add_get("/services/data/", sf_rest.versions)
    app.router.add_route("*", r"/services/data/v{version:\d+\.\d}/{rest:.*}", sf_rest.rest_entry)
    app.router.add_route("*", r"/services/data/v{version:\d+\.\d}", sf_rest.rest_entry)
    app.router.add_get("/id/{org}/{user}", sf_rest.identity)
    sf_controls.add_routes(app)
    return app


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m simulators.salesforce", description=__doc__)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--consumer-key", required=True)
    p.add_argument(
        "--certificate", required=True, help="PEM certificate of the Connected App (verifies JWT signatures)"
    )
    p.add_argument("--username", required=True, help="the pre-authorised integration user")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--audience", action="append", default=[])
    p.add_argument("--session-timeout-minutes", type=float, default=120.0)
    p.add_argument("--seed", choices=("demo", "empty"), default="empty")
    p.add_argument(
        "--profile",
        action="append",
        default=[],
        choices=(*profiles.KNOWN, "all"),
        help="turn on an org customisation (repeatable; `all` for "
        + ", ".join(profiles.NAMES)
        + "): "
        + ", ".join(profiles.KNOWN),
    )
    p.add_argument(
        "--search-index-lag",
        type=float,
        default=0.0,
        help="seconds before a new or changed record is visible to SOSL (SOQL sees it at once)",
    )
    return p.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    workdir = None
    if args.tls_cert and args.tls_key:
        tls_cert, tls_key = args.tls_cert, args.tls_key
    else:
        workdir = tempfile.mkdtemp(prefix="sfsim-")
        key_path, cert_path = make_key_and_certificate(workdir, "tls")
        tls_cert, tls_key = str(cert_path), str(key_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls_cert, tls_key)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    port = sock.getsockname()[1]
    base_url = f"https://127.0.0.1:{port}"
    issuer = TokenIssuer(
        args.consumer_key, Path(args.certificate).read_bytes(), {base_url, *STANDARD_AUDIENCES, *args.audience}
    )
    org = sf_rest.Org(
        issuer=issuer,
        base_url=base_url,
        session_timeout=args.session_timeout_minutes * 60,
        search_index_lag=args.search_index_lag,
        username=args.username,
    )
    org.profiles.active = profiles.parse(args.profile)  # applied (and seeded) by the reset
    sf_controls.reset_org(org, args.seed)
    issuer.users[args.username] = User(args.username, org.store.user_id)
    runner = web.AppRunner(build_app(org), access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock, ssl_context=context).start()
    print(f"listening on {base_url}", flush=True)
    if workdir:
        print(f"certificate {tls_cert}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
