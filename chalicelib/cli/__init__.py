"""Operator CLI (``./gatehouse tenant|client|user|role|token|key ...``): JSON on stdout, one-line errors on stderr.

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

    update = tenant.add_parser("update", help="rename a node or replace its own settings")
    update.add_argument("slug")
    update.add_argument("--tenant", help="the customer tenant (when the slug is not unique across tenants)")
    update.add_argument("--name")
    update.add_argument("--new-slug")
    update.add_argument("--settings", help="the node's own settings as JSON, or @FILE")
    update.set_defaults(run=commands.tenant_update)
    for name, run in (
        ("settings", commands.tenant_settings),
        ("disable", commands.tenant_set_status),
        ("enable", commands.tenant_set_status),
        ("delete", commands.tenant_delete),
    ):
        sub = tenant.add_parser(name)
        sub.add_argument("slug")
        sub.add_argument("--tenant", help="the customer tenant (when the slug is not unique across tenants)")
        sub.set_defaults(run=run)

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
    reset_mfa = user.add_parser("reset-mfa")
    reset_mfa.add_argument("--tenant", required=True)
    reset_mfa.add_argument("--email", required=True)
    reset_mfa.set_defaults(run=commands.user_reset_mfa)

    token = groups.add_parser("token").add_subparsers(dest="action", required=True, parser_class=_Parser)
    admin = token.add_parser("admin")
    admin.add_argument("--tenant", required=True)
    admin.set_defaults(run=commands.token_admin)

    key = groups.add_parser("key").add_subparsers(dest="action", required=True, parser_class=_Parser)
    rotate = key.add_parser("rotate")
    rotate.add_argument("--tenant", required=True)
    rotate.set_defaults(run=commands.key_rotate)

    role = groups.add_parser("role").add_subparsers(dest="action", required=True, parser_class=_Parser)
    for name, run in (("assign", commands.role_assign), ("remove", commands.role_remove)):
        change = role.add_parser(name)
        change.add_argument("--tenant", required=True)
        change.add_argument("--email", required=True)
        change.add_argument("--role", required=True)
        change.add_argument("--tier-node", help="where the role is held (default: the user's own node)")
        change.set_defaults(run=run)
    listing = role.add_parser("list")
    listing.add_argument("--tenant", required=True)
    listing.add_argument("--email", help="list this user's roles instead of the tenant's")
    listing.set_defaults(run=commands.role_list)
    define = role.add_parser("create")
    define.add_argument("--tenant", required=True)
    define.add_argument("--name", required=True)
    define.add_argument("--description")
    define.add_argument("--tier-node", help="the role can be held only at this node and below")
    define.set_defaults(run=commands.role_create)
    drop = role.add_parser("delete")
    drop.add_argument("--tenant", required=True)
    drop.add_argument("--name", required=True)
    drop.set_defaults(run=commands.role_delete)

    _add_idp_commands(groups)
    return parser


def _add_idp_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--tenant", required=True)
    command.add_argument("--name", required=True)
    command.add_argument("--tier-node")
    command.add_argument("--display-name")
    command.add_argument("--domain", action="append", default=[], help="home-realm discovery email domain")
    command.add_argument("--linking", choices=["verified_email", "sign_in", "none"])
    command.add_argument("--map", action="append", default=[], help="FIELD=UPSTREAM_ATTRIBUTE (email, given_name...)")
    command.add_argument("--role-map", action="append", default=[], help="GROUP=ROLE[,ROLE...]")
    command.add_argument("--disabled", action="store_true")


def _add_idp_commands(groups: Any) -> None:
    idp = groups.add_parser("idp").add_subparsers(dest="action", required=True, parser_class=_Parser)
    saml = idp.add_parser("add-saml")
    _add_idp_options(saml)
    saml.add_argument("--metadata", required=True, help="the IdP's SAML metadata XML file")
    saml.add_argument("--allow-unsolicited", action="store_true", help="accept IdP-initiated logins")
    saml.set_defaults(run=commands.idp_add_saml)
    oidc = idp.add_parser("add-oidc")
    _add_idp_options(oidc)
    oidc.add_argument("--issuer", help="required unless --preset google|microsoft")
    oidc.add_argument("--client-id", required=True)
    oidc.add_argument("--client-secret", required=True)
    oidc.add_argument("--preset", choices=["google", "microsoft"])
    oidc.add_argument("--scope", action="append", default=[])
    oidc.set_defaults(run=commands.idp_add_oidc)
    listing = idp.add_parser("list")
    listing.add_argument("--tenant", required=True)
    listing.set_defaults(run=commands.idp_list)
    remove = idp.add_parser("remove")
    remove.add_argument("--tenant", required=True)
    remove.add_argument("--name", required=True)
    remove.set_defaults(run=commands.idp_remove)
    webhook = groups.add_parser("webhook").add_subparsers(dest="action", required=True, parser_class=_Parser)
    set_hook = webhook.add_parser("set")
    set_hook.add_argument("--tenant", required=True)
    set_hook.add_argument("--url", required=True, help="receives signed user.provisioned events")
    set_hook.set_defaults(run=commands.webhook_set)
    for action, run in (("show", commands.webhook_show), ("remove", commands.webhook_remove)):
        command = webhook.add_parser(action)
        command.add_argument("--tenant", required=True)
        command.set_defaults(run=run)


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
