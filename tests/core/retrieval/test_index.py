"""Specification of the BM25 index, with rank_bm25.BM25Okapi itself as the oracle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from rank_bm25 import BM25Okapi

from bot.core.retrieval.build import encode_token_lists
from bot.core.retrieval.index import BM25Index, Hit

VOCABULARY = ["a", "b", "c", "d", "e", "f", "g", "ünï", "x y"]
UNKNOWN = ["zz", "", "A"]

passages = st.lists(st.sampled_from(VOCABULARY), max_size=8)
# Corpora of 1, 2 and 3 passages are over-represented: that is where rank-bm25 is odd.
corpora = st.one_of(
    st.lists(passages, min_size=1, max_size=3),
    st.lists(passages, min_size=1, max_size=25),
).filter(lambda corpus: any(corpus))  # rank-bm25 divides by zero otherwise
queries = st.lists(st.sampled_from(VOCABULARY + UNKNOWN), max_size=7)
parameters = st.fixed_dictionaries(
    {
        "k1": st.floats(0.1, 3.0),
        "b": st.floats(0.0, 1.0),
        "epsilon": st.floats(0.0, 1.0),
    }
)

PROPERTY = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.filter_too_much]
)


def oracle_scores(corpus: list[list[str]], query: list[str], **params: float) -> np.ndarray:
    """Return rank-bm25's scores for a query, silencing its 0/0 warnings."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return BM25Okapi(corpus, **params).get_scores(query)


@PROPERTY
@given(corpus=corpora, query=queries)
def test_okapi_scores_equal_rank_bm25(corpus: list[list[str]], query: list[str]) -> None:
    """get_scores equals BM25Okapi.get_scores to 1e-9 with default parameters."""
    expected = oracle_scores(corpus, query)
    actual = BM25Index(corpus).get_scores(query)
    assert actual.dtype == np.float64
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-9)


@PROPERTY
@given(corpus=corpora, query=queries, params=parameters)
def test_okapi_scores_are_bit_identical_for_any_parameters(
    corpus: list[list[str]], query: list[str], params: dict[str, float]
) -> None:
    """get_scores is bit-identical to BM25Okapi for any k1, b and epsilon."""
    expected = oracle_scores(corpus, query, **params)
    assume(not np.isnan(expected).any())  # b=1 with an empty passage: 0/0 in rank-bm25
    actual = BM25Index(corpus, **params).get_scores(query)
    np.testing.assert_array_equal(actual, expected)


@PROPERTY
@given(corpus=corpora, query=queries, k=st.integers(1, 12))
def test_search_returns_the_oracles_positive_top_k(
    corpus: list[list[str]], query: list[str], k: int
) -> None:
    """search returns the oracle's positive top-k scores, best first, ties by lower position."""
    expected = oracle_scores(corpus, query)
    hits = BM25Index(corpus).search(query, k=k)

    best_positive = sorted((s for s in expected.tolist() if s > 0), reverse=True)[:k]
    assert [hit.score for hit in hits] == best_positive
    for hit in hits:
        assert hit.score == expected[hit.doc]
    assert hits == sorted(hits, key=lambda hit: (-hit.score, hit.doc))
    # Among passages tied with the last hit, the lowest positions were kept.
    if hits:
        last = hits[-1].score
        tied = [doc for doc, score in enumerate(expected.tolist()) if score == last]
        kept = [hit.doc for hit in hits if hit.score == last]
        assert kept == tied[: len(kept)]


@PROPERTY
@given(corpus=corpora, query=queries)
def test_term_scores_add_up_to_the_passage_score(corpus: list[list[str]], query: list[str]) -> None:
    """term_scores lists the query terms a passage contains and sums to its score."""
    index = BM25Index(corpus)
    scores = index.get_scores(query)
    for doc, passage in enumerate(corpus):
        contributions = index.term_scores(query, doc)
        assert list(contributions) == [t for t in dict.fromkeys(query) if t in passage]
        assert sum(contributions.values()) == pytest.approx(scores[doc], abs=1e-12)


@PROPERTY
@given(corpus=corpora, query=queries, data=st.data())
def test_containing_tells_which_terms_each_passage_has(
    corpus: list[list[str]], query: list[str], data: st.DataObject
) -> None:
    """containing answers for any passages at once, repeats and any order included."""
    index = BM25Index(corpus)
    docs = data.draw(st.lists(st.integers(0, len(corpus) - 1), max_size=6))
    assert index.containing(query, docs) == [set(query) & set(corpus[d]) for d in docs]


