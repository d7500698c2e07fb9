"""A large knowledge folder of real English for the scale benchmarks.

Each generated article takes its sentences from one SQuAD knowledge article (so a passage
stays on one topic) and recombines 2–5 of them per paragraph; the files are ordinary
knowledge files (YAML front matter, blank-line paragraphs), so the real loader reads them.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from pathlib import Path

DATA = Path("/work/shared/data/squad-v1.1")
PASSAGES_PER_ARTICLE = 100
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


def source_articles(folder: Path = DATA / "knowledge") -> dict[str, list[str]]:
    """Return each SQuAD article's title with the sentences of its paragraphs."""
    out: dict[str, list[str]] = {}
    for path in sorted(folder.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        title = path.stem.replace("_", " ")
        if text.startswith("---"):
            _, _, text = text[3:].partition("\n---")
        sentences = [
            s.strip()
            for paragraph in text.split("\n\n")
            for s in _SENTENCE_END.split(paragraph.strip())
            if len(s.strip()) > 20
        ]
        if sentences:
            out[title] = sentences
    return out


def write_knowledge(folder: Path, n_passages: int, seed: int = 0) -> int:
    """Write about n_passages passages as article files under folder; return the file count."""
    rng = random.Random(seed)
    sources = source_articles()
    titles = sorted(sources)
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    n_files = 0
    while written < n_passages:
        topic = titles[n_files % len(titles)]
        sentences = sources[topic]
        count = min(PASSAGES_PER_ARTICLE, n_passages - written)
        paragraphs = [" ".join(rng.choices(sentences, k=rng.randint(2, 5))) for _ in range(count)]
        title = topic  # a multi-part article: parts share the title, as in a real archive
        body = "\n\n".join(paragraphs)
        header = f"---\ntitle: {json.dumps(title)}\nurl: https://example.org/{n_files}\n---\n\n"
        sub = folder / f"{n_files // 1000:03d}"
        sub.mkdir(exist_ok=True)
        (sub / f"article-{n_files:06d}.md").write_text(header + body + "\n", encoding="utf-8")
        written += count
        n_files += 1
    return n_files


def questions(n: int, seed: int = 0, path: Path = DATA / "dev.jsonl") -> list[str]:
    """Return n SQuAD questions about the source articles (sampled with a fixed seed)."""
    with path.open(encoding="utf-8") as file:
        rows = [json.loads(line)["question"] for line in file if line.strip()]
    return random.Random(seed).sample(rows, min(n, len(rows)))


def touch_one(folder: Path, rng: random.Random | None = None) -> Path:
    """Append a paragraph to one article, so the knowledge base's content hash changes."""
    files: Sequence[Path] = sorted(folder.rglob("*.md"))
    target = (rng or random.Random(1)).choice(files)
    with target.open("a", encoding="utf-8") as file:
        file.write("\nAn added paragraph makes this a different knowledge base.\n")
    return target
