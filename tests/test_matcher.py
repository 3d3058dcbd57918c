"""Longest-match copying: the suffix automaton against a brute-force oracle."""

from __future__ import annotations

import random
import tracemalloc

import pytest

from trviz.lookup import NO_COPIES, Copies, NgramIndex, SuffixAutomaton


def oracle(text: list[int]) -> tuple[int, list[int]]:
    """(longest suffix length that also ends earlier, the earlier end positions), by brute force."""
    n = len(text)
    for ell in range(n - 1, 0, -1):
        ends = [j for j in range(ell - 1, n - 1) if text[j - ell + 1 : j + 1] == text[n - ell :]]
        if ends:
            return ell, ends
    return 0, []


def test_hand_drawn_case():
    #  a b c a b d a b   -> the suffix "a b" occurred at 0-1 and 3-4: followed by c and d
    sam = SuffixAutomaton([1, 2, 3, 1, 2, 4, 1, 2])
    found = sam.copies(3, branches=3)
    assert found == Copies(2, [[3, 1, 2], [4, 1, 2]])  # first occurrence's span first
    assert sam.copies(3, branches=1).chains == [[3, 1, 2]]
    sam.extend([4])  # "a b d" matched at 3-5, followed by "a b d"
    assert sam.copies(5) == Copies(3, [[1, 2, 4]])  # the copy may run into the suffix
    assert SuffixAutomaton([7, 8, 9]).copies(4) == NO_COPIES  # the suffix never matches itself
    assert SuffixAutomaton().copies(4) == NO_COPIES


@pytest.mark.parametrize("alphabet", [1, 2, 3, 6])
def test_suffix_automaton_matches_the_oracle_on_random_sequences(alphabet):
    rng = random.Random(alphabet)
    for _ in range(60):
        text = [rng.randrange(alphabet) for _ in range(rng.randint(1, 50))]
        sam = SuffixAutomaton()
        for i, t in enumerate(text):
            sam.extend([t])
            seen = text[: i + 1]
            ell, ends = oracle(seen)
            assert sam.match_len() == ell
            found = sam.copies(6, branches=alphabet + 1)
            if not ell:
                assert found == NO_COPIES
                continue
            assert found.match_len == ell
            first = min(ends)
            assert found.chains[0] == seen[first + 1 : first + 7]
            # one branch per distinct following token, each the span after its first occurrence
            assert sorted(c[0] for c in found.chains) == sorted({seen[j + 1] for j in ends})
            for chain in found.chains:
                f = min(j for j in ends if seen[j + 1] == chain[0])
                assert chain == seen[f + 1 : f + 7]
        assert sam.n_states <= max(2 * len(text) - 1, 2)


def test_prompt_then_generated_tokens_equals_one_extend():
    rng = random.Random(0)
    text = [rng.randrange(4) for _ in range(80)]
    a, b = SuffixAutomaton(text), SuffixAutomaton(text[:30])
    for i in range(30, 80, 3):
        b.extend(text[i : i + 3])
    assert a.copies(8, 4) == b.copies(8, 4)


def test_memory_is_linear_in_the_context():
    rng = random.Random(1)
    text = [rng.randrange(50) for _ in range(8000)]
    sizes = []
    for n in (2000, 8000):
        tracemalloc.start()
        sam = SuffixAutomaton(text[:n])
        sizes.append(tracemalloc.get_traced_memory()[0])
        tracemalloc.stop()
        assert sam.n_states <= 2 * n
        del sam
    assert sizes[1] / sizes[0] < 4 * 1.3  # 4x the tokens, about 4x the memory


def test_ngram_index_reports_the_length_it_matched():
    ix = NgramIndex([1, 2, 3, 4, 5, 1, 2], max_n=3)
    assert ix.copies(4) == Copies(2, [[3, 4, 5, 1]])
    assert NgramIndex([7, 8, 9]).copies(3) == NO_COPIES