@pytest.mark.parametrize("corpus", [[], [[]], [[], []], [[], [], [], []]])
@pytest.mark.parametrize("idf_mode", ["okapi", "lucene"])
def test_empty_corpora_return_nothing(corpus: list[list[str]], idf_mode: str) -> None:
    """An empty corpus or one of empty passages builds and answers with zeros and no hits."""
    index = BM25Index(corpus, idf_mode=idf_mode)  # type: ignore[arg-type]
    assert index.size == len(corpus)
    scores = index.get_scores(["a", "b"])
    assert scores.dtype == np.float64
    np.testing.assert_array_equal(scores, np.zeros(len(corpus)))
    assert index.search(["a", "b"]) == []
    assert index.idf("a") == 0.0
    assert index.doc_freq("a") == 0


def test_unknown_terms_and_empty_queries_score_zero() -> None:
    """Terms absent from the corpus contribute nothing; an empty query finds nothing."""
    index = BM25Index([["a", "b"], ["c"], ["d"]])
    np.testing.assert_array_equal(index.get_scores(["zz", "yy"]), np.zeros(3))
    assert index.search([]) == []
    assert index.idf("zz") == 0.0
    assert index.doc_freq("zz") == 0


@pytest.mark.parametrize("n_docs", [1, 2, 3, 7])
def test_lucene_idf_is_positive_and_decreasing_in_doc_freq(n_docs: int) -> None:
    """Lucene idf is strictly positive and strictly decreasing in document frequency."""
    # term t<i> occurs in the first i passages
    corpus = [[f"t{i}" for i in range(doc + 1, n_docs + 1)] for doc in range(n_docs)]
    index = BM25Index(corpus, idf_mode="lucene")
    idfs = [index.idf(f"t{i}") for i in range(1, n_docs + 1)]
    assert [index.doc_freq(f"t{i}") for i in range(1, n_docs + 1)] == list(range(1, n_docs + 1))
    assert all(idf > 0 for idf in idfs)
    assert idfs == sorted(idfs, reverse=True)
    assert len(set(idfs)) == n_docs


def test_two_passages_lucene_scores_matches_while_okapi_follows_rank_bm25() -> None:
    """With 2 passages lucene scores a match positively; okapi keeps rank-bm25's 0 and negative."""
    corpus = [["cat", "sat"], ["cat", "ran"]]
    lucene = BM25Index(corpus, idf_mode="lucene")
    okapi = BM25Index(corpus)

    assert lucene.search(["sat"]) == [Hit(0, lucene.get_scores(["sat"])[0])]
    assert lucene.search(["cat"])[0].score > 0
    np.testing.assert_array_equal(
        okapi.get_scores(["cat", "sat"]), oracle_scores(corpus, ["cat", "sat"])
    )
    assert okapi.idf("sat") == 0.0  # rank-bm25: log(1.5) - log(1.5), not floored
    assert okapi.idf("cat") < 0  # floored to epsilon * average idf, which is negative here
    assert okapi.search(["cat", "sat"]) == []


def test_ties_are_broken_by_lower_position() -> None:
    """Passages with equal scores come in corpus order, and k cuts the same way every time."""
    corpus = [["x"], ["y"], ["a", "z"], ["a", "z"], ["a", "z"], ["w"], ["a", "z"], ["v"], ["u"]]
    index = BM25Index(corpus)
    hits = index.search(["a"], k=3)
    assert [hit.doc for hit in hits] == [2, 3, 4]
    assert len({hit.score for hit in hits}) == 1
    assert [hit.doc for hit in index.search(["a"], k=10)] == [2, 3, 4, 6]


def test_k_larger_than_corpus_and_non_positive_k() -> None:
    """k beyond the corpus returns every positive passage; k <= 0 returns nothing."""
    corpus = [["a", "b"], ["b", "c"], ["c", "d"], ["d", "e"], ["e", "f"]]
    index = BM25Index(corpus)
    hits = index.search(["a", "c"], k=1000)
    assert {hit.doc for hit in hits} == {0, 1, 2}
    assert index.search(["a", "c"], k=0) == []
    assert index.search(["a", "c"], k=-1) == []


def test_repeated_query_terms_count_repeatedly() -> None:
    """A term repeated in the query is added once per occurrence, as rank-bm25 does."""
    corpus = [["a", "b", "c"], ["b", "d"], ["c", "e"], ["f"], ["g"]]
    index = BM25Index(corpus)
    once, twice = index.get_scores(["a"]), index.get_scores(["a", "a"])
    assert twice[0] == once[0] + once[0] > 0
    assert index.term_scores(["a", "a", "b"], 0)["a"] == twice[0]


