"""Credentials on the wire: AUTH_NONE and AUTH_SYS (RFC 5531 section 8.2, appendix A).

Rules: a credential that does not decode cleanly, or of a flavor this runtime does not
speak, is a BadCredential, which the server answers with AUTH_ERROR / AUTH_BADCRED.
AUTH_SYS bodies are coded by the generated `authsys_parms` type (machinename at most
255 bytes, at most 16 extra gids, the whole body at most 400 bytes).
"""

from __future__ import annotations

import functools
import struct

from reference.rpc.message import MAX_AUTH_BYTES
from reference.rpc.stubs import AuthNone, AuthSys, Credential
from reference.xdr import XdrError
from reference.xdr.gen.rpc_msg import AUTH_NONE, AUTH_SYS, authsys_parms

CREDENTIALS_REMEMBERED = 1024
_NONE_CREDENTIAL = struct.pack(">II", AUTH_NONE, 0)


class BadCredential(ValueError):
    """A credential the server cannot accept; the message says why."""


def encode_credential(credential: Credential) -> bytes:
    """The opaque_auth bytes of a credential."""
    if isinstance(credential, AuthNone):
        return _NONE_CREDENTIAL
    body = authsys_parms(
        credential.stamp,
        credential.machinename,
        credential.uid,
        credential.gid,
        list(credential.gids),
    ).encode()
    if len(body) > MAX_AUTH_BYTES:
        raise XdrError(f"AUTH_SYS credential of {len(body)} bytes exceeds 400")
    return struct.pack(">II", AUTH_SYS, len(body)) + body


@functools.lru_cache(maxsize=CREDENTIALS_REMEMBERED)
def decode_credential(flavor: int, body: bytes) -> Credential:
    """The credential of a call's opaque_auth. Remembered by value: a client sends the
    same credential with every call, and Credentials are frozen, so a remembered one is
    the one decoding would build (a BadCredential is raised again, never remembered)."""
    if flavor == AUTH_NONE:
        return AuthNone()
    if flavor == AUTH_SYS:
        try:
            parms = authsys_parms.decode(body)
        except XdrError as error:
            raise BadCredential(f"AUTH_SYS body does not decode: {error}") from None
        return AuthSys(parms.stamp, parms.machinename, parms.uid, parms.gid, tuple(parms.gids))
    raise BadCredential(f"auth flavor {flavor} is not supported (only AUTH_NONE and AUTH_SYS)")
