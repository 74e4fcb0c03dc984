"""`senim members` says whether each accreditation covers what is issued now. On a
loopback network a ministry recorded a past period with `senim accredit --force`
(2020-09-01 to 2025-09-01), and `senim members` listed it as "active"; a suspension
read "suspended at height 76" with no reason, in the block after the one that
committed it. And `senim accredit`'s default term of five years is five calendar years."""

from __future__ import annotations

import datetime
import time
from typing import Any

from click.testing import CliRunner

import cli.admin
import cli.node_info
from cli.main import main
from ledger.verification import when

DAY_MS = 86_400_000


def _answer(retired_height: int | None = None, **grant: Any) -> dict[str, Any]:
    now_ms = int(time.time() * 1000)
    period = {"types": ["diploma"], "from": when(now_ms - 400 * DAY_MS),
              "until": when(now_ms + 400 * DAY_MS), "granted_by": "aa" * 20,
              "granted_height": 3, "suspended_height": None, "suspend_reason": None}
    period.update({key: when(now_ms + value * DAY_MS) if key in ("from", "until") else value
                   for key, value in grant.items()})
    return {"height": 80, "members": [{
        "member_id": "bb" * 20, "name": "Қазақ-Британ техникалық университеті",
        "role": "university", "validator": False, "public_key": "cc" * 32, "on_chain": True,
        "added_height": 4, "retired_height": retired_height, "accreditations": [period]}]}


def _standing(retired_height: int | None = None, **grant: Any) -> str:
    lines = [str(line) for line in cli.node_info.member_lines(_answer(retired_height, **grant))]
    assert lines[2].startswith("    accredited for diploma from "), lines
    return lines[2].rsplit("; ", 1)[1] if "; " in lines[2] else lines[2]


def test_a_period_gone_by_is_not_active() -> None:
    assert _standing(until=-90) == "ended: it covers nothing issued from then on"


def test_a_period_to_come_is_not_active_yet() -> None:
    assert _standing(**{"from": 30}) == "not begun: it covers nothing issued before then"


def test_a_current_period_is_active() -> None:
    assert _standing() == "active"


def test_a_suspension_says_from_which_height_and_why() -> None:
    assert (_standing(suspended_height=76, suspend_reason="investigation")
            == "suspended from height 76 (under investigation)")
    # the ministry's act on record is said, whether or not the period has ended since
    assert _standing(until=-1, suspended_height=76, suspend_reason="other") == (
        "suspended from height 76 (another reason, whose details the ministry keeps)")


def _ms(year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> int:
    return int(datetime.datetime(year, month, day, hour, minute, second,
                                 tzinfo=datetime.UTC).timestamp() * 1000)


def test_the_default_term_is_five_calendar_years() -> None:
    # 5 x 365 days: accredited on 3 December 2026 'for five years' read 'until 2031-12-02'
    assert cli.admin._years_later(_ms(2026, 12, 3, 11, 10, 46), 5) == _ms(2031, 12, 3, 11, 10,
                                                                          46)
    assert cli.admin._years_later(_ms(2028, 2, 29, 9), 5) == _ms(2033, 2, 28, 9)


def test_a_default_term_past_the_calendar_is_a_usage_error() -> None:
    """`--from 9996-01-01` without --until: year 10001 was a ValueError traceback."""
    result = CliRunner().invoke(main, ["accredit", "--key", "/nonexistent", "--issuer", "00",
                                       "--types", "diploma", "--from", "9996-01-01"])
    assert result.exit_code == 2, (result.output, result.exception)
    assert "past the year 9999: give --until" in result.output, result.output


def test_a_retired_members_accreditation_is_not_active() -> None:
    """Its period runs on, but a retired member signs nothing: 'active' beside the line
    saying it is retired read as a university still issuing."""
    assert _standing(retired_height=60) == ("ended with its retirement at height 60: it signs "
                                            "nothing from then on")
    assert _standing(retired_height=95) == "active"  # scheduled, not yet in effect


def test_the_default_start_is_today_as_a_whole_day() -> None:
    """'--from: default today' gave the minute before the command ran (14:31:52 UTC)."""
    assert cli.admin._today_ms(_ms(2026, 12, 3, 14, 32, 52) + 417) == _ms(2026, 12, 3, 0)
    assert cli.admin._today_ms(_ms(2026, 12, 3, 0)) == _ms(2026, 12, 3, 0)
