"""Snapshots of the knowledge folder, recorded by successful reloads, restorable byte for byte.

Content-addressed: each file's bytes are kept once under their SHA-256 in `objects/`, and a
version is a manifest (path → hash) in `versions.json`, so a reload that changed one file
stores one file. A version's id is a hash of its manifest: the same folder content always
has the same id. Unreferenced objects are deleted when old versions are dropped.

Which files: regular files under the folder, not hidden (nor in hidden folders), not symbolic
links, at most the loader's size cap; a restore touches only such files.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from pydantic import BaseModel

from bot.core.storage.atomic import write_atomically
from bot.errors import NotFoundError

_DIGEST = re.compile(r"[0-9a-f]{64}")
Manifest = dict[str, str]  # relative path (forward slashes) → SHA-256 of its bytes


class Version(BaseModel):
    """One recorded state of the knowledge folder."""

    id: str
    created_at: datetime
    actor: str | None = None
    action: str = "reload"
    summary: str = ""
    index_version: str = ""
    files: Manifest = {}

    def label(self) -> str:
        when = self.created_at.strftime("%Y-%m-%d %H:%M UTC")
        return f"{self.id} · {when} · {self.action} · {self.summary or 'no summary'}"


def partial(data: bytes) -> Callable[[BinaryIO], None]:
    """What core.storage's writer calls to fill its new file."""

    def write(file: BinaryIO) -> None:
        file.write(data)

    return write


def manifest_id(files: Manifest) -> str:
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(f"{path}\0{files[path]}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()[:12]


def write_article_file(path: Path, data: bytes) -> None:
    """Write a file into the knowledge folder atomically, through a hidden temporary file.

    Not core.storage's writer: its `.partial` names are visible to the loader (a reload
    running meanwhile would report them as refused files) and to watch mode; hidden names
    are skipped by both. Synced before the rename: a restored version survives a crash.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with temporary.open("xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


class VersionStore:
    """The versions of one knowledge folder, kept in `root` (in the data directory)."""

    def __init__(self, root: Path, folder: Path, *, keep: int, max_file_bytes: int) -> None:
        self.root = root
        self.folder = folder
        self.keep = keep
        self.max_file_bytes = max_file_bytes
        self._objects = root / "objects"
        self._index = root / "versions.json"
        self._stat_cache = root / "stat-cache.json"

    # --- reading the folder --------------------------------------------------------

    def _files(self) -> list[tuple[str, Path, os.stat_result]]:
        found = []
        for dirpath, dirnames, filenames in os.walk(self.folder, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            here = Path(dirpath)
            for name in sorted(filenames):
                if name.startswith("."):
                    continue
                path = here / name
                info = os.lstat(path)
                if stat.S_ISREG(info.st_mode) and info.st_size <= self.max_file_bytes:
                    found.append((path.relative_to(self.folder).as_posix(), path, info))
        return found

    def capture(self) -> Manifest:
        """Store the folder's current files as objects; return its manifest.

        Files whose size and modification time match the last capture are not read again.
        """
        try:
            known: dict[str, list[int | str]] = json.loads(self._stat_cache.read_text())
        except (OSError, ValueError):
            known = {}
        files: Manifest = {}
        seen: dict[str, list[int | str]] = {}
        self._objects.mkdir(parents=True, exist_ok=True)
        for rel, path, info in self._files():
            cached = known.get(rel)
            sig: list[int | str] = [info.st_size, info.st_mtime_ns]
            if cached and cached[:2] == sig and (self._objects / str(cached[2])).exists():
                digest = str(cached[2])
            else:
                data = path.read_bytes()
                digest = hashlib.sha256(data).hexdigest()
                target = self._objects / digest
                if not target.exists():
                    write_atomically(target, partial(data))
            files[rel] = digest
            seen[rel] = [*sig, digest]
        write_atomically(self._stat_cache, partial(json.dumps(seen).encode()))
        return files

    # --- the list of versions --------------------------------------------------------

    def all(self) -> list[Version]:
        """Recorded versions, newest first."""
        try:
            raw = json.loads(self._index.read_text())
        except (OSError, ValueError):
            return []
        return [Version.model_validate(v) for v in raw]

    def latest(self) -> Version | None:
        versions = self.all()
        return versions[0] if versions else None

    def get(self, version_id: str) -> Version:
        for version in self.all():
            if version.id == version_id.strip():
                return version
        raise NotFoundError(f"No knowledge base version {version_id!r}; see the list of versions.")

    def for_index(self, index_version: str) -> Version | None:
        """The newest recorded version that was served as this index version."""
        return next((v for v in self.all() if v.index_version == index_version), None)

    def record(
        self,
        files: Manifest,
        *,
        actor: str | None,
        action: str,
        summary: str,
        index_version: str,
    ) -> Version | None:
        """Add a version for `files` (captured before); None if it is already the newest."""
        versions = self.all()
        version_id = manifest_id(files)
        if versions and versions[0].id == version_id:
            return None
        version = Version(
            id=version_id,
            created_at=datetime.now(UTC),
            actor=actor,
            action=action,
            summary=summary,
            index_version=index_version,
            files=files,
        )
        # A folder back at an earlier version's content moves that version to the front.
        kept = [version, *(v for v in versions if v.id != version_id)][: self.keep]
        listing = json.dumps([v.model_dump(mode="json") for v in kept]).encode()
        write_atomically(self._index, partial(listing))
        self._collect(kept)
        return version

    def _collect(self, kept: list[Version]) -> None:
        """Delete objects no kept version refers to."""
        wanted = {digest for v in kept for digest in v.files.values()}
        if not self._objects.is_dir():
            return
        for entry in self._objects.iterdir():
            if entry.name not in wanted and _DIGEST.fullmatch(entry.name):
                entry.unlink(missing_ok=True)

    # --- restoring -------------------------------------------------------------------

    def read(self, digest: str) -> bytes:
        if not _DIGEST.fullmatch(digest):
            raise NotFoundError("a knowledge base version refers to a malformed file hash")
        try:
            return (self._objects / digest).read_bytes()
        except FileNotFoundError:
            raise NotFoundError("a file of that knowledge base version is missing") from None

    def file_text(self, version: Version, path: str) -> str | None:
        """A file's text as it was in `version` (None if it was not there)."""
        digest = version.files.get(path)
        if digest is None:
            return None
        return self.read(digest).decode("utf-8", "replace")

    def restore(self, files: Manifest) -> list[str]:
        """Make the folder's files exactly `files` (byte for byte); return the paths changed.

        Everything is checked before anything is written (paths inside the folder, every
        object present), so a damaged version changes nothing; only the files that differ
        are read from the store and written.
        """
        inside = self.folder.resolve()
        for rel, digest in files.items():
            if not (self.folder / rel).resolve().is_relative_to(inside) or rel.startswith("."):
                raise NotFoundError(f"a knowledge base version names a path outside: {rel!r}")
            if not _DIGEST.fullmatch(digest) or not (self._objects / digest).is_file():
                raise NotFoundError("a file of that knowledge base version is missing")
        current = self.capture()  # stat data only for files unchanged since the last capture
        changed = []
        for rel, digest in files.items():
            if current.get(rel) != digest:
                write_article_file(self.folder / rel, self.read(digest))
                changed.append(rel)
        for rel in current.keys() - files.keys():
            (self.folder / rel).unlink(missing_ok=True)
            changed.append(rel)
        return sorted(changed)