def test_term_scores_rejects_out_of_range_passages() -> None:
    """term_scores raises IndexError for a passage position outside the corpus."""
    index = BM25Index([["a"], ["b"]])
    with pytest.raises(IndexError):
        index.term_scores(["a"], 2)


def test_invalid_parameters_are_refused() -> None:
    """An unknown idf mode or out-of-range k1/b raises ValueError."""
    with pytest.raises(ValueError):
        BM25Index([["a"]], idf_mode="bm25+")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        BM25Index([["a"]], b=1.5)
    with pytest.raises(ValueError):
        BM25Index([["a"]], k1=-1)


@pytest.mark.parametrize("idf_mode", ["okapi", "lucene"])
@pytest.mark.parametrize(
    "corpus",
    [
        [],
        [[]],
        [["a", "b", "a"], ["c"], [], ["a", "d", "d"], ["émoji🙂", "x\ny", "\ud800"]],
    ],
)
def test_save_load_round_trip(tmp_path: Path, corpus: list[list[str]], idf_mode: str) -> None:
    """An index loaded from its saved file gives identical scores, idfs and hits."""
    index = BM25Index(corpus, k1=1.2, b=0.6, epsilon=0.3, idf_mode=idf_mode)  # type: ignore[arg-type]
    path = tmp_path / "index.npz"
    index.save(path)
    loaded = BM25Index.load(path)

    assert list(tmp_path.iterdir()) == [path]
    assert loaded.size == index.size
    assert loaded.idf_mode == idf_mode
    terms = [*sorted({t for passage in corpus for t in passage}), "missing"]
    for term in terms:
        assert loaded.idf(term) == index.idf(term)
        assert loaded.doc_freq(term) == index.doc_freq(term)
    for query in (terms, terms[:1] * 3, []):
        np.testing.assert_array_equal(loaded.get_scores(query), index.get_scores(query))
        assert loaded.search(query) == index.search(query)


@PROPERTY
@given(
    data=st.data(),
    corpus=corpora,
    holding=st.none() | queries,
    k=st.integers(0, 12),
    sample_size=st.sampled_from([1024, 1, 2, 3]),
)
def test_best_is_the_top_k_of_the_eligible_passages_whatever_the_sample(
    data: st.DataObject,
    corpus: list[list[str]],
    holding: list[str] | None,
    k: int,
    sample_size: int,
) -> None:
    """best ranks any scores (ties, zeros, negatives): positive ones, or those of passages
    holding a given term; sampling a threshold (tiny samples force it here) changes nothing."""
    scores = np.array(
        data.draw(
            st.lists(
                st.sampled_from([-1.0, 0.0, 0.5, 1.0, 2.0, 3.0]),
                min_size=len(corpus),
                max_size=len(corpus),
            )
        )
    )
    if holding is None:
        eligible = [d for d in range(len(corpus)) if scores[d] > 0]
    else:
        eligible = [d for d in range(len(corpus)) if set(holding) & set(corpus[d])]
    expected = sorted(eligible, key=lambda d: (-scores[d], d))[:k]
    index = BM25Index(corpus)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("bot.core.retrieval.index._SAMPLE_SIZE", sample_size)
        hits = index.best(scores, k, holding=holding)
    assert hits == [Hit(d, scores[d]) for d in expected]


@PROPERTY
@given(corpus=corpora, query=queries, data=st.data())
def test_holds_any_tells_which_passages_have_one_of_the_terms(
    corpus: list[list[str]], query: list[str], data: st.DataObject
) -> None:
    """holds_any agrees with the passages' own terms, for any passages in any order."""
    docs = data.draw(st.lists(st.integers(0, len(corpus) - 1), max_size=6))
    held = BM25Index(corpus).holds_any(query, np.array(docs, dtype=np.int64))
    assert held.tolist() == [bool(set(query) & set(corpus[d])) for d in docs]


def test_larger_corpus_matches_rank_bm25_bit_for_bit() -> None:
    """A few thousand Zipf-distributed passages score exactly as rank-bm25 does."""
    rng = np.random.default_rng(7)
    words = [f"w{i}" for i in range(3000)]
    corpus = [
        [words[min(i, 2999)] for i in rng.zipf(1.3, size=rng.integers(0, 60)) - 1]
        for _ in range(3000)
    ]
    oracle = BM25Okapi(corpus)
    index = BM25Index(corpus)
    for _ in range(20):
        query = [words[i] for i in rng.integers(0, 200, size=rng.integers(1, 8))] + ["nope"]
        expected = oracle.get_scores(query)
        np.testing.assert_array_equal(index.get_scores(query), expected)
        top = sorted(range(len(corpus)), key=lambda d: (-expected[d], d))[:10]
        assert [hit.doc for hit in index.search(query)] == [d for d in top if expected[d] > 0]


