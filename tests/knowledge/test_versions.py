"""Knowledge versions: content-addressed snapshots of the folder, restored byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import NotFoundError
from bot.knowledge.versions import VersionStore


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "knowledge"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.md").write_bytes(b"Alpha\n\nfirst text\n")
    (folder / "sub" / "b.txt").write_bytes(b"Beta\n\n\xff not utf-8 is kept as bytes\n")
    (folder / ".hidden").write_bytes(b"editor swap file")
    return folder


def store(tmp_path: Path, folder: Path, keep: int = 5) -> VersionStore:
    return VersionStore(tmp_path / "versions", folder, keep=keep, max_file_bytes=1_000)


def objects(tmp_path: Path) -> set[str]:
    return {p.name for p in (tmp_path / "versions" / "objects").iterdir()}


def test_only_changed_files_are_stored_again(tmp_path: Path, folder: Path) -> None:
    """A second version that changed one file adds one object; hidden files are not kept."""
    versions = store(tmp_path, folder)
    first = versions.capture()
    versions.record(first, actor="a", action="reload", summary="", index_version="i1")
    assert set(first) == {"a.md", "sub/b.txt"} and len(objects(tmp_path)) == 2
    (folder / "a.md").write_bytes(b"Alpha\n\nsecond text\n")
    second = versions.capture()
    versions.record(second, actor="a", action="reload", summary="", index_version="i2")
    assert second["sub/b.txt"] == first["sub/b.txt"] and len(objects(tmp_path)) == 3
    assert [v.index_version for v in versions.all()] == ["i2", "i1"]


def test_restore_is_byte_for_byte_and_removes_files_added_since(
    tmp_path: Path, folder: Path
) -> None:
    """Restoring a version rewrites changed files exactly, deletes new ones, keeps hidden ones."""
    versions = store(tmp_path, folder)
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    manifest = versions.capture()
    (folder / "a.md").write_bytes(b"changed")
    (folder / "sub" / "b.txt").unlink()
    (folder / "new.md").write_bytes(b"New\n\nadded later\n")
    changed = versions.restore(manifest)
    assert changed == ["a.md", "new.md", "sub/b.txt"]
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before


def test_same_content_same_id_and_the_newest_is_not_recorded_twice(
    tmp_path: Path, folder: Path
) -> None:
    """A reload that changed nothing records nothing; returning to old content moves that
    version to the front instead of listing it twice."""
    versions = store(tmp_path, folder)
    first = versions.record(
        versions.capture(), actor=None, action="start", summary="", index_version="1"
    )
    assert first is not None
    assert (
        versions.record(
            versions.capture(), actor=None, action="reload", summary="", index_version="1"
        )
        is None
    )
    (folder / "a.md").write_bytes(b"other")
    versions.record(versions.capture(), actor=None, action="reload", summary="", index_version="2")
    (folder / "a.md").write_bytes(b"Alpha\n\nfirst text\n")
    again = versions.record(
        versions.capture(), actor=None, action="rollback", summary="", index_version="1"
    )
    assert again is not None and again.id == first.id
    assert [v.action for v in versions.all()] == ["rollback", "reload"]


def test_only_the_configured_number_is_kept_and_unused_objects_go(
    tmp_path: Path, folder: Path
) -> None:
    """Beyond `keep` versions the oldest are dropped, with the file objects only they used."""
    versions = store(tmp_path, folder, keep=2)
    for n in range(4):
        (folder / "a.md").write_bytes(f"Alpha\n\nversion {n}\n".encode())
        versions.record(
            versions.capture(), actor=None, action="reload", summary="", index_version=str(n)
        )
    assert [v.index_version for v in versions.all()] == ["3", "2"]
    assert len(objects(tmp_path)) == 3  # two versions of a.md, one b.txt
    with pytest.raises(NotFoundError):
        versions.get("000000000000")
