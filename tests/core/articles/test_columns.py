"""Passages kept as columns: views equal to the tuples they stand for, and lookups by id."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from bot.core.articles.columns import (
    ID_DTYPE,
    TEXT_HASH_DTYPE,
    PassageColumns,
    PassageFinder,
    StoredPassages,
)
from bot.core.articles.loader import parse_article
from bot.core.articles.models import Article, Passage

TEXTS = {
    "a.md": "Alpha\n\nThe first passage.\n\nZürich, naïve café — 🚲 emoji.\n",
    "b.md": "Beta\n\nOnly one here.\n",
}


def _columns(articles: list[Article]) -> PassageColumns:
    passages = [p for a in articles for p in a.passages]
    texts = [p.text.encode("utf-8") for p in passages]
    return PassageColumns(
        ids=np.array([p.id for p in passages], dtype=ID_DTYPE),
        text_hashes=np.array([p.text_hash for p in passages], dtype=TEXT_HASH_DTYPE),
        starts=np.array([p.start for p in passages], dtype=np.int64),
        ends=np.array([p.end for p in passages], dtype=np.int64),
        text_ends=np.cumsum([len(t) for t in texts]).astype(np.int64),
        texts=np.frombuffer(b"".join(texts), dtype=np.uint8),
    )


def _stored(articles: list[Article]) -> list[Article]:
    columns = _columns(articles)
    columns.check()
    out, first = [], 0
    for a in articles:
        view = StoredPassages(columns, first, len(a.passages), a.id)
        out.append(dataclasses.replace(a, passages=view))
        first += len(a.passages)
    return out


def test_stored_passages_equal_the_parsed_tuple_in_every_way() -> None:
    parsed = [parse_article(aid, text) for aid, text in TEXTS.items()]
    stored = _stored(parsed)
    for p, s in zip(parsed, stored, strict=True):
        assert isinstance(s.passages, StoredPassages) and isinstance(p.passages, tuple)
        assert s == p and p == s and hash(s) == hash(p)
        assert len(s.passages) == len(p.passages)
        assert list(s.passages) == list(p.passages)
        n = len(p.passages)
        assert [s.passages[i] for i in range(-n, n)] == [*p.passages, *p.passages]
        assert s.passages[1:] == p.passages[1:]
        assert all(isinstance(x, Passage) for x in s.passages)
        assert s.passages != list(p.passages)
        with pytest.raises(IndexError):
            s.passages[n]


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param({"ids": np.array([b"x"] * 3, dtype="S13")}, id="id-width"),
        pytest.param({"starts": np.array([5, 3, 1], dtype=np.int64)}, id="start-after-end"),
        pytest.param({"text_ends": np.array([3, 2, 50], dtype=np.int64)}, id="text-ends"),
        pytest.param({"texts": np.zeros(4, dtype=np.uint8)}, id="texts-short"),
        pytest.param({"ends": np.array([10_000, 10_001, 10_002])}, id="lengths-disagree"),
    ],
)
def test_columns_that_cannot_be_read_back_are_refused(damage: dict[str, np.ndarray]) -> None:
    columns = _columns([parse_article(aid, text) for aid, text in TEXTS.items()])
    with pytest.raises(ValueError):
        dataclasses.replace(columns, **damage).check()


def test_passages_are_found_by_id_whether_stored_or_parsed() -> None:
    parsed = [parse_article(aid, text) for aid, text in TEXTS.items()]
    stored = _stored(parsed)
    mixed = [stored[0], parsed[1]]
    for articles in (parsed, stored, mixed):
        finder = PassageFinder(articles)
        for article in articles:
            for p in article.passages:
                assert finder.find(p.id) == (p, article)
        assert finder.find("0123456789ab") is None
        assert finder.find("ü" * 12) is None and finder.find("") is None


def test_a_shared_id_finds_the_last_passage_as_a_dict_would() -> None:
    first = parse_article("a.md", TEXTS["a.md"])
    second = parse_article("b.md", TEXTS["b.md"])
    clash = first.passages[0]._replace(id=second.passages[0].id)
    first = dataclasses.replace(first, passages=(clash, *first.passages[1:]))
    for articles in ([first, second], _stored([first, second]), _stored([second, first])):
        found = PassageFinder(articles).find(clash.id)
        assert found is not None and found[1] is articles[-1]
