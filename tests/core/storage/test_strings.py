"""Packed strings: one UTF-8 blob and end offsets, unpacked to the very same strings."""

import numpy as np
import pytest

from bot.core.storage.strings import pack_strings, unpack_strings


def test_strings_round_trip_with_any_characters() -> None:
    """Accents, emoji, empty strings and even a lone surrogate come back as they were."""
    strings = ["", "plain", "Erdoğan – “x”", "\ud800 lone surrogate", "emoji 🙂", ""]
    packed = pack_strings(strings)
    assert packed.blob.dtype == np.uint8
    assert unpack_strings(*packed) == strings
    assert unpack_strings(*pack_strings([])) == []


def test_offsets_that_disagree_with_the_blob_are_refused() -> None:
    """A damaged blob or offsets raise ValueError rather than return wrong strings."""
    blob, ends = pack_strings(["abc", "de"])
    with pytest.raises(ValueError, match="disagree"):
        unpack_strings(blob, ends + 1)