def test_ties_in_a_large_corpus_keep_the_lowest_positions() -> None:
    """Among thousands of equal scores, search returns the first k passages in corpus order."""
    corpus = [["a", "common"]] * 4000 + [["b", "common"]] * 4000 + [["c"]] * 3000
    index = BM25Index(corpus)
    assert [hit.doc for hit in index.search(["a"], k=10)] == list(range(10))
    assert [hit.doc for hit in index.search(["a"], k=7000)] == list(range(4000))
    assert [hit.doc for hit in index.search(["b", "zz"], k=3)] == [4000, 4001, 4002]


def test_chunked_build_equals_single_chunk_build(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Building in many small token chunks, and checking a saved index in small slices,
    changes no score or idf."""
    rng = np.random.default_rng(3)
    corpus = [[f"w{i}" for i in rng.zipf(1.5, size=rng.integers(0, 12))] for _ in range(400)]
    corpus[10:13] = [[], [], []]  # empty passages at a chunk's end once tripped the build
    query = ["w1", "w2", "w7", "w1", "w30", "nope"]
    whole = BM25Index(corpus)
    chunked = BM25Index(encode_token_lists(corpus, chunk_tokens=5))
    chunked.save(tmp_path / "chunked.npz")
    monkeypatch.setattr("bot.core.retrieval.index_file._CHECK_SLICE", 7)
    reloaded = BM25Index.load(tmp_path / "chunked.npz")
    np.testing.assert_array_equal(reloaded.get_scores(query), chunked.get_scores(query))

    np.testing.assert_array_equal(chunked.get_scores(query), BM25Okapi(corpus).get_scores(query))
    np.testing.assert_array_equal(chunked.get_scores(query), whole.get_scores(query))
    assert chunked.search(query) == whole.search(query)
    assert [chunked.idf(t) for t in query] == [whole.idf(t) for t in query]


def test_matching_marks_passages_with_any_query_term_even_at_zero_score() -> None:
    """`matching` finds passages containing a query term even where okapi idf scores them ≤ 0."""
    index = BM25Index([["a", "b"], ["a", "c"]], idf_mode="okapi")
    assert index.get_scores(["a"]).max() <= 0  # rank-bm25's idf for a term in every passage
    assert index.matching(["a"]).tolist() == [True, True]
    assert index.matching(["c", "zzz"]).tolist() == [False, True]
    assert BM25Index([]).matching(["a"]).tolist() == []


headed_corpora = st.lists(
    st.tuples(st.lists(st.sampled_from(VOCABULARY), max_size=3), passages), max_size=25
)


@PROPERTY
@given(corpus=headed_corpora, chunk_tokens=st.sampled_from([1 << 21, 3]))
def test_body_doc_freq_counts_passages_with_the_term_outside_their_head(
    corpus: list[tuple[list[str], list[str]]], chunk_tokens: int
) -> None:
    """body_doc_freq counts the passages whose tokens after the head contain the term."""
    index = BM25Index(
        encode_token_lists([head + body for head, body in corpus], chunk_tokens),
        head_lengths=[len(h) for h, _ in corpus],
    )
    for term in [*VOCABULARY, *UNKNOWN]:
        assert index.body_doc_freq(term) == sum(term in body for _, body in corpus)


def test_body_doc_freq_is_unknown_without_heads_and_survives_save_load(tmp_path: Path) -> None:
    """Without head lengths the index cannot tell heads apart; with them the counts persist."""
    assert BM25Index([["a", "b"]]).body_doc_freq("a") is None
    index = BM25Index([["t", "a"], ["t", "t"], ["t", "b"]], head_lengths=[1, 1, 1])
    assert [index.body_doc_freq(t) for t in ("t", "a", "zz")] == [1, 1, 0]
    index.save(tmp_path / "i.npz")
    loaded = BM25Index.load(tmp_path / "i.npz")
    assert [loaded.body_doc_freq(t) for t in ("t", "a", "zz")] == [1, 1, 0]
    BM25Index([["a"]]).save(tmp_path / "plain.npz")
    assert BM25Index.load(tmp_path / "plain.npz").body_doc_freq("a") is None


def test_head_lengths_must_fit_their_passages() -> None:
    """A head longer than its passage, negative, or a missing one is refused."""
    for heads in ([2], [-1], [0, 0]):
        with pytest.raises(ValueError, match="head_lengths"):
            BM25Index([["a"]], head_lengths=heads)
