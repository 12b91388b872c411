"""Payload encryption: AES-256-GCM with key ids, so the Temporal server never sees job data.

Every client and worker Lanes builds (:func:`core.client.connect`) gets :func:`data_converter`,
which adds :class:`EncryptionCodec` to the pydantic converter when ``LANES_ENCRYPTION_KEYS`` is
set. Inputs, results, heartbeat details, memos and failure details are encrypted before they leave
the process; failure messages and stack traces are moved into an encoded attribute first (the
SDK's ``encode_common_attributes``), so the history keeps only ``Encoded failure``.

Keys: ``LANES_ENCRYPTION_KEYS=key_id:base64_32_bytes[,key_id:...]``. The first key encrypts; every
listed key decrypts, chosen by the key id each payload carries in its metadata. Rotation without
downtime: deploy ``new,old`` everywhere, then drop ``old`` once nothing written under it is still
needed (retention). Make a key with ``python -c "import os, base64;
print(base64.b64encode(os.urandom(32)).decode())"``.

Payloads are decoded by their ``encoding`` metadata, not by the configuration: a payload written
before keys were set (no ``binary/encrypted`` encoding) passes through unchanged, and an encrypted
payload whose key this process lacks fails with :class:`CodecKeyError` naming the key id, never
with garbage. The nonce is 12 random bytes per payload; the key id is authenticated data, so a
payload cannot be relabelled to another key.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticPayloadConverter, pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    EncodingPayloadConverter,
    PayloadCodec,
)

from core.settings import LanesSettings, SettingsError, settings

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "ENCODING",
    "KEY_ID_METADATA",
    "CodecKeyError",
    "EncryptionCodec",
    "EncryptionKey",
    "PayloadConverter",
    "codec_from_settings",
    "data_converter",
    "parse_keys",
]

ENCODING = b"binary/encrypted"
"""The ``encoding`` metadata of an encrypted payload (the value Temporal's samples use)."""
KEY_ID_METADATA = "encryption-key-id"
"""Metadata entry naming the key a payload was encrypted with."""
_NONCE = 12


class CodecKeyError(SettingsError):
    """A key in ``LANES_ENCRYPTION_KEYS`` is malformed, or a payload's key is missing or wrong."""


@dataclass(frozen=True, repr=False)
class EncryptionKey:
    """One AES-256 key and the id payloads name it by."""

    id: str
    secret: bytes

    def __repr__(self) -> str:  # the key material never reaches a log line or a traceback
        return f"EncryptionKey(id={self.id!r})"


def parse_keys(raw: str) -> list[EncryptionKey]:
    """``key_id:base64,...`` as keys, first one first; errors name the entry, never the key."""
    keys: list[EncryptionKey] = []
    for position, entry in enumerate((e.strip() for e in raw.split(",")), start=1):
        if not entry:
            continue
        key_id, sep, encoded = entry.partition(":")
        key_id = key_id.strip()
        where = f"LANES_ENCRYPTION_KEYS entry {position}" + (f" ({key_id!r})" if sep else "")
        if not sep or not key_id:
            raise CodecKeyError(
                f"{where} is not key_id:base64_key; write e.g. 2026-01:<44 base64 characters>"
            )
        try:
            secret = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise CodecKeyError(f"{where} is not valid base64") from None
        if len(secret) != 32:
            raise CodecKeyError(
                f"{where} decodes to {len(secret)} bytes; AES-256 needs 32 "
                "(base64 of os.urandom(32))"
            )
        if any(k.id == key_id for k in keys):
            raise CodecKeyError(f"{where}: key id {key_id!r} is listed twice")
        keys.append(EncryptionKey(key_id, secret))
    return keys


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM payload codec: encrypts with the first key, decrypts with any by key id.

    Without keys it only decodes: plain payloads pass through, encrypted ones raise
    :class:`CodecKeyError`.
    """

    def __init__(self, keys: Sequence[EncryptionKey]) -> None:
        self._ciphers: dict[str, AESGCM] = {}
        if keys:
            # Imported here: a process without keys never loads cryptography (~25 ms, ~1 MiB).
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            self._ciphers = {k.id: AESGCM(k.secret) for k in keys}
        self._current = keys[0].id if keys else None

    @property
    def key_ids(self) -> list[str]:
        """Ids this codec can decrypt, the encrypting one first."""
        return list(self._ciphers)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        if self._current is None:
            return list(payloads)
        key_id = self._current
        cipher = self._ciphers[key_id]
        aad = key_id.encode()
        out = []
        for payload in payloads:
            nonce = os.urandom(_NONCE)
            sealed = cipher.encrypt(nonce, payload.SerializeToString(), aad)
            out.append(
                Payload(metadata={"encoding": ENCODING, KEY_ID_METADATA: aad}, data=nonce + sealed)
            )
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decode_one(p) for p in payloads]

    def decode_one(self, payload: Payload) -> Payload:
        """One payload decrypted, or returned as is when it was never encrypted."""
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            held = ", ".join(repr(k) for k in self._ciphers) or "none"
            raise CodecKeyError(
                f"payload is encrypted with key id {key_id!r}, which this process does not hold "
                f"(LANES_ENCRYPTION_KEYS has: {held}); add that key to LANES_ENCRYPTION_KEYS"
            )
        from cryptography.exceptions import InvalidTag

        data = payload.data
        try:
            plain = cipher.decrypt(data[:_NONCE], data[_NONCE:], key_id.encode())
        except InvalidTag:
            raise CodecKeyError(
                f"payload under key id {key_id!r} does not decrypt: the key configured with that "
                "id is not the one it was written with (or the payload was altered)"
            ) from None
        return Payload.FromString(plain)


class _SealedPayloads(EncodingPayloadConverter):
    """Without keys: an encrypted payload is refused by name instead of "unknown encoding"."""

    @property
    def encoding(self) -> str:
        return ENCODING.decode()

    def to_payload(self, value: Any) -> Payload | None:
        return None  # never chosen to encode a value

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode(errors="replace")
        raise CodecKeyError(
            f"payload is encrypted with key id {key_id!r}, which this process does not hold "
            "(LANES_ENCRYPTION_KEYS has: none); add that key to LANES_ENCRYPTION_KEYS"
        )


class PayloadConverter(PydanticPayloadConverter):
    """Lanes' payload converter: pydantic's, plus a clear refusal of encrypted payloads."""

    def __init__(self) -> None:
        super().__init__()
        self._set_converters(*self.converters.values(), _SealedPayloads())


def codec_from_settings(config: LanesSettings | None = None) -> EncryptionCodec:
    """The codec for ``LANES_ENCRYPTION_KEYS`` (decode-only when it is unset)."""
    secret = (config or settings()).encryption_keys
    return EncryptionCodec(parse_keys(secret.get_secret_value()) if secret else [])


def data_converter(config: LanesSettings | None = None) -> DataConverter:
    """Lanes' converter: pydantic payloads, encrypted when keys are configured."""
    codec = codec_from_settings(config)
    if not codec.key_ids:
        # No codec at all: the SDK then skips a Python call per payload on every task. The
        # converter still names the key of an encrypted payload (see _SealedPayloads).
        return dataclasses.replace(
            pydantic_data_converter, payload_converter_class=PayloadConverter
        )
    return dataclasses.replace(
        pydantic_data_converter,
        payload_converter_class=PayloadConverter,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
