from __future__ import annotations

import pytest

from registrar.academic import letter_for, line_problem, totals_problems
from registrar.formats import GRADE_SCALE, FormatError, check_value
from registrar.iin import birth_date_of, check_digit, iin_phrase, make_iin


def iin_problem(text: str) -> str | None:
    """Why `text` is not a valid IIN, in English, or None when it is."""
    found = iin_phrase(text)
    return None if found is None else found.english


def test_check_digit_first_pass_by_hand() -> None:
    # 0,0,0,1,0,1,3,0,0,0,1 with weights 1..11: 4 + 6 + 21 + 11 = 42; 42 mod 11 = 9
    assert check_digit("00010130001") == 9
    assert iin_problem("000101300019") is None
    assert iin_problem("000101300018") == ("the IIN's check digit is wrong (a typo in the "
                                           "number?)")


def test_check_digit_second_pass_and_invalid_prefix() -> None:
    second = third = None
    for serial in range(10_000):
        prefix = f"0501015{serial:04d}"
        digits = [int(c) for c in prefix]
        if sum(d * w for d, w in zip(digits, range(1, 12), strict=True)) % 11 != 10:
            continue
        again = sum(d * w for d, w in zip(digits, (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2),
                                           strict=True)) % 11
        if again == 10 and third is None:
            third = prefix
        elif again != 10 and second is None:
            second = (prefix, again)
    assert second is not None and third is not None
    assert check_digit(second[0]) == second[1]
    assert check_digit(third) is None
    assert make_iin("050101", 5, int(third[7:])) is None
    assert all(iin_problem(third + str(d)) for d in range(10))


@pytest.mark.parametrize("text, fragment", [
    ("12345", "this has 5"), ("50315500011", "leading zero"), ("05031550001a", "12 digits"),
    ("０５０３１５５０００１１", "12 digits")])
def test_iin_shapes(text: str, fragment: str) -> None:
    problem = iin_problem(text)
    assert problem is not None and fragment in problem


def test_an_iin_of_2000_to_2009_stored_as_a_number_lost_several_zeros() -> None:
    # born 1 January 2000: "000101…" is 9 digits once Excel takes it for a number
    iin = make_iin("000101", 5, 1)
    assert iin is not None
    problem = iin_problem(str(int(iin)))
    assert problem is not None and "this has 9" in problem and "3 leading zeros" in problem
    assert "leading" not in (iin_problem("123456789") or "")


@pytest.mark.parametrize("fmt, given, recorded", [
    ("date", "2026-06-30", "2026-06-30"), ("date", "30.06.2026", "2026-06-30"),
    ("gpa", "3,5", "3.5"), ("gpa", "4", "4"), ("gpa", "0.00", "0.00"),
    ("ects", "5", "5"), ("ects", "7,5", "7.5"), ("grade", "A-", "A-"), ("grade", "FX", "FX"),
    ("school_grade", "5", "5"), ("percent", "100", "100"), ("term", "8", "8"),
    ("text", "Әсел ұлы", "Әсел ұлы")])
def test_accepted_values(fmt: str, given: str, recorded: str) -> None:
    assert check_value(fmt, given) == recorded


@pytest.mark.parametrize("fmt, given", [
    ("date", "2026-02-30"), ("date", "30/06/2026"), ("date", "2026-6-31"),
    ("gpa", "4.01"), ("gpa", "-1"), ("gpa", "3.5.1"), ("gpa", "three"),
    ("ects", "0"), ("grade", "a"), ("grade", "E"), ("grade", "A+"),
    ("school_grade", "6"), ("school_grade", "0"), ("percent", "101"), ("term", "0"),
    ("text", "line\nbreak"), ("text", "tab\there"), ("text", "x" * 10_001),
    ("code", "C" * 41)])
def test_refused_values(fmt: str, given: str) -> None:
    with pytest.raises(FormatError):
        check_value(fmt, given)


@pytest.mark.parametrize("fmt, given, recorded", [
    ("gpa", "３,５", "3.5"), ("gpa", "٣.٥", "3.5"), ("gpa", "۳٫۵", None),
    ("points", "３.６７", "3.67"), ("ects", "５", "5"), ("percent", "９５", "95"),
    ("school_grade", "５", "5"), ("school_grade", "٥", "5"), ("school_grade", "05", "5"),
    ("term", "０３", "3"), ("term", "03", "3")])
