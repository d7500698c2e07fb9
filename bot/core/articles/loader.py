"""Load a knowledge folder into articles and passages, refusing bad files one by one."""

from __future__ import annotations

import bisect
import hashlib
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from bot.core.articles.models import Article, KnowledgeBase, LoadProblem, Passage

ARTICLE_SUFFIXES = frozenset({".md", ".markdown", ".txt"})
DEFAULT_MAX_FILE_BYTES = 5 * 1024 * 1024
# A paragraph longer than about a screen is cut at sentence ends into pieces near this size.
MAX_PASSAGE_CHARS = 1500
TARGET_PIECE_CHARS = 1000

_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n")
# Used with .match(text, pos) at the text's start or just after a BOM (so no `\A`, which
# would only match at index 0).
_FRONT_MATTER = re.compile(
    r"---[ \t]*\r?\n(?:(.*?)\r?\n)?(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL
)
_FRONT_MATTER_OPEN = re.compile(r"---[ \t]*(?:\r?\n|\Z)")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+")
_MARKDOWN_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class FrontMatter(BaseModel):
    """The optional YAML header of an article."""

    model_config = ConfigDict(extra="allow")

    title: str | None = None
    url: str | None = None
    source: str | None = None
    published: str | None = None
    author: str | None = None
    tags: list[str] = []

    @field_validator("title", "url", "source", "published", "author", mode="before")
    @classmethod
    def _scalar_to_text(cls, value: Any) -> Any:
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, (int, float)) or hasattr(value, "isoformat"):
            return str(value)
        raise ValueError("must be text")

    @field_validator("url", mode="after")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        # The url becomes a link in Discord and in JSON consumers' pages: `javascript:` or
        # `file:` there would be a trap, not a source.
        value = (value or "").strip()
        if not value:
            return None
        if not is_web_address(value):
            raise ValueError("must be a web address (http:// or https://)")
        return value

    @field_validator("tags", mode="before")
    @classmethod
    def _tags_as_list(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, str):
            return [t.strip() for t in value.split(",") if t.strip()]
        if isinstance(value, list) and any(isinstance(v, (list, dict)) for v in value):
            # str() of nested YAML aliases (a "billion laughs") would expand exponentially.
            raise ValueError("must be a list of words")
        return [str(v) for v in value] if isinstance(value, list) else value


def is_web_address(value: str | None) -> bool:
    """An absolute http(s) address with a host and nothing that would break a link."""
    if not value:
        return False
    parts = urlsplit(value.strip())
    return (
        parts.scheme.lower() in {"http", "https"}
        and bool(parts.netloc)
        and not re.search(r"[\s<>]", value.strip())
    )


class ArticleRefused(Exception):
    """A file cannot be used as an article; the message says why."""


def stable_hash(text: str, length: int = 16) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def _paragraph_spans(text: str, offset: int) -> list[tuple[int, int]]:
    """Blank-line separated blocks of `text[offset:]`, trimmed, as absolute spans."""
    spans: list[tuple[int, int]] = []
    cursor = offset
    for brk in [*_PARAGRAPH_BREAK.finditer(text, offset), None]:
        end = brk.start() if brk else len(text)
        start = cursor
        while start < end and text[start].isspace():
            start += 1
        stop = end
        while stop > start and text[stop - 1].isspace():
            stop -= 1
        if stop > start:
            spans.append((start, stop))
        cursor = brk.end() if brk else len(text)
    return spans


