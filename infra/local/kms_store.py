"""The local KMS key, kept across restarts.

moto keeps KMS keys in memory, but signing keys and secrets in DynamoDB Local are envelope-encrypted under the
service KMS key (``alias/gatehouse-local``): a fresh key at every start would make the stored data undecryptable.
So the key's id and AES material are saved in ``.local/kms/keys.json`` (mode 0600, git-ignored) and put back
into moto's in-process KMS backend, with the same KeyId and material, at the next start.

Never used outside the local stage: deployed stacks use a real KMS key whose material never leaves AWS.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from infra.local import LOCAL_DIR

DEFAULT_STORE = LOCAL_DIR / "kms" / "keys.json"
ALIAS = "alias/gatehouse-local"
ACCOUNT_ID = "123456789012"  # moto's default account
FORMAT_VERSION = 1


class KmsStoreError(RuntimeError):
    """The saved key file is unreadable."""


def ensure_key(
    store: Path | None = DEFAULT_STORE, *, region: str = "us-east-1", account_id: str = ACCOUNT_ID, alias: str = ALIAS
) -> str:
    """Make ``alias`` name the saved key in moto's in-process backend (or a new one, then saved); returns the KeyId.

    ``store=None`` keeps the key in memory only (in-memory stacks and tests).
    """
    from moto.kms.models import kms_backends

    backend = kms_backends[account_id][region]
    saved = _load(store) if store is not None else None
    aliased: str | None = backend.get_key_id_from_alias(alias)
    if saved is not None:
        key_id = _restore(backend, saved)
    elif aliased is not None:
        key_id = aliased
    else:
        key = backend.create_key(None, "ENCRYPT_DECRYPT", "SYMMETRIC_DEFAULT", "Gatehouse local service key", None)
        key_id = key.id
        if store is not None:
            _save(store, _describe(key))
    if aliased is None:
        backend.create_alias(key_id, alias)
    elif aliased != key_id:
        backend.update_alias(key_id, alias)
    return str(key_id)


def _restore(backend: Any, saved: dict[str, Any]) -> str:
    key_id = str(saved["key_id"])
    if key_id in backend.keys:
        return key_id
    key = backend.create_key(None, saved["key_usage"], saved["key_spec"], saved["description"], None)
    del backend.keys[key.id]
    key.id = key_id
    key.arn = f"arn:aws:kms:{backend.region_name}:{backend.account_id}:key/{key_id}"
    key.key_material = base64.b64decode(saved["key_material"])
    key.creation_date = saved["creation_date"]
    backend.keys[key_id] = key
    return key_id


def _describe(key: Any) -> dict[str, Any]:
    return {
        "version": FORMAT_VERSION,
        "key_id": key.id,
        "key_material": base64.b64encode(key.key_material).decode(),
        "key_usage": key.key_usage,
        "key_spec": key.key_spec,
        "description": key.description,
        "creation_date": key.creation_date,
    }


def _load(store: Path) -> dict[str, Any] | None:
    try:
        saved = json.loads(store.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise KmsStoreError(f"cannot read the local KMS key from {store}: {error}") from error
    if not isinstance(saved, dict) or saved.get("version") != FORMAT_VERSION or "key_material" not in saved:
        raise KmsStoreError(f"{store} is not a Gatehouse local KMS key file (delete it to start over)")
    return saved


def _save(store: Path, description: dict[str, Any]) -> None:
    store.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = store.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(description, out, indent=2)
    os.replace(tmp, store)
