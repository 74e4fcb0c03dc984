"""An employment's last day given with --field (`senim employment start … --field
end_date=…`) is refused naming the option as it was typed, `--field end_date`, in every
language, and the day it asks for as one to type (`--field end_date=2025-02-01`): the
refusal said `end_date '…'` and asked for `(end_date 2025-02-01)`, an option the command
does not have."""

from __future__ import annotations

import datetime
import re

import pytest
from click.testing import CliRunner

from cli.main import main
from tests.cli.test_ministry_languages import PREFIX, said_in

ERROR = {**PREFIX, "en": "error: "}
START = ["employment", "start", "--key", "k", "--full-name", "А Б", "--position", "P",
         "--organisation", "O", "--out", "o.json", "--start", "2024-06-01"]
FUTURE = (datetime.date.today() + datetime.timedelta(days=400)).isoformat()
# the day typed, and the English line it gets
ENGLISH = {
    "2025-02-01 10:30": "--field end_date='2025-02-01 10:30' holds a time of day as well: a "
                        "record states only the day, so give the day alone "
                        "(--field end_date=2025-02-01)",
    "31.02.2025": "--field end_date='31.02.2025' is no day of the calendar",
    "03/04/2025": "--field end_date='03/04/2025' could be day/month or month/day: write it "
                  "as YYYY-MM-DD or DD.MM.YYYY",
    "45536": "--field end_date='45536' looks like Excel's number of a day (2024-09-01, if "
             "it is one): give the day itself, as YYYY-MM-DD or DD.MM.YYYY",
    "soon": "--field end_date must be a day as YYYY-MM-DD or DD.MM.YYYY, got 'soon'",
    "0024-01-01": "--field end_date=0024-01-01 is before 1900: no record's day is so early; "
                  "check the year",
    "2024-01-01": "--field end_date=2024-01-01 is before the employment started (2024-06-01)",
    FUTURE: f"--field end_date={FUTURE} is after today",
}


@pytest.mark.parametrize("typed", sorted(ENGLISH))
def test_a_last_day_given_by_field_is_refused_naming_the_option(typed: str) -> None:
    args = [*START, "--field", f"end_date={typed}"]
    english = CliRunner().invoke(main, [*args, "--lang", "en"])
    assert english.exit_code == 2, english.output
    assert english.output.startswith(ERROR["en"] + ENGLISH[typed]), english.output
    for lang in ("kk", "ru"):
        said = said_in(lang, CliRunner().invoke(main, [*args, "--lang", lang]), 2)
        assert said.startswith(f"{ERROR[lang]}--field end_date"), said
        # every mention of the field is the option's: none is a bare `end_date`
        assert len(re.findall(r"(?<!--field )end_date", said)) == 0, said
        if " " in typed:  # the day asked for instead, as it is typed
            assert said.endswith("(--field end_date=2025-02-01)\n"), said
