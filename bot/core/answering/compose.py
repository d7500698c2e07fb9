"""Compose an extractive answer from retrieved passages, or abstain and say why (the
sentences' scores are scoring.py's; here: which to quote, the abstention checks, citations)."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from bot.core.answering.answers import Citation, Evidence
from bot.core.answering.antecedents import antecedent
from bot.core.answering.cues import asks_who, named_and_asked, names_another, qualified_heads
from bot.core.answering.quotes import shown_quote, snippet
from bot.core.answering.scoring import (
    SENTENCE_FEATURES,
    Candidate,
    Features,
    Scored,
    rerank,
    scored,
    sentence_features,
    sentence_terms,
    sentence_text,
)
from bot.core.answering.support import SUPPORT_FEATURES, Support, answers, ordered_weights
from bot.core.answering.tuning import SemanticTuning, Tuning
from bot.core.text.analysis import analyze, term_words
from bot.core.text.sentences import one_line


@dataclass(frozen=True, slots=True)
class Draft:
    """The composer's result before it becomes a stored Answer."""

    text: str
    abstained: bool
    reason: str | None
    citations: list[Citation]
    evidence: list[Evidence]
    support: Support | None = None


@lru_cache(maxsize=20_000)
def _passage_terms(title: str, text: str) -> frozenset[str]:
    """A passage's terms with its article's title, as the index sees it (cached: the same
    passages come back for question after question, and several steps need them)."""
    return frozenset(analyze(title)) | frozenset(analyze(text))


def _overlap(a: Scored, b: Scored) -> bool:
    return a.candidate is b.candidate and a.start < b.end and b.start < a.end


