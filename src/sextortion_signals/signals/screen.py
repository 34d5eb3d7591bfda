"""Where a message is screened before any tokenizer runs: its language is detected and
each language pack's gate (``gate.py``) applied, in one pass over its words.

Language detection and the gates both look at the same runs of letters; done apart they
each scanned the text and looked every word up again. Here each distinct word is looked
up once per process and its record kept (bounded): the languages it votes for and, for
every pack at once, the gate groups it satisfies (one integer, each pack's groups
shifted to their own bits) and the gate units indexed under it. Same answers as
``lang.detect`` and ``RuleGate.may_match`` (tested), for two thirds of their cost.

The text is read by whitespace-free chunk ("you?", "j'ai", "10min"): a chunk's words and
the gates' substrings inside it (``RuleGate.chunk_substrings``) are merged into one
record, also kept (bounded). No word and no such substring contains whitespace, so the
chunks give the text's words in order and every substring but those with whitespace
(``RuleGate.spanning_substrings``; none in the shipped packs), which are looked for in
the whole text. ``str.split`` costs a fraction of the token regex's ``findall``, and a
chunk seen before costs one lookup (6.2 -> 4.4 us a message on the benchmark's messages).

For each pack that passes, the screen also returns its complete gate units: the
pack's matcher then tries only those rules (``SignalMatcher.find``).

The answer is kept per (detected language, gate groups met): a unit is complete exactly
when all its groups are met (it is indexed under every word of one of its groups, and a
group is met only by one of its words being found), so the complete units, hence the
whole answer, follow from those two alone. A message whose two are known costs its chunk
lookups and two dict lookups; the units are listed only for a new pair (5.0 -> 2.2 us a
message on the benchmark's messages). The votes are counted in one integer for the same
reason: a field per language, added per chunk, and the language decided once per sum.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import NamedTuple

from .. import lang
from .._store import keep, keep_text
from .gate import RuleGate
from .pipe import build_nlp, signal_matcher

# ``lang.TOKEN`` (letters, an elision's apostrophe kept) or a run of digits: the letter
# tokens are exactly the detector's, and without the apostrophe every token is a run of
# ``gate.py``.
_TOKEN = re.compile(rf"{lang.TOKEN.pattern}|[0-9]+")
_MAX_WORDS = 100_000  # records kept, words and chunks each (``_store``)
_MAX_ANSWERS = 20_000  # answers (and languages) kept; ~7,000 answers for 20,000 messages
# Votes are counted in one integer, a field of this many bits per language: a message
# would need 2**32 words for a count to spill into the next field.
_VOTE_BITS = 32
_VOTE_FIELD = (1 << _VOTE_BITS) - 1


class _Record(NamedTuple):
    """What a word, or a chunk of the text, brings to the screen."""

    votes: int  # the languages it counts for (``lang.votes``), one per field (_VOTE_BITS)
    bits: int  # gate groups it satisfies, all packs, each shifted by its offset
    masks: tuple[tuple[int, ...], ...]  # per pack: units indexed under it
    indexed: bool  # some pack indexes units under it (else its masks are all empty)


# Per pack that passes: (pack, its complete units).
_Answer = tuple[tuple[str, tuple[int, ...]], ...]


class Screen:
    """``screen(text)`` -> (detected language or None, packs whose rules may match).

    ``gates``: pack language -> its rule gate. A message of a known pack language is
    checked against that pack; any other message against every pack."""

    def __init__(self, gates: Mapping[str, RuleGate]) -> None:
        # Per pack: (pack, position, gate, shift of its groups, mask of its groups).
        self._gates: list[tuple[str, int, RuleGate, int, int]] = []
        shift = 0
        for k, (pack, gate) in enumerate(gates.items()):
            self._gates.append((pack, k, gate, shift, (1 << gate.width) - 1))
            shift += gate.width
        self._position = {pack: k for k, pack in enumerate(gates)}
        self._spanning = any(gate.spanning for gate in gates.values())
        self._languages = lang.languages()
        self._vote = {code: 1 << (_VOTE_BITS * i) for i, code in enumerate(self._languages)}
        self._words: dict[str, _Record] = {}
        self._chunks: dict[str, _Record] = {}  # chunk -> its words' records, merged
        self._decided: dict[int, str | None] = {}  # vote counts -> language
        self._answers: dict[tuple[str | None, int], _Answer] = {}
        self._no_masks: tuple[tuple[int, ...], ...] = tuple(() for _ in self._gates)

    def _word(self, token: str) -> _Record:
        run = token.rstrip("'")
        bits = 0
        masks: list[tuple[int, ...]] = []
        for _, _, gate, shift, _ in self._gates:
            pack_bits, indexed = gate.entry(run)
            bits |= pack_bits << shift
            masks.append(indexed)
        votes = sum(self._vote[code] for code in lang.votes(token)) if token[0].isalpha() else 0
        word = _Record(votes, bits, tuple(masks), any(masks))
        return keep_text(self._words, token, word, _MAX_WORDS)

    def _chunk(self, chunk: str) -> _Record:
        """The merged record of a chunk: its substrings' and its words' bits, their votes,
        and per pack their masks one after the other (``RuleGate.complete`` only asks
        which are complete)."""
        words = self._words
        votes = 0
        bits = 0
        masks: list[list[int]] = []
        for _, _, gate, shift, _ in self._gates:
            pack_bits, found = gate.chunk_substrings(chunk)
            bits |= pack_bits << shift
            masks.append([mask for under_one in found for mask in under_one])
        for token in _TOKEN.findall(chunk):
            word = words.get(token) or self._word(token)
            votes += word.votes
            bits |= word.bits
            if word.indexed:
                for merged, under_word in zip(masks, word.masks, strict=True):
                    merged.extend(under_word)
        indexed_any = any(masks)
        record = _Record(votes, bits,
                         tuple(map(tuple, masks)) if indexed_any else self._no_masks,
                         indexed_any)
        return keep_text(self._chunks, chunk, record, _MAX_WORDS)

    def _decide(self, votes: int) -> str | None:
        """The language of a message whose words' votes add up to ``votes``."""
        counts = {code: (votes >> (_VOTE_BITS * i)) & _VOTE_FIELD
                  for i, code in enumerate(self._languages)}
        detected = lang.decide({code: n for code, n in counts.items() if n})
        return keep(self._decided, votes, detected, _MAX_ANSWERS)

    def record(self, chunk: str) -> _Record:
        """The record of one chunk of a normalised text (kept)."""
        return self._chunks.get(chunk) or self._chunk(chunk)

    def screen(self, text: str) -> tuple[str | None, dict[str, tuple[int, ...]]]:
        """``text`` is normalised (``normalize``): lowercase, folded. Returns the detected
        language and, per pack whose rules may match, the gate units that are complete
        (``RuleGate.complete``: for a pack's ``SignalMatcher``, the rules worth trying)."""
        chunks = self._chunks
        votes = satisfied = 0
        for chunk in text.split():
            record = chunks.get(chunk) or self._chunk(chunk)
            votes += record.votes
            satisfied |= record.bits
        detected, answer = self.known(votes, satisfied)
        if answer is None:
            answer = self.answer(text, detected, satisfied)
        return detected, dict(answer)

    def known(self, votes: int, satisfied: int) -> tuple[str | None, _Answer | None]:
        """The language of a text whose chunks' records add up to ``votes`` and
        ``satisfied``, and its answer if kept (None: ``answer`` needs the text)."""
        decided = self._decided
        detected = decided[votes] if votes in decided else self._decide(votes)
        if self._spanning:  # the answer also depends on substrings across chunks
            return detected, None
        return detected, self._answers.get((detected, satisfied))

    def answer(self, text: str, detected: str | None, satisfied: int) -> _Answer:
        """The answer for the normalised ``text``, from ``known``'s language and the
        groups its chunks meet."""
        if self._spanning:
            satisfied |= self._spanning_bits(text, detected)
        answer = self._answers.get((detected, satisfied))
        return answer if answer is not None else self._answer(text, detected, satisfied)

    def _candidates(self, detected: str | None) -> list[tuple[str, int, RuleGate, int, int]]:
        position = self._position.get(detected) if detected is not None else None
        return self._gates if position is None else [self._gates[position]]

    def _spanning_bits(self, text: str, detected: str | None) -> int:
        """The groups met by the gates' substrings with whitespace (looked for in the whole
        text), shifted as the chunks' bits are."""
        bits = 0
        for _, _, gate, shift, _ in self._candidates(detected):
            if gate.spanning:
                bits |= gate.spanning_substrings(text)[0] << shift
        return bits

    def _answer(self, text: str, detected: str | None, satisfied: int) -> _Answer:
        """The packs that pass and their complete units, for a new (language, groups met);
        kept. The units indexed under the text's words are listed to find them."""
        records = [self._chunks.get(chunk) or self._chunk(chunk) for chunk in text.split()]
        passing: list[tuple[str, tuple[int, ...]]] = []
        for pack, k, gate, shift, mask in self._candidates(detected):
            pack_bits = (satisfied >> shift) & mask
            if pack_bits:  # else no unit can be complete
                masks = gate.spanning_substrings(text)[1] if gate.spanning else []
                masks.extend([record.masks[k] for record in records if record.indexed])
                units = gate.complete(pack_bits, masks)
                if units or gate.always_open:  # ``may_match``'s answer
                    passing.append((pack, units))
            elif gate.always_open:
                passing.append((pack, ()))
        return keep(self._answers, (detected, satisfied), tuple(passing), _MAX_ANSWERS)


@cache
def screen_for(packs: tuple[str, ...]) -> Screen:
    """The screen of these packs' pipelines (``build_nlp``), one per process."""
    return Screen({pack: signal_matcher(build_nlp(pack)).gate for pack in packs})
