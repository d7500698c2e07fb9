"""Hostile knowledge files: each bad file is refused with one clear line, the good ones load.

Issue 7, row 1. The folder built here mixes every kind of bad file with good ones; the
real `python -m bot index` must report each bad file on one line and still exit 0.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import time
import tracemalloc
from pathlib import Path

import pytest

from bot.core.articles.loader import MAX_PASSAGE_CHARS, load_knowledge
from bot.core.engine import Engine
from tests.reliability.conftest import SAMPLE_KNOWLEDGE, Cli, figure

MB = 1024 * 1024

RTL_ARTICLE = (
    "Notes on the Caucasus \u200f\u05e9\u05dc\u05d5\u05dd\n\n"
    # Zero-width space/joiner inside names, a right-to-left mark, an embedded override.
    "Nikol Pash\u200binyan met Recep Tayyip Erdo\u200dğan in Ankara in March.\n\n"
    "\u202bمرحبا بالعالم\u202c is how the Arabic edition of the bulletin opened.\n"
)

# Expected refusals: file name -> a fragment of its one-line reason.
REFUSED = {
    "binary.md": "binary file",
    "nul-bytes.txt": "binary file",
    "latin1.md": "not valid UTF-8",
    "empty.md": "empty file",
    "blank.txt": "empty file",
    "only-front-matter.md": "no text after the title",
    "bad-yaml.md": "malformed front matter: invalid YAML",
    "unclosed-front-matter.md": "malformed front matter (no closing ---)",
    "deep-yaml.md": "nested too deeply",
    "yaml-bomb.md": "malformed front matter",
    "title-is-a-list.md": "malformed front matter",
    "huge.md": "file is too large",
    "link-to-outside.md": "symbolic link",
    "link-inside.md": "symbolic link",
    "linked-folder": "symbolic link",
    "pipe.md": "not a regular file",
    "picture.png": "not a .md or .txt file",
}
LOADED = {"good.txt", "rtl.md", "long-paragraph.md", "notes/plain.md"}


def _yaml_bomb(depth: int = 9) -> str:
    """A "billion laughs" front matter: 10**depth strings through nested aliases."""
    lines = ["---", "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(depth):
        prev, name = chr(97 + i), chr(98 + i)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    lines.append(f"tags: *{chr(97 + depth)}")
    return "\n".join(lines) + "\n---\nLaughs\n\nA body.\n"


def _long_paragraph(chars: int, marker: str) -> str:
    """One paragraph of about `chars` characters, with `marker` in its middle."""
    rnd = random.Random(7)
    vocab = "tariff harbour convoy ledger orchard glacier beacon quarry lantern meadow".split()
    sentences: list[str] = []
    size = 0
    while size < chars:
        if len(sentences) == 500:
            sentences.append(marker)
        s = " ".join(rnd.choice(vocab) for _ in range(rnd.randint(6, 24))).capitalize() + "."
        sentences.append(s)
        size += len(s) + 1
    return "A very long paragraph\n\n" + " ".join(sentences) + "\n"


def build_hostile_folder(root: Path) -> Path:
    """Create a knowledge folder with every hostile file of row 1 next to good ones."""
    k = root / "knowledge"
    k.mkdir()
    outside = root / "outside"
    outside.mkdir()
    (outside / "secret.md").write_text("Secret\n\nThe launch code is 0000.\n")
    shutil.copy(next(SAMPLE_KNOWLEDGE.glob("*.txt")), k / "good.txt")
    (k / "rtl.md").write_text(RTL_ARTICLE, encoding="utf-8")
    (k / "long-paragraph.md").write_text(
        _long_paragraph(MB, "The quarantined zeppelin landed in Reykjavik."), encoding="utf-8"
    )
    (k / "notes").mkdir()
    (k / "notes" / "plain.md").write_text("Plain note\n\nThe harbour master is Ada Quill.\n")

    (k / "binary.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(2048))
    (k / "nul-bytes.txt").write_bytes(b"Title\n\nSome text\x00with a NUL byte.\n")
    (k / "latin1.md").write_bytes("Café menu\n\nCrème brûlée.\n".encode("latin-1"))
    (k / "empty.md").write_bytes(b"")
    (k / "blank.txt").write_text(" \n\t\n\n")
    (k / "only-front-matter.md").write_text("---\ntitle: Lonely\nurl: https://example.org\n---\n")
    (k / "bad-yaml.md").write_text("---\ntitle: [unclosed\nurl: : :\n---\nBody text.\n")
    (k / "unclosed-front-matter.md").write_text("---\ntitle: Never closed\n\nBody text.\n")
    (k / "deep-yaml.md").write_text("---\ntitle: " + "[" * 3000 + "]" * 3000 + "\n---\nT\n\nB.\n")
    (k / "yaml-bomb.md").write_text(_yaml_bomb())
    (k / "title-is-a-list.md").write_text("---\ntitle: [a, b]\n---\nBody text.\n")
    with (k / "huge.md").open("wb") as f:  # sparse: 50 MB on paper, nothing on disk
        f.write(b"Huge\n\n")
        f.truncate(50 * MB)
    (k / "link-to-outside.md").symlink_to(outside / "secret.md")
    (k / "link-inside.md").symlink_to(k / "rtl.md")
    (k / "linked-folder").symlink_to(outside, target_is_directory=True)
    os.mkfifo(k / "pipe.md")  # reading it would block forever
    (k / "picture.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    return k


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once per module; tests only read it."""
    return build_hostile_folder(tmp_path_factory.mktemp("hostile"))


