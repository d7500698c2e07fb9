"""Plots of the model-on/off figures, for docs/evaluation.md.

    pip install -e '.[bench]'        # matplotlib
    python benchmarks/plot_on_off.py

Reads `benchmarks/results/onoff-*.json` (written by `benchmarks/eval_on_off.py`) and writes
`docs/img/abstention-tradeoff.png` (the removed-articles protocol swept over the abstention
threshold, model off and on, dev and held-out) and `docs/img/on-off-comparison.png` (every
per-set figure, off beside on). Parts whose results file is missing are left out.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
IMG = ROOT / "docs" / "img"
COLOURS = {"off": "#7f7f7f", "on_before": "#aec7e8", "on": "#1f77b4"}
# "on_before": the model on with the previous abstention rule (lexical score + cosine veto and
# rescue), scored on the same answers as "on" (the fitted model-on score); older result files
# without it are drawn off / on only.
LABELS = {"off": "model off", "on_before": "model on, previous rule", "on": "model on, fitted rule"}


def modes(res: dict) -> list[str]:
    return [m for m in ("off", "on_before", "on") if m in res]


def read(name: str) -> dict | None:
    path = RESULTS / f"onoff-{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def tradeoff(splits: dict[str, dict]) -> Path:
    fig, axes = plt.subplots(1, len(splits), figsize=(5.2 * len(splits), 4.4), squeeze=False)
    for ax, (split, res) in zip(axes[0], splits.items(), strict=True):
        protocol = res["protocol"]
        for name in modes(protocol):
            curve = sorted(protocol[name]["curve"], key=lambda p: p["in_wrongly_abstained"])
            x = [100 * p["in_wrongly_abstained"] for p in curve]
            y = [100 * p["out_abstained"] for p in curve]
            ax.plot(x, y, "-", color=COLOURS[name], label=f"{LABELS[name]} (threshold swept)")
            ax.plot(
                100 * protocol[name]["in_wrongly_abstained"],
                100 * protocol[name]["out_abstained"],
                "o",
                color=COLOURS[name],
                markersize=8,
                markeredgecolor="black",
                label=f"{LABELS[name]}, shipped threshold",
            )
        ax.axvline(3, color="#d62728", linestyle=":", linewidth=1)
        ax.axhline(85, color="#d62728", linestyle=":", linewidth=1, label="targets (≤ 3 %, ≥ 85 %)")
        ax.set_xlim(0, 30)
        ax.set_ylim(40, 100)
        ax.set_xlabel("in-KB questions wrongly abstained (%)")
        ax.set_ylabel("removed-article questions abstained (%)")
        ax.set_title(
            f"SQuAD v1.1 {split}: {protocol['in_kb_questions']} in-KB / "
            f"{protocol['removed_questions']} removed-article questions",
            fontsize=9,
        )
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    fig.suptitle(
        "Abstention trade-off (the rule's threshold swept −3 … +4), model off vs on", fontsize=10
    )
    fig.tight_layout()
    target = IMG / "abstention-tradeoff.png"
    fig.savefig(target, dpi=110)
    plt.close(fig)
    return target


def comparison(squad: dict[str, dict], words: dict | None, scifact: dict | None) -> Path:
    labels: list[str] = []
    values: dict[str, list[float]] = {"off": [], "on_before": [], "on": []}

    def add(label: str, off: float, on: float, before: float | None = None) -> None:
        labels.append(label)
        values["off"].append(100 * off)
        values["on"].append(100 * on)
        values["on_before"].append(100 * (on if before is None else before))

    for split, res in squad.items():
        i, p = res["in_kb"], res["protocol"]

        def three(part: dict, key: str) -> tuple[float, float, float | None]:
            before = part.get("on_before")
            return part["off"][key], part["on"][key], before[key] if before else None

        add(f"v1.1 {split}\nanswer hit", *three(i, "answer_hit"))
        add(f"v1.1 {split}\nremoved art.\nabstained", *three(p, "out_abstained"))
        add(f"v1.1 {split}\nin-KB wrongly\nabstained", *three(p, "in_wrongly_abstained"))
        if "v2" in res:
            v2 = res["v2"]
            add(f"v2.0 {split}\nunanswerable\nabstained", *three(v2, "unanswerable_abstained"))
            add(f"v2.0 {split}\nanswerable\nhit", *three(v2, "answerable_hit"))
    if words:
        for category in words["off"]:
            before = words.get("on_before", {}).get(category)
            add(
                f"users' words\n{category}",
                words["off"][category]["correct"],
                words["on"][category]["correct"],
                before["correct"] if before else None,
            )
    if scifact:
        add(
            "SciFact\nnDCG@10",
            scifact["off (search)"]["ndcg@10"],
            scifact["on (search)"]["ndcg@10"],
        )
    fig, ax = plt.subplots(figsize=(max(8.0, 0.62 * len(labels) + 2), 4.8))
    width = 0.28
    xs = range(len(labels))
    for k, name in enumerate(("off", "on_before", "on")):
        bars = ax.bar(
            [x + (k - 1) * width for x in xs],
            values[name],
            width,
            color=COLOURS[name],
            label=LABELS[name],
        )
        ax.bar_label(bars, fmt="%.0f", fontsize=6, padding=1)
    ax.set_xticks(list(xs), labels, fontsize=6.5)
    ax.set_ylabel("%  (SciFact: nDCG@10 × 100)")
    ax.set_ylim(0, 105)
    ax.set_title("Every set, embedding model off vs on (same run, same questions)", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    target = IMG / "on-off-comparison.png"
    fig.savefig(target, dpi=110)
    plt.close(fig)
    return target


def pc(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f} %"


def markdown(squad: dict[str, dict], words: dict | None, scifact: dict | None) -> str:
    """The tables of docs/evaluation.md, from the same files as the plots."""
    splits = list(squad)
    head = "| | " + " | ".join(f"{s} off | {s} on, before | {s} **on**" for s in splits) + " |"
    rule = "| --- |" + " ---: | ---: | ---: |" * len(splits)
    lines = [head, rule]

    def row(label: str, get: Callable[[dict, str], str]) -> None:
        cells = []
        for s in splits:
            for k in ("off", "on_before", "on"):
                try:
                    cells.append(get(squad[s], k))
                except KeyError:
                    cells.append("—")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    row("v1.1 whole base: answer hit", lambda r, k: pc(r["in_kb"][k]["answer_hit"]))
    row("… first-citation hit", lambda r, k: pc(r["in_kb"][k]["first_citation_hit"]))
    row(
        "… first citation from the right article (answered)",
        lambda r, k: pc(r["in_kb"][k]["right_article_answered"]),
    )
    row("… in-KB questions abstained", lambda r, k: pc(r["in_kb"][k]["abstained"]))
    row("… mean answer length (chars)", lambda r, k: f"{r['in_kb'][k]['mean_chars']:.0f}")
    row(
        "… `Engine.answer` p50 / p95 ms",
        lambda r, k: f"{r['in_kb'][k]['p50_ms']:.0f} / {r['in_kb'][k]['p95_ms']:.0f}",
    )
    row(
        "removed-articles: removed-article questions abstained",
        lambda r, k: pc(r["protocol"][k]["out_abstained"]),
    )
    row(
        "removed-articles: in-KB questions wrongly abstained",
        lambda r, k: pc(r["protocol"][k]["in_wrongly_abstained"]),
    )
    row("removed-articles: in-KB answer hit", lambda r, k: pc(r["protocol"][k]["in_answer_hit"]))
    row("v2.0: unanswerable abstained", lambda r, k: pc(r["v2"][k]["unanswerable_abstained"]))
    row("v2.0: answerable answered", lambda r, k: pc(r["v2"][k]["answerable_answered"]))
    row("v2.0: answerable answer hit", lambda r, k: pc(r["v2"][k]["answerable_hit"]))
    if words:
        lines += ["", "| users'-words dev set (correct / abstained, %) | n | off | on, before "
                  "| **on** |", "| --- | ---: | ---: | ---: | ---: |"]  # fmt: skip
        for c, off in words["off"].items():
            cells = []
            for k in ("off", "on_before", "on"):
                f = words.get(k, {}).get(c)
                cells.append(f"{100 * f['correct']:.1f} / {100 * f['abstained']:.1f}" if f else "—")
            lines.append(f"| {c} | {off['questions']} | " + " | ".join(cells) + " |")
    if scifact:
        lines += ["", "| SciFact (300 queries) | nDCG@10 | recall@100 | p50 ms |",
                  "| --- | ---: | ---: | ---: |"]  # fmt: skip
        for name, f in scifact.items():
            if isinstance(f, dict) and "ndcg@10" in f:
                lines.append(
                    f"| {name} | {f['ndcg@10']:.3f} | {f['recall@100']:.3f} | {f['p50_ms']:.1f} |"
                )
    return "\n".join(lines)


def main() -> int:
    squad = {s: r for s in ("dev", "heldout") if (r := read(f"squad-{s}"))}
    for split, res in squad.items():
        if v2 := read(f"v2-{split}"):
            res["v2"] = v2
    if not squad:
        print("no benchmarks/results/onoff-squad-*.json: run benchmarks/eval_on_off.py first")
        return 0
    IMG.mkdir(parents=True, exist_ok=True)
    print(f"wrote {tradeoff(squad)}")
    print(f"wrote {comparison(squad, read('words'), read('scifact'))}")
    print(markdown(squad, read("words"), read("scifact")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
