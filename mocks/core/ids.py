"""Injected identifiers and randomness: deterministic from a seed, or from the OS."""

from __future__ import annotations

import hashlib
import os
import random
import threading

# RFC 4122 version 4: the variant bits (10) and the version nibble (4) set, as uuid.UUID(version=4) sets them
_UUID_KEEP = ~((0xC000 << 48) | (0xF000 << 64)) & ((1 << 128) - 1)
_UUID_V4 = (0x8000 << 48) | (0x4000 << 64)


class IdSource:
    """The only source of UUIDs, tokens and random streams in the mocks.

    With a seed, every stream is reproducible: ``rng(name)`` gives an independent
    ``random.Random`` derived from the seed and the name, so the order in which
    different parts of a mock draw numbers does not change what each part sees.
    Without a seed, values come from ``os.urandom``.

    ``instance`` tells apart the processes of one mock (a number each draws from the database, see
    ``mocks.core.control``): with it the main stream (UUIDs, tokens, nonces) is the seed's stream of that
    process, so processes started with the same seed never issue the same nonce. Named ``rng`` streams
    stay the same in every process (they are the seed's decisions, such as a scoring policy's).
    """

    def __init__(self, seed: int | None = None, instance: int = 0) -> None:
        self.seed = seed
        self.instance = instance
        self._lock = threading.Lock()
        self._main = self._make(self._main_name())

    def _main_name(self) -> str:
        return "ids" if not self.instance else f"ids:process-{self.instance}"

    def _make(self, name: str) -> random.Random:
        if self.seed is None:
            return random.Random(int.from_bytes(os.urandom(16), "big"))
        digest = hashlib.sha256(f"{self.seed}:{name}".encode()).digest()
        return random.Random(int.from_bytes(digest[:16], "big"))

    def rng(self, name: str) -> random.Random:
        """A fresh random stream for ``name`` (reproducible when seeded)."""
        return self._make(name)

    def uuid(self) -> str:
        """A version-4 UUID string (lower case): ``str(uuid.UUID(int=bits, version=4))``, formatted directly."""
        with self._lock:
            bits = self._main.getrandbits(128)
        h = "%032x" % ((bits & _UUID_KEEP) | _UUID_V4)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def uuids(self, count: int) -> list[str]:
        """``count`` UUIDs in one draw: the strings ``count`` calls of :meth:`uuid` give, in that order.

        Mersenne Twister's ``getrandbits(128 * count)`` is ``count`` draws of 128 bits, the first the
        lowest (tests/core/test_ids.py holds it to :meth:`uuid`), so the seeded stream does not change.
        """
        with self._lock:
            bits = self._main.getrandbits(128 * count)
        out = []
        for _ in range(count):
            h = "%032x" % ((bits & _UUID_KEEP) | _UUID_V4)
            out.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
            bits >>= 128
        return out

    def token(self, nbytes: int = 16) -> str:
        """A hex token of ``nbytes`` random bytes."""
        with self._lock:
            bits = self._main.getrandbits(nbytes * 8)
        return f"{bits:0{nbytes * 2}x}"

    def reseed(self, seed: int | None) -> None:
        """Restart every stream from ``seed``."""
        with self._lock:
            self.seed = seed
            self._main = self._make(self._main_name())