def test_index_report_refuses_each_bad_file_on_one_line(hostile: Path, tmp_path: Path, cli: Cli):
    """The real `index` command loads the good files, names each bad one with its reason."""
    db = tmp_path / "data" / "bot.sqlite3"
    result = cli("index", "--knowledge", hostile, "--db", db)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert f"{len(LOADED)} article(s)" in result.stdout
    report_lines = result.stdout.splitlines()
    assert f"Refused {len(REFUSED)} file(s):" in report_lines
    for name, reason in REFUSED.items():
        lines = [line for line in report_lines if line.startswith(f"  {name}: ")]
        assert len(lines) == 1, (name, result.stdout)
        assert reason in lines[0], lines[0]
    assert "secret" not in result.stdout  # nothing behind the links was read
    for line in report_lines:
        assert line.isprintable(), repr(line)
    figure(
        "hostile knowledge (CLI index)",
        f"{len(REFUSED)} bad files refused, {len(LOADED)} loaded, {result.seconds:.2f} s",
    )

    # The good articles answer through the real CLI from the same folder.
    asked = cli(
        "ask",
        "--json",
        "-",
        "--knowledge",
        hostile,
        "--db",
        db,
        stdin="Who is the harbour master?\nWho is the president of Turkey?\n",
    )
    assert asked.returncode == 0, asked.stderr
    out = asked.stdout.splitlines()
    assert "Ada Quill" in out[0] and "Erdoğan" in out[1]


def test_loader_reasons_and_loaded_articles(hostile: Path):
    """In process: exactly the good files load; every refusal has a non-empty one-line reason."""
    kb = load_knowledge(hostile)
    assert {a.id for a in kb.articles} == LOADED
    problems = {p.path: p.reason for p in kb.problems}
    assert set(problems) == set(REFUSED)
    for name, reason in REFUSED.items():
        assert reason in problems[name]
        assert "\n" not in problems[name] and len(problems[name]) < 120


def test_hostile_file_names_are_refused_printably(tmp_path: Path):
    """Names that are not UTF-8 or hold control characters are refused, one printable line each."""
    k = tmp_path / "k"
    k.mkdir()
    (k / "fine.md").write_text("Fine\n\nA fine body.\n")
    os.makedirs(os.fsencode(k) + b"/bad\xffdir")
    (Path(os.fsdecode(os.fsencode(k) + b"/bad\xffdir")) / "inside.md").write_text("T\n\nB.\n")
    Path(os.fsdecode(os.fsencode(k) + b"/caf\xe9.md")).write_text("T\n\nB.\n")
    (k / "two\nlines.md").write_text("T\n\nB.\n")
    (k / "tab\tname.md").write_text("T\n\nB.\n")
    kb = load_knowledge(k)
    assert [a.id for a in kb.articles] == ["fine.md"]
    assert len(kb.problems) == 4
    for p in kb.problems:
        assert str(p).isprintable(), repr(str(p))
        str(p).encode("utf-8")  # no lone surrogates
        assert "file name" in p.reason


def test_50_mb_file_is_refused_without_reading_it(tmp_path: Path):
    """A 50 MB file is refused by its size; memory stays far below the file size."""
    k = tmp_path / "k"
    k.mkdir()
    (k / "ok.md").write_text("Ok\n\nA small body.\n")
    with (k / "huge.md").open("wb") as f:
        f.write(b"Huge\n\n" + b"word " * 1000)
        f.truncate(50 * MB)
    tracemalloc.start()
    try:
        started = time.perf_counter()
        kb = load_knowledge(k)
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [a.id for a in kb.articles] == ["ok.md"]
    assert "file is too large (52,428,800 bytes" in kb.problems[0].reason
    assert peak < 5 * MB, peak
    figure("50 MB file", f"refused in {seconds * 1000:.1f} ms, peak Python heap {peak / MB:.2f} MB")


def test_file_over_the_cap_is_refused_even_if_stat_says_small(tmp_path: Path):
    """Reading stops at the cap: a file whose size is unknown to stat() (like /proc) is bounded."""
    from bot.core.articles.loader import ArticleRefused, _read_text

    status = Path("/proc/self/status")
    if not status.is_file():
        pytest.skip("no /proc here")
    with pytest.raises(ArticleRefused, match="too large"):
        _read_text(status, 64)


