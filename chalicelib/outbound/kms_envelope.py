"""Envelope encryption under the service KMS key.

A fresh 256-bit data key from ``GenerateDataKey`` encrypts the payload with AES-GCM; only the KMS-encrypted data
key is stored beside the ciphertext. The encryption context binds a blob to its owner (tenant, purpose, id), both
in KMS and as AES-GCM associated data, so a blob copied to another tenant's record does not decrypt.
"""

from __future__ import annotations

import json
import secrets
import struct

from chalicelib.config import settings
from chalicelib.core.errors import DependencyUnavailable
from chalicelib.outbound.aws import client

VERSION = 1


def _aad(context: dict[str, str]) -> bytes:
    return json.dumps(context, sort_keys=True, separators=(",", ":")).encode()


class KmsEnvelopeEncryption:
    def __init__(self, key_id: str | None = None) -> None:
        self._key_id = key_id or settings().kms_key_id

    def encrypt(self, plaintext: bytes, context: dict[str, str]) -> bytes:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        try:
            data_key = client("kms").generate_data_key(KeyId=self._key_id, KeySpec="AES_256", EncryptionContext=context)
        except Exception as error:  # botocore errors: KMS unreachable or denied
            raise DependencyUnavailable(detail=f"kms generate_data_key: {error}") from error
        nonce = secrets.token_bytes(12)
        ciphertext = AESGCM(data_key["Plaintext"]).encrypt(nonce, plaintext, _aad(context))
        wrapped = bytes(data_key["CiphertextBlob"])
        return struct.pack(">BH", VERSION, len(wrapped)) + wrapped + nonce + ciphertext

    def decrypt(self, blob: bytes, context: dict[str, str]) -> bytes:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        version, wrapped_len = struct.unpack(">BH", blob[:3])
        if version != VERSION:
            raise ValueError("unknown envelope version")
        wrapped = blob[3 : 3 + wrapped_len]
        nonce = blob[3 + wrapped_len : 15 + wrapped_len]
        ciphertext = blob[15 + wrapped_len :]
        try:
            data_key = client("kms").decrypt(CiphertextBlob=wrapped, EncryptionContext=context)["Plaintext"]
        except Exception as error:
            raise DependencyUnavailable(detail=f"kms decrypt: {error}") from error
        return bytes(AESGCM(data_key).decrypt(nonce, ciphertext, _aad(context)))
