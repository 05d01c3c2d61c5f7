"""Register the deployed Step Functions definitions with the local emulator.

The same ``infra/statemachines/*.asl.json`` files are deployed by CDK, which fills ``${SomethingArn}`` with the
ARN of the Chalice ``lambda_function`` named ``Something``. Locally the placeholder becomes the moto Lambda ARN
``arn:aws:lambda:<region>:123456789012:function:Something``; ``lambda_bridge`` routes invokes of that ARN to the
Chalice handler. ``email_verification.asl.json`` becomes state machine ``gatehouse-email-verification``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from infra.local import REPO_ROOT

DEFINITIONS_DIR = REPO_ROOT / "infra" / "statemachines"
ACCOUNT_ID = "123456789012"
PREFIX_ENV = "GATEHOUSE_STATE_MACHINE_ARN_PREFIX"
_PLACEHOLDER = re.compile(r"\$\{(?P<name>[A-Za-z0-9_]+)\}")


def arn_prefix(region: str) -> str:
    return f"arn:aws:states:{region}:{ACCOUNT_ID}:stateMachine:gatehouse-"


def state_machine_name(definition_file: Path) -> str:
    stem = definition_file.name.removesuffix(".asl.json")
    return "gatehouse-" + stem.replace("_", "-")


def render_definition(text: str, region: str, extra: Mapping[str, str] | None = None) -> str:
    """Fill ``${NameArn}`` with local Lambda ARNs and ``${Other}`` from ``extra``; unknown placeholders fail."""
    extra = extra or {}
    unknown: list[str] = []

    def fill(match: re.Match[str]) -> str:
        name = match.group("name")
        if name in extra:
            return extra[name]
        if name.endswith("Arn") and len(name) > 3:
            return f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name.removesuffix('Arn')}"
        unknown.append(name)
        return match.group(0)

    rendered = _PLACEHOLDER.sub(fill, text)
    if unknown:
        raise ValueError(f"no local value for placeholder(s): {', '.join(sorted(set(unknown)))}")
    return rendered


def register_state_machines(
    sfn_client: Any,
    role_arn: str,
    *,
    definitions_dir: Path = DEFINITIONS_DIR,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Create or update one STANDARD state machine per definition file; returns {name: arn}."""
    region = sfn_client.meta.region_name
    os.environ[PREFIX_ENV] = arn_prefix(region)
    files = sorted(definitions_dir.glob("*.asl.json"))
    if not files:
        return {}
    existing = {
        machine["name"]: machine["stateMachineArn"]
        for page in sfn_client.get_paginator("list_state_machines").paginate()
        for machine in page["stateMachines"]
    }
    registered: dict[str, str] = {}
    for path in files:
        name = state_machine_name(path)
        try:
            definition = render_definition(path.read_text(), region, extra)
            json.loads(definition)
        except ValueError as error:
            raise ValueError(f"{path.name}: {error}") from error
        if name in existing:
            sfn_client.update_state_machine(stateMachineArn=existing[name], definition=definition, roleArn=role_arn)
            registered[name] = existing[name]
        else:
            created = sfn_client.create_state_machine(
                name=name, definition=definition, roleArn=role_arn, type="STANDARD"
            )
            registered[name] = created["stateMachineArn"]
    return registered
