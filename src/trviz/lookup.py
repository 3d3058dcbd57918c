"""Prompt lookup: continuations copied from the context, to mix into the draft tree.

The paper's first-order table cannot predict a token that depends on more than the previous
token, yet code, summaries and retrieval answers copy whole spans of their context. An
:class:`NgramIndex` maps every n-gram of the context (prompt + committed output) to its most
recent position; :meth:`NgramIndex.continuation` returns the tokens that followed the latest
earlier occurrence of the context's last n tokens (n tried from longest to shortest). Host-side,
O(1) per lookup and O(n) per committed token. Stdlib only.
"""

from __future__ import annotations


class NgramIndex:
    """Latest position of every n-gram (``min_n <= n <= max_n``) of a growing token list."""

    def __init__(self, tokens: list[int], max_n: int = 3, min_n: int = 1):
        if not 1 <= min_n <= max_n:
            raise ValueError(f"need 1 <= min_n <= max_n, got {min_n}, {max_n}")
        self.max_n, self.min_n = max_n, min_n
        self.tokens: list[int] = []
        self._last: dict[tuple[int, ...], int] = {}  # n-gram -> index just after its latest end
        self._pending: dict[tuple[int, ...], int] = {}
        self.extend(tokens)

    def extend(self, new: list[int]) -> None:
        """Append committed tokens and index the n-grams they complete.

        An n-gram ending at the very end of the context is held back one token, so a lookup never
        matches the suffix against itself.
        """
        for t in new:
            self._last.update(self._pending)
            self.tokens.append(t)
            end = len(self.tokens)
            self._pending = {
                tuple(self.tokens[end - n : end]): end
                for n in range(self.min_n, self.max_n + 1)
                if end >= n
            }

    def continuation(self, length: int) -> list[int]:
        """Up to ``length`` tokens that followed the latest earlier match of the current suffix."""
        end = len(self.tokens)
        for n in range(self.max_n, self.min_n - 1, -1):
            if end < n:
                continue
            pos = self._last.get(tuple(self.tokens[end - n : end]))
            if pos is not None:
                return self.tokens[pos : pos + length]
        return []