class Composer:
    """Pick the sentences that answer a question; abstain when the evidence is too weak."""

    def __init__(
        self,
        idf: Callable[[str], float],
        tuning: Tuning,
        related: Callable[[str], Iterable[str]] | None = None,
        contained: Callable[[Sequence[int], Collection[str]], list[set[str]]] | None = None,
        article_terms: Callable[[int, Collection[str]], set[str]] | None = None,
        semantic: SemanticTuning | None = None,
        article_counts: Callable[[int, Collection[str]], dict[str, int]] | None = None,
    ) -> None:
        # Coverage asks for the same few terms' weights hundreds of times per answer.
        self._idf = lru_cache(maxsize=8192)(idf)
        self.tuning = tuning
        self._sentence_weights = ordered_weights(tuning.sentence_weights, SENTENCE_FEATURES)
        ordered_weights(tuning.support_weights, (*SUPPORT_FEATURES, "bias"))  # checked now
        self._related = related
        self._contained = contained
        self._article_terms = article_terms
        self._article_counts = article_counts
        self.semantic = semantic

    def _present(self, candidates: Sequence[Candidate], terms: Collection[str]) -> list[set[str]]:
        """Which of `terms` each passage (title included) contains."""
        docs = [c.doc for c in candidates]
        if self._contained is not None and all(d is not None for d in docs):
            # Looked up in the index's postings: analysing ten whole passages per question
            # was a third of a cold answer.
            return self._contained(docs, terms)  # type: ignore[arg-type]
        wanted = set(terms)
        return [wanted & _passage_terms(c.article.title, c.passage.text) for c in candidates]

    def aliases(self, terms: Iterable[str]) -> dict[str, str]:
        """Related vocabulary term → the question term it stands for (`azeri` → `azerbaijan`)."""
        if self._related is None:
            return {}
        wanted = set(terms)
        return {r: t for t in sorted(wanted) for r in self._related(t) if r not in wanted}

    def evidence(
        self, candidates: Sequence[Candidate], query_terms: Sequence[str]
    ) -> list[Evidence]:
        wanted = set(query_terms)
        out = []
        for c, present in zip(candidates, self._present(candidates, wanted), strict=True):
            out.append(
                Evidence(
                    passage_id=c.passage.id,
                    article_id=c.article.id,
                    title=c.article.title,
                    url=c.article.url,
                    score=c.score,
                    matched_terms=sorted(wanted & present),
                    snippet=snippet(c.passage.text),
                )
            )
        return out

    def coverage(self, terms: set[str], present: set[str]) -> float:
        """Share of the question's weight (idf) found in `present`."""
        # fsum: exact whatever the order, and a set's order changes with each process's
        # string hashing, so a plain sum could rank two passages differently per process.
        total = math.fsum(self._idf(t) for t in terms)
        return math.fsum(self._idf(t) for t in terms & present) / total if total else 0.0

    def compose(
        self,
        question: str,
        query_terms: Sequence[str],
        candidates: Sequence[Candidate],
        context_terms: Sequence[str] = (),
        similarity: Callable[[Sequence[str]], Sequence[float]] | None = None,
        passage_cosine: float | None = None,
        said: str = "",
    ) -> Draft:
        """`similarity`: the question's cosine with each given text (None: lexical only);
        `passage_cosine`: the best candidate passage's cosine (None: no passage vectors);
        `said`: an answer already given, whose sentences are quoted again only if nothing
        else is left ("Tell me more")."""
        tuning = self.tuning
        terms = set(query_terms)
        evidence = self.evidence(candidates, query_terms)
        if not terms:
            return self._abstain(
                "the question has no searchable words (only stopwords or punctuation)", evidence
            )
        if not candidates:
            shown = term_words(question)
            missing = ", ".join(f"“{shown.get(t, t)}”" for t in sorted(terms)[:6])
            return self._abstain(f"no passage contains the key terms {missing}", evidence)

        aliases = self.aliases(terms)
        ranked = scored(
            self.sentence_features(question, terms, candidates, context_terms, aliases),
            self._sentence_weights,
        )
        if not ranked:
            return self._abstain("the matching passages have no complete sentences", evidence)
        if said:
            ranked = [s for s in ranked if one_line(sentence_text(s)) not in said] or ranked
        max_cosine = chosen_cosine = None
        if similarity is not None and self.semantic is not None:
            ranked, max_cosine, chosen_cosine = rerank(ranked, similarity, self.semantic)
        best = ranked[0]
        support, missing_terms = self._support(
            terms | set(context_terms), terms, candidates, best, aliases, max_cosine
        )
        margin, rare_missing, rare_missing_passage, spread, asked_share = self._topicality(
            question, terms, candidates, best, aliases
        )
        support = replace(
            support,
            chosen_cosine=chosen_cosine,
            passage_cosine=passage_cosine if max_cosine is not None else None,
            article_margin=margin,
            rare_missing=rare_missing,
            rare_missing_passage=rare_missing_passage,
            rare_spread=spread,
            asked_share=asked_share,
        )
        own_words = bool(self._present([best.candidate], terms | set(context_terms))[0])
        support = replace(support, own_words=own_words)
        # A passage only the dense path found (no BM25 score) falls to the missing-terms reason.
        if not own_words and best.candidate.score > 0 and not self.strong_enough(support):
            # Only look-alike words matched ("passwd" ~ "passed"): nothing the user typed.
            return self._abstain(
                "no passage contains any of the question's own words", evidence, support
            )
        if not self.strong_enough(support):
            shown = term_words(question)
            missing = ", ".join(f"“{shown.get(t, t)}”" for t in missing_terms)
            reason = f"the key terms {missing} appear in no passage that matches the rest"
            if not missing_terms:
                reason = "the passages share the question's words but none answers it"
            if support.max_cosine is not None and (
                not missing_terms or self.strong_enough(replace(support, max_cosine=None))
            ):
                # The words are there (or would do without the model): meaning decided.
                reason = (
                    f"no passage is close in meaning to the question "
                    f"(best similarity {support.max_cosine:.2f})"
                )
            return self._abstain(reason, evidence, support)

        best = self._with_antecedent(best)
        if asks_who(question):
            heads, modifiers = qualified_heads(question)
            if (
                heads
                and modifiers
                and not modifiers & best.terms
                and names_another(sentence_text(best), heads, modifiers, aliases)
            ):
                # "Who is the prime minister of Turkey?" answered with Armenia's: the sentence
                # names someone, but not of what the question asks about.
                shown = term_words(question)
                named = ", ".join(f"“{shown.get(t, t)}”" for t in sorted(modifiers))
                reason = f"the passages name one, but not of {named}"
                return self._abstain(reason, evidence, support)
        passing = self._only_in_passing(question, terms, best, aliases)
        if passing:
            return self._abstain(passing, evidence, support)
        chosen = [best]
        covered_terms = set(best.terms)
        length = len(one_line(sentence_text(best)))
        for extra in ranked[1:]:
            if len(chosen) >= tuning.max_sentences:
                break
            if any(_overlap(extra, c) for c in chosen):
                continue  # e.g. the antecedent already quoted with the best sentence
            gain = self.coverage(terms, extra.terms - covered_terms)
            extra_len = len(one_line(sentence_text(extra))) + 5
            if (
                gain >= tuning.second_sentence_min_gain
                and length + extra_len <= tuning.max_answer_chars
            ):
                chosen.append(extra)
                covered_terms |= extra.terms
                length += extra_len
        if not tuning.best_first:
            # Keep reading order when sentences come from the same passage.
            chosen.sort(key=lambda s: (candidates.index(s.candidate), s.start))
        citations: list[Citation] = []
        parts: list[str] = []
        for n, s in enumerate(chosen, start=1):
            p = s.candidate.passage
            quote = sentence_text(s)
            citations.append(
                Citation(
                    n=n,
                    title=s.candidate.article.title,
                    url=s.candidate.article.url,
                    article_id=s.candidate.article.id,
                    passage_id=p.id,
                    quote=quote,
                    start=p.start + s.start,
                    end=p.start + s.end,
                    score=s.candidate.score,
                    passage_hash=p.text_hash,
                )
            )
            parts.append(f"{shown_quote(p.text, s.start, s.end)} [{n}]")
        return Draft(" ".join(parts), False, None, citations, evidence, support)

    def sentence_features(
        self,
        question: str,
        terms: set[str],
        candidates: Sequence[Candidate],
        context_terms: Sequence[str] = (),
        aliases: dict[str, str] | None = None,
    ) -> list[Features]:
        """Every sentence of the top passages with its features (see SENTENCE_FEATURES)."""
        return sentence_features(
            question, terms, candidates, self.tuning, self.coverage, context_terms, aliases
        )

    def _support(
        self,
        with_context: set[str],
        terms: set[str],
        candidates: Sequence[Candidate],
        best: Scored,
        aliases: dict[str, str],
        max_cosine: float | None = None,
    ) -> tuple[Support, list[str]]:
        """The evidence's strength, and the heaviest question terms the best passage lacks."""
        # Only the question's terms (and the related words standing for them) matter here.
        asked = terms | {r for r, t in aliases.items() if t in terms}
        considered = candidates[: self.tuning.passages_considered]
        present = [{aliases.get(t, t) for t in p} for p in self._present(considered, asked)]
        coverages = [self.coverage(terms, p) for p in present]
        top = max(range(len(coverages)), key=coverages.__getitem__)
        missing = sorted(terms - present[top], key=lambda t: (-self._idf(t), t))[:4]
        mass = sum(c.score for c in candidates) or 1.0
        top_article = candidates[0].article.id
        support = Support(
            coverage=coverages[top],
            together=len(with_context & best.terms),
            sentence_coverage=self.coverage(terms, best.terms),
            article_share=sum(c.score for c in candidates if c.article.id == top_article) / mass,
            title_match=1.0 if terms & set(sentence_terms(candidates[0].article.title)) else 0.0,
            max_cosine=max_cosine,
        )
        return support, missing

    def _topicality(
        self,
        question: str,
        terms: set[str],
        candidates: Sequence[Candidate],
        best: Scored,
        aliases: dict[str, str],
    ) -> tuple[float, float, float, float, float]:
        """The figures that tell a question about the articles' topic from one about something
        they only name: how far the top article leads, whether the question's rarest terms
        are in the chosen sentence and passage, how often the article uses its rarest term,
        and how much of what is asked about a name the sentence has."""
        top_article = candidates[0].article.id
        by_article: dict[str, float] = {}
        for c in candidates:
            by_article[c.article.id] = max(by_article.get(c.article.id, 0.0), c.score)
        top = by_article.pop(top_article)
        second = max(by_article.values(), default=0.0)
        margin = max(-1.0, 1.0 - second / top) if top > 0 else 0.0
        rare = sorted(terms, key=lambda t: (-self._idf(t), t))[:2]
        rare_weight = math.fsum(self._idf(t) for t in rare) or 1.0
        asked = terms | {r for r, t in aliases.items() if t in terms}
        held = {aliases.get(t, t) for t in self._present([best.candidate], asked)[0]}

        def missing(present: set[str]) -> float:
            return math.fsum(self._idf(t) for t in rare if t not in present) / rare_weight

        spread = 0.0
        doc = best.candidate.doc
        if self._article_counts is not None and doc is not None:
            counts = self._article_counts(doc, rare)
            found = [t for t in rare if counts.get(t, 0)]
            spread = math.log1p(counts[found[0]]) if found else 0.0
        named, wanted = named_and_asked(question, terms)
        asked_share = self.coverage(wanted, best.terms) if named and wanted else 1.0
        return margin, missing(best.terms), missing(held), spread, asked_share

    def _only_in_passing(
        self, question: str, terms: set[str], best: Scored, aliases: dict[str, str]
    ) -> str | None:
        """Why to abstain when the question's names are all the article has of it ("Who is
        the lead singer of Coldplay?" against a Super Bowl article naming Coldplay once)."""
        doc = best.candidate.doc
        if not self.tuning.passing_mention_guard or self._article_terms is None or doc is None:
            return None
        named, asked = named_and_asked(question, terms)
        if not named or not asked or named & set(analyze(best.candidate.article.title)):
            return None  # nothing named, nothing else asked, or the article is about it
        # Their related forms count too ("founded" ~ "founder"): the dearer mistake is to
        # refuse a question the article does answer.
        related = {r: t for r, t in aliases.items() if t in asked}
        if self._article_terms(doc, asked | set(related)):
            return None
        shown = term_words(question)
        names = ", ".join(f"“{shown.get(t, t)}”" for t in sorted(named))
        missing = ", ".join(f"“{shown.get(t, t)}”" for t in sorted(asked))
        return f"the articles mention {names} only in passing, with nothing on {missing}"

    def strong_enough(self, support: Support) -> bool:
        """The calibrated rule: the support score reaches the operating point."""
        return answers(support, self.tuning, self.semantic)

    def _with_antecedent(self, best: Scored) -> Scored:
        """Quote the sentence before too when the best one points back at it ("He …")."""
        text = best.candidate.passage.text
        before = antecedent(
            text,
            best.start,
            best.end,
            self.tuning.antecedent_mode,
            self.tuning.antecedent_max_chars,
        )
        if before is None:
            return best
        terms = best.terms | set(analyze(text[before.start : before.end]))
        return Scored(best.candidate, before.start, best.end, terms, best.score)

    def nothing_more(self, draft: Draft) -> Draft:
        """ "Tell me more" when the previous answer already quoted all there is: said so, with
        the passages it came from."""
        reason = "nothing more on this than the previous answer"
        return self._abstain(reason, draft.evidence, draft.support)

    @staticmethod
    def _abstain(reason: str, evidence: list[Evidence], support: Support | None = None) -> Draft:
        text = f"I couldn't find this in the knowledge base: {reason}."
        if evidence:
            text += " The closest passages are listed below."
        return Draft(text, True, reason, [], evidence, support)
