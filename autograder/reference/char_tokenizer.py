"""Reference character tokenizer (lesson 02): the grading checks compare a learner's with it.

Written as a left-to-right scan (not the regex split the lesson suggests), so that it is an
independent second opinion.  Never shipped to students.
"""

from __future__ import annotations

EOT, UNK = "<|endoftext|>", "<unk>"
SPECIALS = (EOT, UNK)


def vocabulary(text: str, specials: tuple[str, ...] = SPECIALS) -> list[str]:
    """itos: the sorted distinct characters of ``text``, then the special tokens in the order given."""
    return sorted(set(text)) + list(specials)


def encode(s: str, itos: list[str], specials: tuple[str, ...] = SPECIALS) -> list[int]:
    """Scan left to right: a special token's string is one id, any other character its own id or <unk>'s."""
    stoi = {token: i for i, token in enumerate(itos)}
    out, j = [], 0
    while j < len(s):
        special = next((t for t in specials if s.startswith(t, j)), None)
        if special is not None:
            out.append(stoi[special])
            j += len(special)
        else:
            out.append(stoi.get(s[j], stoi[UNK]))
            j += 1
    return out
