"""Prompt lookup: continuations copied from the context, to mix into the draft tree.

The paper's first-order table cannot predict a token that depends on more than the previous
token, yet code, summaries and retrieval answers copy whole spans of their context. Two matchers
over the context (prompt + committed output) share two verbs: ``extend(tokens)`` appends
committed tokens, ``copies(length, branches)`` returns what followed an earlier occurrence of the
context's suffix, as a :class:`Copies`.

- :class:`SuffixAutomaton` (the default config's): the *longest* suffix of the context that
  occurred before, and every distinct token that followed it, each with the span that followed
  its first occurrence. Amortised O(1) per appended token, O(1) per query, memory linear in the
  context (at most ``2n`` states).
- :class:`NgramIndex` (kept for the ablations): the latest earlier occurrence of the context's
  last ``max_n``..1 tokens, one continuation.

Host-side, stdlib only.
"""

from __future__ import annotations

from typing import NamedTuple


class Copies(NamedTuple):
    """What a matcher proposes for one step.

    ``match_len``: length of the context suffix that was matched (0: no match). ``chains``:
    distinct continuations (no two start with the same token), the most likely first; each is
    the span that followed an earlier occurrence of the suffix.
    """

    match_len: int
    chains: list[list[int]]


NO_COPIES = Copies(0, [])


class SuffixAutomaton:
    """The suffix automaton of a growing token list, for longest-match copying.

    States are equivalence classes of substrings with the same set of end positions; ``_len`` is
    the longest substring of a state, ``_link`` its suffix link, ``_first`` the end position of
    its first occurrence. After ``extend``, the suffix link of the state of the whole context is
    the state of the longest suffix that also occurs earlier, so a query never rescans.
    """

    def __init__(self, tokens: list[int] | tuple[int, ...] = ()):
        self.tokens: list[int] = []
        self._len: list[int] = [0]
        self._link: list[int] = [-1]
        self._next: list[dict[int, int]] = [{}]
        self._first: list[int] = [-1]
        self._last = 0  # state of the whole context
        self.extend(tokens)

    @property
    def n_states(self) -> int:
        return len(self._len)

    def extend(self, new: list[int] | tuple[int, ...]) -> None:
        """Append committed tokens (amortised O(1) each: the classic online construction)."""
        for t in new:
            self._append(t)

    def _new_state(self, length: int, link: int, nxt: dict[int, int], first: int) -> int:
        self._len.append(length)
        self._link.append(link)
        self._next.append(nxt)
        self._first.append(first)
        return len(self._len) - 1

    def _append(self, t: int) -> None:
        pos = len(self.tokens)
        self.tokens.append(t)
        cur = self._new_state(self._len[self._last] + 1, 0, {}, pos)
        p = self._last
        while p != -1 and t not in self._next[p]:
            self._next[p][t] = cur
            p = self._link[p]
        if p != -1:
            q = self._next[p][t]
            if self._len[p] + 1 == self._len[q]:
                self._link[cur] = q
            else:  # split q: the shorter strings get a clone that also ends at pos
                clone = self._new_state(
                    self._len[p] + 1, self._link[q], dict(self._next[q]), self._first[q]
                )
                while p != -1 and self._next[p].get(t) == q:
                    self._next[p][t] = clone
                    p = self._link[p]
                self._link[q] = self._link[cur] = clone
        self._last = cur

    def match_len(self) -> int:
        """Length of the longest suffix of the context that also ends earlier (0: none)."""
        return self._len[self._link[self._last]] if self._last else 0

    def copies(self, length: int, branches: int = 1) -> Copies:
        """Up to ``branches`` continuations of the longest earlier match, ``length`` tokens each.

        One branch per distinct token that followed the match (the first occurrence's span after
        it): the continuation of the match's first occurrence first, then the others, most
        recently first seen first.
        """
        ell = self.match_len()
        if ell == 0 or length < 1 or branches < 1:
            return NO_COPIES
        v = self._link[self._last]
        start = self._first[v] + 1  # the primary continuation: after the first occurrence
        chains = [self.tokens[start : start + length]]
        if branches > 1:
            firsts = sorted(
                (self._first[u] for t, u in self._next[v].items() if t != self.tokens[start]),
                reverse=True,
            )
            chains += [self.tokens[f : f + length] for f in firsts[: branches - 1]]
        return Copies(ell, chains)


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

    def copies(self, length: int, branches: int = 1) -> Copies:
        """The tokens that followed the latest earlier match of the current suffix (n tried from
        ``max_n`` down to ``min_n``); one branch at most."""
        end = len(self.tokens)
        for n in range(self.max_n, self.min_n - 1, -1):
            if end < n:
                continue
            pos = self._last.get(tuple(self.tokens[end - n : end]))
            if pos is not None:
                return Copies(n, [self.tokens[pos : pos + length]])
        return NO_COPIES

    def continuation(self, length: int) -> list[int]:
        """Up to ``length`` tokens that followed the latest earlier match of the current suffix."""
        found = self.copies(length)
        return found.chains[0] if found.chains else []