def test_a_numbers_digits_are_recorded_as_ascii_digits(fmt: str, given: str,
                                                        recorded: str | None) -> None:
    # before: "３.５" and "٥" were recorded as written, and "05" too, which the ledger's
    # attestat check (school grades "1" to "5") then refused at issue
    if recorded is None:  # the Arabic decimal separator is no point or comma: refused
        with pytest.raises(FormatError):
            check_value(fmt, given)
    else:
        assert check_value(fmt, given) == recorded


def test_grade_scale_bands() -> None:
    assert list(GRADE_SCALE) == ["A", "A-", "B+", "B", "B-", "C+", "C", "C-", "D+", "D",
                                 "FX", "F"]
    from decimal import Decimal
    assert [letter_for(Decimal(n)) for n in (100, 95, 94, 50, 49, 25, 24, 0)] == [
        "A", "A", "A-", "D", "FX", "FX", "F", "F"]


def test_course_line_and_totals() -> None:
    line = {"code": "X", "credits": "5", "grade": "B+", "points": "3.33", "numeric": "86"}
    assert line_problem(line) is None
    part, said = line_problem({**line, "points": "3.0"}) or ("", "")
    assert (part, str(said)) == ("points", "grade B+ carries 3.33 points, not 3.0")
    assert line_problem({**line, "numeric": "95"})[0] == "numeric"  # type: ignore[index]
    lines = [line, {"code": "Y", "credits": "5", "grade": "A"}]
    assert totals_problems(lines, "3.67", "10") == []  # (3.33*5 + 4*5) / 10 = 3.665
    assert [f for f, _ in totals_problems(lines, "3.5", "11")] == ["total_credits", "gpa"]


def test_birth_date_of() -> None:
    assert birth_date_of("000101300019") == "1900-01-01"
    assert birth_date_of(make_iin("050315", 5, 1) or "") == "2005-03-15"
    assert birth_date_of(make_iin("991231", 4, 7) or "") == "1999-12-31"
    assert birth_date_of("000101000010") is None  # century digit 0: no date is encoded
    assert birth_date_of("001301300010") is None


@pytest.mark.parametrize("format_name, value", [
    ("iin", "9,90105E+11"), ("iin", "9.90105E+11"), ("code", "1,23457E+11"),
    ("code", "2E+14"), ("code", "1.23456789012346e+15")])
def test_a_number_in_excels_scientific_notation_is_refused(format_name: str,
                                                            value: str) -> None:
    # Excel shows a long number so in a General cell and saves it so in a CSV: a student
    # id or diploma number was issued as "1,23457E+11", its digits lost
    with pytest.raises(FormatError, match="scientific notation, its last digits lost"):
        check_value(format_name, value)


@pytest.mark.parametrize("value", ["E+11", "ЖБ-Б 1E+05", "12E3", "KZ 2E+14 A"])
def test_codes_that_only_hold_an_e_are_kept(value: str) -> None:
    assert check_value("code", value) == value


@pytest.mark.parametrize("given", ["3.41333333333333", "3,4133333333", "88.1234567890"])
def test_a_formulas_long_result_is_refused_saying_to_round_it(given: str) -> None:
    """A GPA averaged by a formula, as Excel keeps it, was refused as "not a number"."""
    with pytest.raises(FormatError) as refused:
        check_value("gpa" if given.startswith("3") else "percent", given)
    said = refused.value.said
    assert said is not None and said.key == "reg.number.too_precise", said
    decimals = len(given.replace(",", ".").split(".")[1])
    assert f"a number of {decimals} decimals" in said.english and "=ROUND(" in said.english


def test_a_slashed_day_of_one_reading_is_refused_naming_it() -> None:
    """30/06/2026 was called ambiguous, though 30 is no month; 2026-6-30 was refused
    while 2026/6/30 was read."""
    for typed, meant in (("30/06/2026", "30.06.2026 or 2026-06-30"),
                         ("06/30/2026", "30.06.2026 or 2026-06-30")):
        with pytest.raises(FormatError) as refused:
            check_value("date", typed)
        assert refused.value.said is not None and refused.value.said.key == "reg.date.slashed"
        assert refused.value.said.english.endswith(f"write it as {meant}")
    assert check_value("date", "2026-6-3") == check_value("date", "2026/6/3") == "2026-06-03"
