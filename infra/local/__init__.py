"""The local AWS stack: emulators, bootstrap and entry points behind ``./gatehouse`` (never deployed).

    emulators.py      DynamoDB Local (the real jar, on Java) and an in-process moto server (every other service)
    lambda_bridge.py  moto Lambda invokes (also from Step Functions Task states) -> the Chalice lambda_functions
    kms_store.py      keeps the local KMS key (id + material) in .local/kms so encrypted data survives restarts
    statemachines.py  registers infra/statemachines/*.asl.json with local Lambda ARNs
    stack.py          LocalStack: ports, process environment, start/stop, provisioning, .local/stack.json
    serve.py          ``./gatehouse serve``: stack + demo seed + Chalice's local HTTP server
    cli_entry.py      ``./gatehouse <command>``: attach to a running serve, or run an ephemeral stack around one command

Rule: nothing here imports ``chalicelib`` at module level, because the process environment (endpoints, stage,
public URL) must be set before ``chalicelib.config`` reads it.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# Where the on-disk stack keeps its data (DynamoDB files, the local KMS key, stack.json, demo secrets);
# GATEHOUSE_LOCAL_DIR moves it (tests run the CLI against a temporary one).
LOCAL_DIR = Path(os.environ.get("GATEHOUSE_LOCAL_DIR") or REPO_ROOT / ".local")