def _split_long(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Cut an over-long paragraph at sentence ends (or, failing that, at spaces)."""
    if end - start <= MAX_PASSAGE_CHARS:
        return [(start, end)]
    cuts = [m.end() for m in _SENTENCE_END.finditer(text, start, end)]
    pieces: list[tuple[int, int]] = []
    piece_start = start
    while end - piece_start > MAX_PASSAGE_CHARS:
        limit = piece_start + TARGET_PIECE_CHARS
        # `cuts` is sorted: bisect keeps a paragraph of n sentences O(n log n), not O(n²).
        lo = bisect.bisect_left(cuts, piece_start + 200)
        candidates = cuts[lo : bisect.bisect_right(cuts, piece_start + MAX_PASSAGE_CHARS, lo)]
        if candidates:
            cut = min(candidates, key=lambda c: abs(c - limit))
        else:
            space = text.rfind(" ", piece_start + 200, limit)
            cut = space + 1 if space > 0 else limit
        pieces.append((piece_start, cut))
        piece_start = cut
    pieces.append((piece_start, end))
    trimmed = []
    for s, e in pieces:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            trimmed.append((s, e))
    return trimmed


def check_size(size: int, max_bytes: int) -> None:
    """ArticleRefused when a file's size (from stat, or as announced) is over the cap."""
    if size > max_bytes:
        raise ArticleRefused(f"file is too large ({size:,} bytes; the limit is {max_bytes:,})")


def _read_text(path: Path, max_bytes: int) -> str:
    size = path.stat().st_size
    check_size(size, max_bytes)
    with path.open("rb") as f:  # read at most the cap: the file may grow after stat()
        data = f.read(size + 1)  # read(n) allocates n bytes up front: ask for what stat() said
        if len(data) > size:
            data += f.read(max_bytes + 1 - len(data))
    return decode_article(data, max_bytes)


def decode_article(data: bytes, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> str:
    """A file's bytes as article text; ArticleRefused if too large, binary, not UTF-8 or empty."""
    if len(data) > max_bytes:
        raise ArticleRefused(f"file is too large (over the limit of {max_bytes:,} bytes)")
    if b"\x00" in data:
        raise ArticleRefused("binary file (contains NUL bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ArticleRefused(f"not valid UTF-8 (byte {exc.start})") from None
    if not text.strip():
        raise ArticleRefused("empty file")
    return text


def check_article_name(name: str) -> str:
    """A plain article file name as given (never rewritten); ArticleRefused otherwise.

    Refused: path separators, `..`, hidden names (the loader skips them), control
    characters, and suffixes the loader does not read.
    """
    if not name or "/" in name or "\\" in name or name in {".", ".."} or ".." in name:
        raise ArticleRefused("the file name must be a plain name (no folders, no `..`)")
    if name.startswith("."):
        raise ArticleRefused("hidden file names are skipped by the loader")
    if _CONTROL.search(name) or len(name.encode("utf-8", "surrogatepass")) > 255:
        raise ArticleRefused("the file name has control characters or is too long")
    if Path(name).suffix.lower() not in ARTICLE_SUFFIXES:
        raise ArticleRefused("not a .md or .txt file")
    return name


def validate_article_file(
    name: str, data: bytes, max_bytes: int = DEFAULT_MAX_FILE_BYTES
) -> Article:
    """Check an article file before it is written into the folder, as the loader would
    read it there: name, size, bytes, text and front matter. ArticleRefused says why."""
    return parse_article(check_article_name(name), decode_article(data, max_bytes))


def _front_matter(text: str) -> tuple[FrontMatter, int]:
    """Parse the YAML header, if any; return it and where the body starts."""
    body_at = 1 if text.startswith("\ufeff") else 0
    match = _FRONT_MATTER.match(text, body_at)
    if not match:
        # An opening `---` line with no closing one: not an article whose title is "---".
        if _FRONT_MATTER_OPEN.match(text, body_at):
            raise ArticleRefused("malformed front matter (no closing ---)")
        return FrontMatter(), body_at
    try:
        raw = yaml.safe_load(match.group(1) or "")
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 2}" if where else ""
        raise ArticleRefused(f"malformed front matter: invalid YAML{line}") from None
    except RecursionError:  # PyYAML recurses per nesting level: `[[[[…` would end the load
        raise ArticleRefused("malformed front matter: nested too deeply") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ArticleRefused("malformed front matter: expected `key: value` lines")
    try:
        meta = FrontMatter.model_validate({str(k): v for k, v in raw.items()})
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ArticleRefused(f"malformed front matter: `{field}` {first['msg'].lower()}") from None
    return meta, match.end()


def parse_article(article_id: str, text: str) -> Article:
    """Turn one file's text into an article; raise ArticleRefused when it is unusable."""
    try:
        text.encode("utf-8")  # lone surrogates (surrogateescape-decoded text) cannot be hashed
    except UnicodeEncodeError as exc:
        raise ArticleRefused(f"not valid UTF-8 (character {exc.start})") from None
    meta, body_at = _front_matter(text)
    spans = _paragraph_spans(text, body_at)
    title = (meta.title or "").strip()
    if not title:
        if not spans:
            raise ArticleRefused("no text after the front matter")
        first_line_end = text.find("\n", spans[0][0], spans[0][1])
        title_end = spans[0][1] if first_line_end < 0 else first_line_end
        title = _MARKDOWN_HEADING.sub("", text[spans[0][0] : title_end]).strip()
        if title_end == spans[0][1]:
            spans = spans[1:]  # a title line standing alone is not a passage
    if not spans:
        raise ArticleRefused("no text after the title" if title else "no text")
    title = " ".join(title.split())[:300]

    passages: list[Passage] = []
    seen: dict[str, int] = {}
    for para_start, para_end in spans:
        for start, end in _split_long(text, para_start, para_end):
            body = text[start:end]
            text_hash = stable_hash(body)
            # Same article + same text ⇒ same id; repeats of a paragraph get a counter.
            repeat = seen.get(text_hash, 0)
            seen[text_hash] = repeat + 1
            pid = stable_hash(f"{article_id}\n{text_hash}\n{repeat}", 12)
            passages.append(Passage(pid, article_id, len(passages), body, start, end, text_hash))
    return Article(
        id=article_id,
        title=title,
        # `source` may be a publisher's name ("Reuters"): a link only when it is an address.
        url=meta.url or (meta.source if is_web_address(meta.source) else None),
        content_hash=stable_hash(text, 32),
        passages=tuple(passages),
        published=meta.published,
        author=meta.author,
        tags=tuple(meta.tags),
    )


def _bad_name(root: Path, path: Path) -> LoadProblem | None:
    """Refuse a path that cannot be an article id or a report line (not UTF-8, control chars)."""
    rel = _rel(root, path)
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:  # os.walk hands undecodable bytes over as lone surrogates
        shown = rel.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        return LoadProblem(_CONTROL.sub("?", shown), "file name is not valid UTF-8 (skipped)")
    if _CONTROL.search(rel):
        return LoadProblem(_CONTROL.sub("?", rel), "file name has control characters (skipped)")
    return None


def _candidate_files(root: Path) -> tuple[list[Path], list[LoadProblem]]:
    files: list[Path] = []
    problems: list[LoadProblem] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for d in list(dirnames):
            if bad := _bad_name(root, here / d):
                problems.append(bad)
                dirnames.remove(d)
            elif (here / d).is_symlink():
                problems.append(LoadProblem(_rel(root, here / d), "symbolic link (refused)"))
                dirnames.remove(d)
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = here / name
            if bad := _bad_name(root, path):
                problems.append(bad)
            elif path.suffix.lower() in ARTICLE_SUFFIXES:
                files.append(path)
            elif name.lower() not in {"readme", "license"}:
                problems.append(LoadProblem(_rel(root, path), "not a .md or .txt file (skipped)"))
    return files, problems


def _rel(root: Path, path: Path) -> str:
    prefix = str(root) + "/"
    text = str(path)
    if os.sep == "/" and text.startswith(prefix):  # pathlib's relative_to: 3x slower
        return text[len(prefix) :]
    return path.relative_to(root).as_posix()


# Returns the article of a file from its stat data alone (unchanged since it was last read),
# or None to have it read and parsed.
Reuse = Callable[[str, os.stat_result], Article | None]


def _no_reuse(article_id: str, info: os.stat_result) -> Article | None:
    return None


class _Resolver:
    """Resolved paths of the folder and of its subfolders, each resolved (and checked to be
    inside the folder) once per load: doing so for every file cost ~0.3 s at 10,000 files."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._folders: dict[Path, tuple[Path, bool]] = {}

    def file(self, path: Path) -> Path:
        """Where `path` really is, given that it is not a symbolic link itself; ArticleRefused
        if that is outside the folder."""
        known = self._folders.get(path.parent)
        if known is None:
            folder = path.parent.resolve()
            known = self._folders[path.parent] = (folder, folder.is_relative_to(self.root))
        if not known[1]:
            raise ArticleRefused("path escapes the knowledge folder")
        return known[0] / path.name


def load_article_file(
    root: Path,
    path: Path,
    max_bytes: int = DEFAULT_MAX_FILE_BYTES,
    parse: Callable[[str, str], Article] = parse_article,
    reuse: Reuse = _no_reuse,
    resolver: _Resolver | None = None,
) -> Article:
    """Read and parse one file inside `root`; raise ArticleRefused with the reason.

    `parse` turns (article id, text) into the article: `parse_article` or a cache of it;
    `reuse` may return it without the file being read (see `Reuse`).
    """
    info = os.lstat(path)  # one stat for the checks and for `reuse`; OSError if it vanished
    if stat.S_ISLNK(info.st_mode):
        raise ArticleRefused("symbolic link (refused)")
    resolved = (resolver or _Resolver(root)).file(path)
    if not stat.S_ISREG(info.st_mode):
        raise ArticleRefused("not a regular file")
    article_id = _rel(root, path)
    if info.st_size <= max_bytes and (article := reuse(article_id, info)) is not None:
        return article
    return parse(article_id, _read_text(resolved, max_bytes))


def load_knowledge(
    root: Path,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    parse: Callable[[str, str], Article] = parse_article,
    reuse: Reuse = _no_reuse,
) -> KnowledgeBase:
    """Load every article under `root`; bad files become problems, the rest loads."""
    if not root.exists():
        raise FileNotFoundError(f"knowledge folder not found: {root}")
    if not root.is_dir():
        raise NotADirectoryError(f"knowledge path is not a folder: {root}")
    files, problems = _candidate_files(root)
    resolver = _Resolver(root)
    articles: list[Article] = []
    for path in files:
        try:
            articles.append(load_article_file(root, path, max_file_bytes, parse, reuse, resolver))
        except ArticleRefused as exc:
            problems.append(LoadProblem(_rel(root, path), str(exc)))
        except OSError as exc:
            problems.append(LoadProblem(_rel(root, path), f"unreadable ({exc.strerror or exc})"))
    problems.sort(key=lambda p: p.path)
    return KnowledgeBase(tuple(articles), tuple(problems))
