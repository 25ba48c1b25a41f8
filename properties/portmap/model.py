"""The model of a port mapper's mappings (RFC 1833 §3.2), the oracle of the machine.

Rules:
- A mapping is keyed by (prog, vers, prot) and names one port. SET of a key not mapped
  maps it and answers TRUE; of a mapped key it answers FALSE and changes nothing, even to
  the same port. UNSET removes (prog, vers) under every protocol, whatever its argument's
  prot and port, and answers whether anything was mapped. GETPORT answers the key's port,
  0 when it is not mapped. DUMP lists each mapping once, in no particular order.
- Running SET or UNSET again changes nothing more and answers FALSE: `again()` is what a
  copy of a call that runs a second time answers (no duplicate request cache).
"""

from __future__ import annotations

from dataclasses import dataclass, field

Key = tuple[int, int, int]  # (prog, vers, prot)
Entry = tuple[int, int, int, int]  # (prog, vers, prot, port)


@dataclass
class PortmapModel:
    mappings: dict[Key, int] = field(default_factory=dict)

    def set(self, key: Key, port: int) -> bool:
        if key in self.mappings:
            return False
        self.mappings[key] = port
        return True

    def unset(self, prog: int, vers: int) -> bool:
        keys = [key for key in self.mappings if key[:2] == (prog, vers)]
        for key in keys:
            del self.mappings[key]
        return bool(keys)

    def getport(self, key: Key) -> int:
        return self.mappings.get(key, 0)

    def dump(self) -> list[Entry]:
        return sorted((*key, port) for key, port in self.mappings.items())

    @staticmethod
    def again() -> bool:
        """What SET or UNSET answers when a copy of it runs again."""
        return False
