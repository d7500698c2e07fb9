"""Loading a knowledge folder: articles, passages with offsets, and per-file refusals."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.core.articles.loader import (
    MAX_PASSAGE_CHARS,
    ArticleRefused,
    check_article_name,
    load_knowledge,
    parse_article,
    validate_article_file,
)
from bot.core.articles.models import Article


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_bytes(content.encode("utf-8"))
    return path


def test_title_is_the_first_line_without_front_matter(knowledge_dir: Path) -> None:
    """The bundled article: first line is the title, the 7 paragraphs are passages."""
    kb = load_knowledge(knowledge_dir)
    (article,) = kb.articles
    assert article.title == "Russia Says Turkey Could Sign New S-400 Missile Contract Soon"
    assert len(article.passages) == 7
    assert kb.problems == ()


def test_passage_offsets_point_into_the_source_file(knowledge_dir: Path) -> None:
    """Each passage's text is exactly the source file's characters between its offsets."""
    kb = load_knowledge(knowledge_dir)
    for article in kb.articles:
        source = (knowledge_dir / article.id).read_bytes().decode("utf-8")
        for passage in article.passages:
            assert source[passage.start : passage.end] == passage.text


def test_front_matter_gives_title_url_and_tags(tmp_path: Path) -> None:
    """YAML front matter supplies title, url, published, author and tags."""
    write(
        tmp_path,
        "a.md",
        "---\ntitle: Harbour news\nurl: https://example.org/h\npublished: 2024-05-01\n"
        "author: Ann\ntags: [port, ships]\n---\nFirst paragraph.\n\nSecond paragraph.\n",
    )
    (article,) = load_knowledge(tmp_path).articles
    assert article.title == "Harbour news"
    assert article.url == "https://example.org/h"
    assert article.published == "2024-05-01"
    assert article.tags == ("port", "ships")
    assert [p.text for p in article.passages] == ["First paragraph.", "Second paragraph."]


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "file:///etc/passwd", "data:text/html,x", "example.org/page"]
)
def test_an_url_that_is_no_web_address_refuses_the_file_and_says_why(
    tmp_path: Path, url: str
) -> None:
    """A link readers would click must be http(s): anything else is a problem line, and the
    other articles still load."""
    write(tmp_path, "bad.md", f"---\ntitle: Trap\nurl: '{url}'\n---\nBody.\n")
    write(tmp_path, "good.txt", "Fine\n\nBody.\n")
    kb = load_knowledge(tmp_path)
    assert [a.id for a in kb.articles] == ["good.txt"]
    (problem,) = kb.problems
    assert problem.path == "bad.md"
    assert "`url`" in problem.reason and "web address" in problem.reason


def test_a_source_that_names_a_publisher_is_no_link(tmp_path: Path) -> None:
    """`source: Reuters` is kept as the article's only url when it is an address, not otherwise."""
    write(tmp_path, "a.md", "---\ntitle: A\nsource: Reuters\n---\nBody.\n")
    write(tmp_path, "b.md", "---\ntitle: B\nsource: https://example.org/b\n---\nBody.\n")
    urls = {a.id: a.url for a in load_knowledge(tmp_path).articles}
    assert urls == {"a.md": None, "b.md": "https://example.org/b"}


def test_passage_ids_are_stable_across_loads_and_edits(tmp_path: Path) -> None:
    """Same article + same text ⇒ same id, even when other paragraphs change."""
    write(tmp_path, "a.txt", "Title\n\nOne stays.\n\nTwo changes.\n")
    first = load_knowledge(tmp_path).passages
    write(tmp_path, "a.txt", "Title\n\nOne stays.\n\nTwo has changed.\n\nThree is new.\n")
    second = load_knowledge(tmp_path).passages
    assert first[0].id == second[0].id
    assert first[1].id != second[1].id
    assert len({p.id for p in second}) == 3


def test_repeated_paragraphs_get_distinct_ids(tmp_path: Path) -> None:
    """Two identical paragraphs in one article are two passages with two ids."""
    write(tmp_path, "a.txt", "Title\n\nSame words.\n\nSame words.\n")
    passages = load_knowledge(tmp_path).passages
    assert len({p.id for p in passages}) == 2


