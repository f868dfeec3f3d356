"""Append-only Merkle log with RFC 6962 hashing (formats section 5.9).

The tree keeps every perfect subtree hash level by level, so appending is
O(log n) and a root or an audit path for any tree size is computed from
O(log n) stored nodes instead of rehashing the leaves.
"""

from __future__ import annotations

import hashlib


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


def _split(n: int) -> int:
    """Largest power of two strictly smaller than *n* (n >= 2)."""
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


class MerkleTree:
    """Leaves are appended as their leaf hashes; ``levels[h][i]`` hashes leaves i*2^h .. (i+1)*2^h - 1."""

    def __init__(self, leaf_hashes: list[bytes] | None = None):
        self.levels: list[list[bytes]] = [[]]
        for lh in leaf_hashes or ():
            self.append_hash(lh)

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def append_hash(self, lh: bytes) -> int:
        """Append a leaf hash; returns its index."""
        index = self.size
        self.levels[0].append(lh)
        h, i = 0, index
        while i % 2 == 1:  # a right child completes its parent
            parent = node_hash(self.levels[h][i - 1], self.levels[h][i])
            h += 1
            if len(self.levels) == h:
                self.levels.append([])
            self.levels[h].append(parent)
            i //= 2
        return index

    def _subtree(self, start: int, n: int) -> bytes:
        """MTH of leaves[start:start+n]; n >= 1."""
        if n & (n - 1) == 0 and start % n == 0:
            return self.levels[n.bit_length() - 1][start // n]
        k = _split(n)
        return node_hash(self._subtree(start, k), self._subtree(start + k, n - k))

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        if not 0 <= size <= self.size:
            raise ValueError("tree size out of range")
        return EMPTY_ROOT if size == 0 else self._subtree(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """Audit path of RFC 6962 section 2.1.1 for leaf *index* in the tree of *size* leaves."""
        size = self.size if size is None else size
        if not 0 <= index < size <= self.size:
            raise ValueError("index or size out of range")
        path: list[bytes] = []
        start, n, m = 0, size, index
        while n > 1:
            k = _split(n)
            if m < k:
                path.append(self._subtree(start + k, n - k))
                n = k
            else:
                path.append(self._subtree(start, k))
                start, n, m = start + k, n - k, m - k
        path.reverse()
        return path


def verify_inclusion(lh: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 section 2.1.3.2: does *proof* place leaf hash *lh* at *index* under *root*?"""
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    r = lh
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root
