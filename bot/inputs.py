"""What users send, cleaned at the boundary before any work: questions and search queries
(from the CLI, Discord slash commands, mentions and replies alike)."""

from __future__ import annotations

import re
import unicodedata

from bot.errors import QuestionError

# CSI (`ESC [ 31m`) and OSC (`ESC ] 0;title BEL`) sequences; a lone ESC is a control char.
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?")


def clean_question(text: str, max_chars: int) -> str:
    """Strip control characters and extra space; refuse empty or over-long questions."""
    text = _ANSI_ESCAPE.sub(" ", text)  # colours pasted from a terminal are not words
    # Lone surrogates (undecodable bytes, JSON "\\ud800") cannot be stored as UTF-8: replace them.
    cleaned = "".join(
        " "
        if (cat := unicodedata.category(ch)) in {"Cc", "Zl", "Zp"}
        else "\ufffd"
        if cat == "Cs"
        else ch
        for ch in text
    )
    cleaned = " ".join(cleaned.split())
    if not cleaned:
        raise QuestionError("Please type a question.")
    if len(cleaned) > max_chars:
        raise QuestionError(
            f"That question is {len(cleaned):,} characters long; the limit is {max_chars:,}. "
            "Please shorten it."
        )
    return cleaned