def test_one_megabyte_paragraph_is_split_into_bounded_passages(hostile: Path):
    """A 1 MB single paragraph loads as bounded passages that tile it, and stays searchable."""
    started = time.perf_counter()
    kb = load_knowledge(hostile)
    load_s = time.perf_counter() - started
    article = next(a for a in kb.articles if a.id == "long-paragraph.md")
    source = (hostile / "long-paragraph.md").read_text(encoding="utf-8")
    assert len(article.passages) > 600
    previous_end = 0
    for p in article.passages:
        assert 0 < len(p.text) <= MAX_PASSAGE_CHARS
        assert source[p.start : p.end] == p.text
        assert p.start >= previous_end
        assert not source[previous_end : p.start].strip() or previous_end == 0
        previous_end = p.end
    started = time.perf_counter()
    engine = Engine(kb)
    build_s = time.perf_counter() - started
    answer = engine.answer("Where did the quarantined zeppelin land?")
    assert not answer.abstained and "Reykjavik" in answer.answer
    figure(
        "1 MB paragraph",
        f"{len(article.passages)} passages of <= {MAX_PASSAGE_CHARS} chars; folder load "
        f"{load_s:.2f} s, index build {build_s:.2f} s",
    )


def test_one_megabyte_line_without_spaces_or_sentence_ends(tmp_path: Path):
    """A paragraph with no sentence ends and no spaces is still cut into bounded passages."""
    k = tmp_path / "k"
    k.mkdir()
    (k / "wall.md").write_text("Wall\n\n" + "x" * MB + "\n")
    article = load_knowledge(k).articles[0]
    assert all(len(p.text) <= MAX_PASSAGE_CHARS for p in article.passages)
    assert sum(len(p.text) for p in article.passages) == MB


def test_rtl_and_zero_width_text_loads_and_is_searchable(hostile: Path):
    """Zero-width and bidi marks are kept in quotes but do not break words for search."""
    kb = load_knowledge(hostile)
    engine = Engine(kb)
    source = (hostile / "rtl.md").read_text(encoding="utf-8")
    for query in ("Pashinyan Erdogan", "Erdoğan Ankara March", "مرحبا"):
        hits = engine.search(query, 3)
        assert hits and hits[0].article.id == "rtl.md", query
    answer = engine.answer("When did Pashinyan meet Erdogan in Ankara?")
    assert not answer.abstained
    first = answer.citations[0]
    assert first.article_id == "rtl.md" and source[first.start : first.end] == first.quote
    assert "\u200b" in first.quote  # verbatim, invisible characters included
    for c in answer.citations:
        text = (hostile / c.article_id).read_text(encoding="utf-8")
        assert text[c.start : c.end] == c.quote


def test_thousands_of_tiny_files_load_in_reasonable_time(tmp_path: Path):
    """3,000 one-line articles load, index and answer; the time is measured and reported."""
    k = tmp_path / "k"
    k.mkdir()
    for i in range(3000):
        (k / f"note-{i:04d}.md").write_text(
            f"Note {i}\n\nGadget {i} is painted shade{i % 17} and weighs {i * 3} grams.\n"
        )
    started = time.perf_counter()
    kb = load_knowledge(k)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    engine = Engine(kb)
    build_s = time.perf_counter() - started
    assert len(kb.articles) == 3000 and not kb.problems
    answer = engine.answer("How many grams does gadget 1234 weigh?")
    assert "3702 grams" in answer.answer
    assert load_s + build_s < 60  # a hang guard, not a benchmark
    figure("3,000 tiny files", f"load {load_s:.2f} s, index {build_s:.2f} s")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("---\ntitle: x\n---\n\n\n", r"no text after the title"),
        ("---\n", r"no closing ---"),
        ("---\n- a\n- b\n---\nBody\n", r"expected `key: value` lines"),
        ("---\ntitle: !!python/object:os.system ls\n---\nBody\n", r"invalid YAML"),
        ("---\ntags: {a: 1}\n---\nT\n\nBody\n", r"`tags`"),
        ("\ufeff\n\n   \n", r"empty file|no text"),
    ],
)
def test_front_matter_edge_cases_are_refused_clearly(tmp_path: Path, text: str, reason: str):
    """Odd headers are refused with a reason that names the problem, never loaded half-right."""
    k = tmp_path / "k"
    k.mkdir()
    (k / "odd.md").write_text(text, encoding="utf-8")
    (k / "ok.md").write_text("Ok\n\nA small body.\n")
    kb = load_knowledge(k)
    assert [a.id for a in kb.articles] == ["ok.md"]
    assert re.search(reason, kb.problems[0].reason), kb.problems[0].reason
