"""What a reload changed: articles by content hash, passages by id."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.articles.diff import Snapshot, diff, diff_loaded
from bot.core.articles.loader import load_knowledge

PARAGRAPHS = [
    "The ferry left at dawn.",
    "Nine ships waited outside the harbour.",
    "The harbour master counted them twice.",
    "Fog closed the port on Tuesday.",
    "The ferry left at dawn.",  # a repeated paragraph: a passage id of its own
]

folders = st.dictionaries(
    st.sampled_from([f"a{i}.md" for i in range(5)]),
    st.lists(st.sampled_from(PARAGRAPHS), min_size=1, max_size=4),
    min_size=1,
)


def _write(folder: Path, articles: dict[str, list[str]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.md"):
        old.unlink()
    for name, paragraphs in articles.items():
        body = "\n\n".join(paragraphs)
        (folder / name).write_text(f"---\ntitle: {name}\n---\n{body}\n", encoding="utf-8")


@settings(max_examples=60, deadline=None)
@given(before=folders, after=folders)
def test_a_reloads_diff_counts_what_full_snapshots_count(
    tmp_path_factory, before: dict[str, list[str]], after: dict[str, list[str]]
) -> None:
    """Comparing only the changed articles' passages gives the same report as comparing
    every passage of both versions."""
    folder = tmp_path_factory.mktemp("kb")
    _write(folder, before)
    old = load_knowledge(folder)
    _write(folder, after)
    new = load_knowledge(folder)
    assert diff_loaded(old, new) == diff(Snapshot.of(old), Snapshot.of(new))


def test_an_unchanged_folder_has_no_changes(tmp_path: Path) -> None:
    _write(tmp_path, {"a.md": PARAGRAPHS[:3]})
    change = diff_loaded(load_knowledge(tmp_path), load_knowledge(tmp_path))
    assert change.is_empty and change.summary() == "no changes"


def test_an_edited_paragraph_is_one_passage_added_and_one_removed(tmp_path: Path) -> None:
    _write(tmp_path, {"a.md": PARAGRAPHS[:3], "b.md": PARAGRAPHS[3:4]})
    old = load_knowledge(tmp_path)
    _write(tmp_path, {"a.md": [*PARAGRAPHS[:2], "The harbour master counted them once."]})
    change = diff_loaded(old, load_knowledge(tmp_path))
    assert change.articles_changed == ["a.md"]
    assert change.articles_removed == ["b.md"]
    assert (change.passages_added, change.passages_removed) == (1, 2)
