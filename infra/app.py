"""CDK app entry point: synthesizes ``GatehouseStack`` offline (no AWS credentials, no lookups).

    cd infra && npx cdk synth -c stage=prod -c sender_domain=example.org -c public_url=https://id.example.org
    CDK_OUTDIR=/tmp/cdk.out .venv/bin/python infra/app.py          # the same, without the CDK CLI

Context (``-c key=value``, or ``CDK_CONTEXT_JSON``): ``stage`` (default ``prod``), ``sender_domain`` (the SES
identity the functions may send from; default ``example.com``), ``public_url`` (the issuer URL; optional),
``xmlsec_layer_arn`` (a Lambda layer with the xmlsec1 binary the SAML SP needs; optional, warned about if absent).
The stack is environment-agnostic: account and region stay ``${AWS::AccountId}``/``${AWS::Region}``.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import aws_cdk as cdk  # noqa: E402 - needs the repo root on sys.path (chalicelib, infra)

from infra.stacks.gatehouse_stack import DEFAULT_SENDER_DOMAIN, GatehouseStack  # noqa: E402


def main() -> None:
    app = cdk.App()
    context = app.node.try_get_context
    GatehouseStack(
        app,
        stage=str(context("stage") or "prod"),
        sender_domain=str(context("sender_domain") or DEFAULT_SENDER_DOMAIN),
        public_url=context("public_url") or None,
        xmlsec_layer_arn=context("xmlsec_layer_arn") or None,
    )
    app.synth()


if __name__ == "__main__":
    main()
