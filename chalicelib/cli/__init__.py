"""Operator CLI (``./gatehouse tenant|client|user|token|key ...``): JSON on stdout, one-line errors on stderr.

It calls the same services as the HTTP API through the container; ``infra/local/cli_entry.py`` points it at the
running local stack (or starts one) before ``main`` runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from chalicelib.cli import commands
from chalicelib.core.errors import DomainError


class CliError(Exception):
    """A usage error reported as one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would print usage and exit 2; we want one line
        raise CliError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gatehouse", description="Gatehouse operator commands")
    groups = parser.add_subparsers(dest="group", required=True, parser_class=_Parser)

    tenant = groups.add_parser("tenant").add_subparsers(dest="action", required=True, parser_class=_Parser)
    create = tenant.add_parser("create")
    create.add_argument("slug")
    create.add_argument("--parent")
    create.add_argument("--tier", choices=["customer", "organization", "account"])
    create.add_argument("--name")
    create.set_defaults(run=commands.tenant_create)
    show = tenant.add_parser("show")
    show.add_argument("slug")
    show.set_defaults(run=commands.tenant_show)

    client = groups.add_parser("client").add_subparsers(dest="action", required=True, parser_class=_Parser)
    create = client.add_parser("create")
    create.add_argument("--tenant", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--type", required=True, choices=["confidential", "public", "service"])
    create.add_argument("--redirect-uri", action="append", default=[])
    create.add_argument("--post-logout-redirect-uri", action="append", default=[])
    create.add_argument("--scope", action="append", default=[])
    create.add_argument("--tier-node")
    create.add_argument("--first-party", action="store_true")
    create.add_argument("--client-id")
    create.add_argument(
        "--auth-method", choices=["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
    )
    create.add_argument("--jwks-file", help="public keys (JWKS JSON) for private_key_jwt")
    create.add_argument(
        "--required-attribute",
        action="append",
        default=[],
        help="progressive profiling: a profile attribute this client needs (asked at sign-in when missing)",
    )
    create.set_defaults(run=commands.client_create)
    rotate = client.add_parser("rotate-secret")
    rotate.add_argument("--tenant", required=True)
    rotate.add_argument("--client-id", required=True)
    rotate.set_defaults(run=commands.client_rotate_secret)

    user = groups.add_parser("user").add_subparsers(dest="action", required=True, parser_class=_Parser)
    create = user.add_parser("create")
    create.add_argument("--tenant", required=True)
    create.add_argument("--email", required=True)
    create.add_argument("--password")
    create.add_argument("--verified", action="store_true")
    create.add_argument("--tier-node")
    create.set_defaults(run=commands.user_create)
    show = user.add_parser("show")
    show.add_argument("--tenant", required=True)
    show.add_argument("--email", required=True)
    show.set_defaults(run=commands.user_show)
    invite = user.add_parser("invite")
    invite.add_argument("--tenant", required=True)
    invite.add_argument("--email", required=True)
    invite.add_argument("--tier-node")
    invite.set_defaults(run=commands.user_invite)

    token = groups.add_parser("token").add_subparsers(dest="action", required=True, parser_class=_Parser)
    admin = token.add_parser("admin")
    admin.add_argument("--tenant", required=True)
    admin.set_defaults(run=commands.token_admin)

    key = groups.add_parser("key").add_subparsers(dest="action", required=True, parser_class=_Parser)
    rotate = key.add_parser("rotate")
    rotate.add_argument("--tenant", required=True)
    rotate.set_defaults(run=commands.key_rotate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
        result = args.run(args)
    except CliError as error:
        print(f"gatehouse: {error}", file=sys.stderr)
        return 2
    except DomainError as error:
        fields = getattr(error, "fields", None)
        suffix = f" ({', '.join(f'{k}: {v}' for k, v in fields.items())})" if fields else ""
        print(f"gatehouse: {error.public}{suffix}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as error:
        print(f"gatehouse: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
