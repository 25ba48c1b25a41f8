"""File handles: volume id + inode number + generation, authenticated by a MAC.

Rules:
- Layout (HANDLE_SIZE = 25 bytes, big-endian): a format byte (HANDLE_FORMAT), the volume
  id (u32), the inode number (u64), the generation (u32), then the first 8 bytes of
  HMAC-SHA256 under the store's secret over the 17 bytes before it.
- NFSv3 handles are those 25 bytes (within opaque<64>). NFSv2 handles are exactly 32
  bytes: the same 25 followed by 7 zero bytes. `decode` accepts both forms.
- `decode` answers BADHANDLE for anything that is not a handle this store made: a wrong
  length, format byte, non-zero padding or MAC. A handle with a valid MAC from another
  volume is STALE (the file system it names is not here). Whether the inode and its
  generation are still live is the FileSystem's question (STALE too).
- A forged or corrupted handle therefore never names another file: changing any bit
  changes the MAC it needs, and guessing an 8-byte MAC succeeds once in 2**64.
- A codec remembers the handles it made and the ones it found authentic (in Memos), so
  a busy handle costs one HMAC, not one a call. Only authentic handles of this volume
  are remembered: whatever else comes is checked in full every time.
"""

from __future__ import annotations

import hmac
import struct
from dataclasses import dataclass

from reference.nfs.errors import NfsError
from reference.nfs.memo import Memo
from reference.xdr.gen.nfs3 import NFS3ERR_BADHANDLE, NFS3ERR_STALE

HANDLE_FORMAT = 1
MAC_SIZE = 8
V2_HANDLE_SIZE = 32
_BODY = struct.Struct(">BIQI")
HANDLE_SIZE = _BODY.size + MAC_SIZE
_V2_PADDING = bytes(V2_HANDLE_SIZE - HANDLE_SIZE)


@dataclass(frozen=True, slots=True)
class HandleTarget:
    """What an authentic handle names: an inode number and the generation it had."""

    ino: int
    generation: int


class HandleCodec:
    """Makes and checks the handles of one store (its secret and volume id)."""

    def __init__(
        self, secret: bytes, volume_id: int, check_mac: bool = True, check_volume: bool = True
    ) -> None:
        self._secret = secret
        self._volume_id = volume_id
        self._check_mac = check_mac  # False only for ServerBugs(handle_mac_unchecked)
        self._check_volume = check_volume  # False only for ServerBugs(handle_volume_unchecked)
        self._made: Memo[tuple[int, int], bytes] = Memo()
        self._authentic: Memo[bytes, HandleTarget] = Memo()

    def _mac(self, body: bytes) -> bytes:
        return hmac.digest(self._secret, body, "sha256")[:MAC_SIZE]

    def encode(self, ino: int, generation: int) -> bytes:
        """The NFSv3 handle of inode `ino` at `generation`."""
        handle = self._made.get((ino, generation))
        if handle is None:
            body = _BODY.pack(HANDLE_FORMAT, self._volume_id, ino, generation)
            handle = self._made.remember((ino, generation), body + self._mac(body))
        return handle

    def decode(self, handle: bytes) -> HandleTarget:
        """What a v3 or v2 handle names; NfsError BADHANDLE or STALE if it names nothing."""
        if len(handle) == V2_HANDLE_SIZE:
            if handle[HANDLE_SIZE:] != _V2_PADDING:
                raise NfsError(NFS3ERR_BADHANDLE, "NFSv2 handle padding is not zero")
            handle = handle[:HANDLE_SIZE]
        known = self._authentic.get(handle)
        if known is not None:
            return known
        if len(handle) != HANDLE_SIZE:
            raise NfsError(NFS3ERR_BADHANDLE, f"handle of {len(handle)} bytes, not {HANDLE_SIZE}")
        body = handle[: _BODY.size]
        form, volume_id, ino, generation = _BODY.unpack(body)
        if form != HANDLE_FORMAT:
            raise NfsError(NFS3ERR_BADHANDLE, f"unknown handle format {form}")
        if self._check_mac and not hmac.compare_digest(handle[_BODY.size :], self._mac(body)):
            raise NfsError(NFS3ERR_BADHANDLE, "handle MAC does not match (forged or corrupted)")
        if volume_id != self._volume_id and self._check_volume:
            raise NfsError(NFS3ERR_STALE, f"handle of volume {volume_id:#x}, not this one")
        return self._authentic.remember(bytes(handle), HandleTarget(ino, generation))


def to_v2(handle: bytes) -> bytes:
    """The 32-byte NFSv2 form of a v3 handle."""
    if len(handle) != HANDLE_SIZE:
        raise ValueError(f"not a {HANDLE_SIZE}-byte handle: {len(handle)} bytes")
    return handle + _V2_PADDING