def test_long_paragraph_is_split_at_sentence_ends(tmp_path: Path) -> None:
    """A paragraph far longer than a screen becomes several passages, cut between sentences."""
    sentence = "The harbour master counted the ships again today. "
    write(tmp_path, "a.txt", "Title\n\n" + sentence * 200)
    passages = load_knowledge(tmp_path).passages
    assert len(passages) > 1
    assert all(len(p.text) <= MAX_PASSAGE_CHARS for p in passages)
    assert all(p.text.endswith(".") for p in passages)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary"),
        ("latin1.txt", "Caf\xe9 au lait\n\nbody".encode("latin-1"), "UTF-8"),
        ("empty.md", b"", "empty"),
        ("blank.md", b"  \n\n \t\n", "empty"),
        ("only-front-matter.md", b"---\ntitle: Nothing here\n---\n", "no text"),
        ("bad-yaml.md", b"---\ntitle: [unclosed\n---\nBody text.\n", "front matter"),
        ("list-yaml.md", b"---\n- a\n- b\n---\nBody text.\n", "front matter"),
        ("bad-title.md", b"---\ntitle: {a: 1}\n---\nBody text.\n", "title"),
        ("unclosed.md", b"---\n", "front matter"),
    ],
)
def test_bad_files_are_refused_with_a_reason(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    """A bad file is refused with a clear reason; the good file beside it still loads."""
    write(tmp_path, "good.txt", "Good title\n\nGood body.\n")
    write(tmp_path, name, content)
    kb = load_knowledge(tmp_path)
    assert [a.id for a in kb.articles] == ["good.txt"]
    (problem,) = kb.problems
    assert problem.path == name
    assert reason.casefold() in problem.reason.casefold()


def test_oversized_files_are_refused_without_reading_them(tmp_path: Path) -> None:
    """A file above the size cap is refused by its size."""
    write(tmp_path, "good.txt", "Good title\n\nGood body.\n")
    big = tmp_path / "big.txt"
    with big.open("wb") as f:
        f.truncate(10_000_000)  # sparse: cheap to make, would be expensive to read
    kb = load_knowledge(tmp_path, max_file_bytes=1_000_000)
    assert kb.problems[0].path == "big.txt"
    assert "too large" in kb.problems[0].reason


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks here")
def test_symlinks_are_refused(tmp_path: Path) -> None:
    """Symlinks (to files or folders, inside or outside) are refused, never followed."""
    outside = tmp_path / "outside"
    write(outside, "secret.txt", "Secret\n\nDo not load.\n")
    kb_dir = tmp_path / "kb"
    write(kb_dir, "good.txt", "Good title\n\nGood body.\n")
    (kb_dir / "link.txt").symlink_to(outside / "secret.txt")
    (kb_dir / "linkdir").symlink_to(outside, target_is_directory=True)
    kb = load_knowledge(kb_dir)
    assert [a.id for a in kb.articles] == ["good.txt"]
    assert {p.path for p in kb.problems} == {"link.txt", "linkdir"}
    assert all("symbolic link" in p.reason for p in kb.problems)


def test_other_file_types_are_reported_and_hidden_files_ignored(tmp_path: Path) -> None:
    """A .pdf is reported as skipped; dotfiles are not articles and not problems."""
    write(tmp_path, "good.md", "Good title\n\nGood body.\n")
    write(tmp_path, "scan.pdf", b"%PDF-1.4")
    write(tmp_path, ".DS_Store", b"\x00\x01")
    kb = load_knowledge(tmp_path)
    assert [p.path for p in kb.problems] == ["scan.pdf"]


def test_nested_folders_are_loaded(tmp_path: Path) -> None:
    """Articles in sub-folders load, with their relative path as id."""
    write(tmp_path, "news/2024/a.md", "Nested\n\nBody.\n")
    assert [a.id for a in load_knowledge(tmp_path).articles] == ["news/2024/a.md"]


def test_missing_folder_is_an_error(tmp_path: Path) -> None:
    """A knowledge path that does not exist raises, naming it."""
    with pytest.raises(FileNotFoundError, match="not found"):
        load_knowledge(tmp_path / "nope")


def test_crlf_and_bom_keep_offsets_exact() -> None:
    """Windows line ends and a byte-order mark do not shift passage offsets."""
    text = "\ufeffTitle line\r\n\r\nFirst para.\r\n\r\nSecond para.\r\n"
    article = parse_article("a.txt", text)
    assert article.title == "Title line"
    assert [text[p.start : p.end] for p in article.passages] == ["First para.", "Second para."]


def test_front_matter_after_a_byte_order_mark_is_read() -> None:
    """A file saved "UTF-8 with BOM" (Windows editors) keeps its front matter: title and url
    come from it, and offsets still point into the text (it was refused as "no closing ---")."""
    text = (
        "\ufeff---\r\ntitle: Größe Überblick\r\nurl: https://example.org/x\r\n---\r\n\r\nBody.\r\n"
    )
    article = parse_article("a.md", text)
    assert article.title == "Größe Überblick"
    assert article.url == "https://example.org/x"
    assert [text[p.start : p.end] for p in article.passages] == ["Body."]


def test_markdown_heading_title_is_cleaned() -> None:
    """A Markdown `# Heading` first line becomes a plain title."""
    assert parse_article("a.md", "# The Heading\n\nBody.").title == "The Heading"


def test_parse_refuses_text_without_body() -> None:
    """A title with nothing under it is not an article."""
    with pytest.raises(ArticleRefused):
        parse_article("a.txt", "Just a title")


def test_reuse_gets_each_files_stat_and_skips_reading_it(tmp_path: Path) -> None:
    """`reuse` is asked first, with the file's stat data; what it returns is used unread.
    Files over the size limit, links and non-files are refused before it is asked."""
    write(tmp_path, "a.md", "A\n\nKept from before.\n")
    write(tmp_path, "big.md", "Big\n\n" + "x" * 100 + "\n")
    write(tmp_path, "sub/b.md", "B\n\nRead as usual.\n")
    if hasattr(os, "symlink"):
        (tmp_path / "link.md").symlink_to(tmp_path / "a.md")
    kept = parse_article("a.md", "A\n\nSomething else entirely.\n")
    asked: dict[str, os.stat_result] = {}

    def reuse(article_id: str, info: os.stat_result) -> Article | None:
        asked[article_id] = info
        return kept if article_id == "a.md" else None

    kb = load_knowledge(tmp_path, max_file_bytes=50, reuse=reuse)
    assert sorted(asked) == ["a.md", "sub/b.md"]
    assert asked["a.md"].st_ino == (tmp_path / "a.md").stat().st_ino
    assert kb.articles[0] is kept
    assert [a.id for a in kb.articles] == ["a.md", "sub/b.md"]
    assert {p.path for p in kb.problems} >= {"big.md"}


# --- files checked before they are written (the /kb add path) ------------------------------

UPLOAD_CASES = {
    "binary.md": b"title\n\nsome \x00 bytes",
    "latin1.md": "caf\xe9 au lait\n\nbody".encode("latin-1"),
    "empty.md": b"  \n\n ",
    "unclosed.md": b"---\ntitle: x\nno closing line\n",
    "badyaml.md": b"---\ntitle: [unclosed\n---\nbody\n",
    "notitle.md": b"---\ntitle: T\n---\n",
    "big.md": b"x" * 2_000,
}


def test_an_uploaded_file_is_refused_exactly_as_the_loader_refuses_it(tmp_path: Path) -> None:
    """For each bad file, validating its bytes before writing gives the loader's own reason."""
    for name, data in UPLOAD_CASES.items():
        (tmp_path / name).write_bytes(data)
    loaded = {p.path: p.reason for p in load_knowledge(tmp_path, max_file_bytes=1_000).problems}
    for name, data in UPLOAD_CASES.items():
        with pytest.raises(ArticleRefused) as refused:
            validate_article_file(name, data, 1_000)
        # The size is known before reading when the file is on disk; the words match.
        assert str(refused.value).split(" (")[0] == loaded[name].split(" (")[0], name


def test_a_good_upload_parses_as_the_loader_parses_it(tmp_path: Path) -> None:
    """A valid file gives the same article whether validated from bytes or loaded from disk."""
    data = "---\ntitle: Tides\n---\nThe tide turns twice a day.\n\nSpring tides are higher.\n"
    (tmp_path / "tides.md").write_text(data, encoding="utf-8")
    (loaded,) = load_knowledge(tmp_path).articles
    assert validate_article_file("tides.md", data.encode()) == loaded


@pytest.mark.parametrize(
    "name",
    [
        "../escape.md",
        "sub/dir.md",
        "..\\win.md",
        "a..b.md",
        ".hidden.md",
        "notes.pdf",
        "",
        "x\n.md",
    ],
)
def test_upload_names_with_paths_or_tricks_are_refused_not_rewritten(name: str) -> None:
    """Only a plain .md/.txt file name is accepted; anything else is refused as it is."""
    with pytest.raises(ArticleRefused):
        check_article_name(name)
    assert check_article_name("Plain name (2).md") == "Plain name (2).md"
