"""The engine as a whole: retrieval, verbatim citations, follow-ups, degenerate knowledge bases."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.core.articles.loader import load_knowledge, parse_article
from bot.core.articles.models import KnowledgeBase
from bot.core.engine import Engine, EngineConfig
from bot.core.text.analysis import analyze

KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge"
QUESTIONS = [
    "Who is Armenia's defence minister?",
    "When did Turkey receive its first S-400 shipment?",
    "Which TV channel interviewed the president of Azerbaijan?",
    "What did Pashinyan say in parliament?",
    "who reported the deal",
    "What is the capital of France?",
]


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load_knowledge(KNOWLEDGE))


@pytest.mark.parametrize("question", QUESTIONS)
def test_every_quote_is_the_source_file_between_its_offsets(engine: Engine, question: str) -> None:
    """A citation's quote is exactly the source file's text between its start and end."""
    answer = engine.answer(question)
    for citation in answer.citations:
        source = (KNOWLEDGE / citation.article_id).read_bytes().decode("utf-8")
        assert source[citation.start : citation.end] == citation.quote
        found = engine.passage(citation.passage_id)
        assert found is not None
        passage, _ = found
        assert passage.start <= citation.start < citation.end <= passage.end
        assert citation.passage_hash == passage.text_hash
        assert f"[{citation.n}]" in answer.answer


@pytest.mark.parametrize("question", QUESTIONS[:5])
def test_answers_are_short(engine: Engine, question: str) -> None:
    """Answers are one to three sentences and stay under about 350 characters."""
    answer = engine.answer(question)
    assert 1 <= len(answer.citations) <= 3
    assert len(answer.answer) <= 400


def test_search_ranks_best_first_and_counts_the_title(engine: Engine) -> None:
    """Search returns passages best first; a title word alone finds every passage."""
    hits = engine.search("CNN Turk interview", k=3)
    assert "CNN Türk" in hits[0].passage.text
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert len(engine.search("missile contract", k=10)) == 7


def test_same_content_gives_the_same_version() -> None:
    """The index version is a content hash: same articles and parameters, same version."""
    kb = load_knowledge(KNOWLEDGE)
    assert Engine(kb).version == Engine(kb).version
    assert Engine(kb).version != Engine(kb, EngineConfig(k1=1.2)).version


def test_empty_knowledge_base_abstains_instead_of_crashing() -> None:
    """An engine over nothing answers every question with an abstention (rank-bm25 would crash)."""
    engine = Engine(KnowledgeBase(()))
    answer = engine.answer("Who is Armenia's defence minister?")
    assert answer.abstained and not answer.citations
    assert engine.search("anything") == []


@pytest.mark.parametrize("passages", [1, 2, 3])
def test_tiny_knowledge_bases_still_answer(passages: int) -> None:
    """With one to three passages (where rank-bm25's idf goes zero or negative), facts are found."""
    paragraphs = [
        "The harbour master Ingrid Solberg counted 41 ships on Monday.",
        "The lighthouse was repainted red in 1998.",
        "Ferries leave for the island every two hours.",
    ][:passages]
    article = parse_article("port.txt", "Port news\n\n" + "\n\n".join(paragraphs))
    for idf_mode in ("okapi", "lucene"):
        engine = Engine(KnowledgeBase((article,)), EngineConfig(idf_mode=idf_mode))
        answer = engine.answer("Who is the harbour master?")
        assert not answer.abstained, (idf_mode, answer.reason)
        assert "Ingrid Solberg" in answer.answer


def test_question_of_only_stopwords_abstains_with_reason(engine: Engine) -> None:
    """A question with no searchable words abstains and says so."""
    answer = engine.answer("What is it that they were?")
    assert answer.abstained
    assert "no searchable words" in (answer.reason or "")


def test_the_index_knows_the_terms_the_analyzer_finds_in_each_passage(engine: Engine) -> None:
    """The composer reads which question terms a passage holds from the index: that must be
    what analysing the passage with its title gives."""
    kb = engine.kb
    articles = {a.id: a for a in kb.articles}
    texts = [analyze(articles[p.article_id].title) + analyze(p.text) for p in kb.passages]
    probe = [*sorted({t for terms in texts for t in terms})[::7], "zzz-not-a-term"]
    docs = list(range(len(kb.passages)))
    assert engine.contained(docs, probe) == [set(probe) & set(terms) for terms in texts]


_ANSWER_IN_A_NEW_PROCESS = """
import json, sys
from pathlib import Path
from bot.core.engine import Engine
from bot.core.articles.loader import load_knowledge
engine = Engine(load_knowledge(Path(sys.argv[1])))
answers = [engine.answer(q).model_dump(mode="json") for q in json.loads(sys.argv[2])]
print(json.dumps(answers, sort_keys=True))
"""


def test_the_same_question_gets_the_same_answer_in_every_process() -> None:
    """String hashing differs per process (PYTHONHASHSEED): answers, reasons and evidence
    must not, not even the order of the unknown words an abstention names."""
    questions = [
        *QUESTIONS,
        "Which zorblat vexing quuxes did the grommet flurbish?",
        "Who purhcased the remaining pacakages irrespective of Pashinyan?",
    ]
    outputs = {
        subprocess.run(
            [sys.executable, "-c", _ANSWER_IN_A_NEW_PROCESS, str(KNOWLEDGE), json.dumps(questions)],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outputs) == 1
