"""The persistent 👍 / 👎 / "Why this answer?" buttons, including after a restart."""

from __future__ import annotations

import json
import sqlite3

from tests.discord_ui.conftest import HarnessFactory
from tests.discord_ui.harness import ADMIN_PERMISSIONS, DiscordHarness


async def _ask(harness: DiscordHarness, question: str) -> int:
    exchange = await harness.slash("ask", question=question)
    (custom_id,) = [i for i in exchange.last.custom_ids if i.startswith("kb:why:")]
    return int(custom_id.rsplit(":", 1)[1])


async def test_feedback_button_stores_a_row(
    harness: DiscordHarness, db: sqlite3.Connection
) -> None:
    """👍 stores +1 for the user; pressing 👎 afterwards changes that user's vote to -1."""
    answer_id = await _ask(harness, "Who is Armenia's defence minister?")
    up = await harness.click(f"kb:fb:up:{answer_id}")
    assert up.last.ephemeral and "Thanks" in up.last.text
    rows = db.execute("SELECT answer_id, value FROM feedback").fetchall()
    assert [tuple(r) for r in rows] == [(answer_id, 1)]
    await harness.click(f"kb:fb:down:{answer_id}")
    rows = db.execute("SELECT answer_id, value FROM feedback").fetchall()
    assert [tuple(r) for r in rows] == [(answer_id, -1)]


async def test_why_button_shows_passages_scores_and_terms_privately(
    harness: DiscordHarness,
) -> None:
    """ "Why this answer?" replies ephemerally with the top passages, scores and matched terms."""
    answer_id = await _ask(harness, "Who is Armenia's defence minister?")
    why = await harness.click(f"kb:why:{answer_id}")
    assert why.last.ephemeral
    text = why.last.text
    assert f"Why this answer? (#{answer_id})" in text
    assert "score" in text and "Matched terms: " in text and "`armenia`" in text


async def test_buttons_still_work_after_a_restart(
    make_harness: HarnessFactory, db: sqlite3.Connection
) -> None:
    """A button on a message from before a restart is handled by the new process."""
    first = await make_harness()
    answer_id = await _ask(first, "Who is Armenia's prime minister?")
    old_message = first._message_with(f"kb:fb:up:{answer_id}")
    await first.close()
    second = await make_harness()
    exchange = await second.click(f"kb:fb:up:{answer_id}", message=old_message)
    assert "Thanks" in exchange.last.text
    assert db.execute("SELECT value FROM feedback").fetchone()[0] == 1


async def test_button_for_an_unknown_answer_says_so_privately(harness: DiscordHarness) -> None:
    """A button whose answer id is not in the database gets a short ephemeral reply."""
    answer_id = await _ask(harness, "Who is Armenia's defence minister?")
    message = harness._message_with(f"kb:why:{answer_id}")
    # e.g. a message from another deployment: its ids are not in this database
    forged = json.loads(json.dumps(message).replace(f':{answer_id}"', ':999"'))
    exchange = await harness.click("kb:why:999", message=forged)
    assert exchange.last.ephemeral and "No answer #999" in exchange.last.text


async def test_why_names_carried_over_terms_only_for_a_follow_up(harness: DiscordHarness) -> None:
    """A first question's "Why this answer?" says nothing about carried-over terms; a
    follow-up's lists the terms it borrowed from the previous turn."""
    first = await harness.say("Who is Armenia's defence minister?", mention_bot=True)
    thread_id = int(first.calls[0].path.split("/")[4])
    (first_id,) = [i for i in first.last.custom_ids if i.startswith("kb:why:")]
    why_first = await harness.click(first_id)
    assert "carried over" not in why_first.last.text
    follow_up = await harness.say("What exhibition did he attend?", channel_id=thread_id)
    (follow_id,) = [i for i in follow_up.last.custom_ids if i.startswith("kb:why:")]
    why_follow_up = await harness.click(follow_id)
    assert "Terms carried over from the conversation: " in why_follow_up.last.text
    assert "`karapetyan`" in why_follow_up.last.text


async def test_thumbs_down_offers_an_optional_reason_that_admins_see_in_gaps(
    harness: DiscordHarness, db: sqlite3.Connection
) -> None:
    """👎 is stored at once; "Tell us why" opens a form whose reason is stored with the vote
    and shown beside the question in /kb gaps."""
    answer_id = await _ask(harness, "Who is Armenia's defence minister?")
    down = await harness.click(f"kb:fb:down:{answer_id}")
    assert down.last.ephemeral and f"kb:fbr:{answer_id}" in down.last.custom_ids
    assert [tuple(r) for r in db.execute("SELECT value, reason FROM feedback")] == [(-1, None)]
    opened = await harness.click(f"kb:fbr:{answer_id}")
    (form,) = [c.json for c in opened.callbacks if isinstance(c.json, dict)]
    assert form["type"] == 9 and form["data"]["custom_id"] == f"kb:fbr:{answer_id}"
    sent = await harness.submit_modal(
        f"kb:fbr:{answer_id}", {"reason": "  it named the wrong\nman "}
    )
    assert sent.last.ephemeral and "Thanks" in sent.last.text
    assert [tuple(r) for r in db.execute("SELECT value, reason FROM feedback")] == [
        (-1, "it named the wrong man")
    ]
    gaps = await harness.slash("kb gaps", permissions=ADMIN_PERMISSIONS)
    assert "👎 why: it named the wrong man" in gaps.last.text
