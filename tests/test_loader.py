"""Loading and validation: spreadsheet dialects, defaults, and every rule of docs/model.md section 2."""

from __future__ import annotations

import math
import shutil

import pytest
from helpers import FOUR_SUPPLIERS

from planner.errors import InstanceError
from planner.instance.loader import load_instance
from planner.solve.pipeline import solve_instance


@pytest.fixture
def inst(tmp_path):
    folder = tmp_path / "inst"
    shutil.copytree(FOUR_SUPPLIERS, folder)
    return folder


def problems_of(folder) -> list[str]:
    with pytest.raises(InstanceError) as info:
        load_instance(folder)
    return [str(p).replace(str(folder) + "/", "") for p in info.value.problems]


# --------------------------------------------------------------------------- dialects


def test_excel_utf8_bom_crlf_and_quotes_give_the_same_plan(inst):
    reference = solve_instance(inst).figures.objective
    text = (inst / "options.csv").read_text()
    rows = [",".join(f'"{cell}"' for cell in line.split(",")) for line in text.splitlines()]
    (inst / "options.csv").write_bytes(b"\xef\xbb\xbf" + "\r\n".join(rows).encode() + b"\r\n")
    assert solve_instance(inst).figures.objective == pytest.approx(reference)


def test_names_with_accents_written_two_ways_are_one_name(inst, tmp_path):
    """'é' stored as one character (NFC) in one file and as 'e' and a combining accent (NFD, as
    macOS and some exports write it) in another: the two look the same, and the loader said
    "unknown commodity: not in commodities.csv (did you mean 'néodyme'?)", its own name. Now
    every file's text is read in one form: the plan is the one of the instance written one way,
    and a sweep key typed the other way finds its row."""
    import unicodedata

    from planner.studies.runs import parse_vary

    one_way, other_way = unicodedata.normalize("NFC", "néodyme"), unicodedata.normalize("NFD", "néodyme")
    assert one_way != other_way
    reference = tmp_path / "reference"
    shutil.copytree(inst, reference)
    for folder, second in ((reference, one_way), (inst, other_way)):
        for path in folder.glob("*.csv"):
            text = path.read_text(encoding="utf-8")
            path.write_text(text.replace("rare_earth_oxide", one_way if path.name == "commodities.csv" else second),
                            encoding="utf-8")
    expected = solve_instance(reference)
    mixed = solve_instance(inst)
    assert mixed.figures.objective == pytest.approx(expected.figures.objective)
    assert mixed.plan.contracted == expected.plan.contracted
    assert mixed.plan.volume == pytest.approx(expected.plan.volume)
    assert {key[0] for key in mixed.plan.unmet} == {one_way}
    assert parse_vary(f"commodities.{other_way}.service_level=0.5")[0] == f"commodities.{one_way}.service_level"

def test_semicolons_and_decimal_commas_as_european_excel_writes(inst):
    (inst / "countries.csv").write_text("country;bloc;risk;name\r\nCHN;china;0,588;China\r\n"
                                        "RUS;russia;0,684;Russia\r\nIDN;global_south;0,588;Indonesia\r\n")
    loaded = load_instance(inst)
    assert loaded.countries.set_index("country").at["RUS", "risk"] == pytest.approx(0.684)


def test_excel_sep_line_and_grouped_numbers_with_decimals(inst):
    (inst / "options.csv").write_text(
        'sep=;\noption;commodity;origin;capacity;unit_cost;fixed_cost\n'
        'CN1;rare_earth_oxide;CHN;100;100;1.500,25\nCN2;rare_earth_oxide;CHN;100;105,5;500\n')
    opts = load_instance(inst).options.set_index("option")
    assert opts.at["CN1", "fixed_cost"] == pytest.approx(1500.25)
    assert opts.at["CN2", "unit_cost"] == pytest.approx(105.5)
    (inst / "options.csv").write_text(
        'option,commodity,origin,capacity,unit_cost,fixed_cost\nCN1,rare_earth_oxide,CHN,100,100,"1,500.25"\n')
    assert load_instance(inst).options.at[0, "fixed_cost"] == pytest.approx(1500.25)


def test_a_point_with_three_digits_in_a_semicolon_file_is_asked_about(inst):
    """With ';' as delimiter, ',' is the decimal mark: 1.000 may be one thousand (grouped) or 1.0."""
    (inst / "options.csv").write_text(
        'option;commodity;origin;capacity;unit_cost;fixed_cost\nCN1;rare_earth_oxide;CHN;1.000;100;0.500\n')
    found = problems_of(inst)
    assert found[0].startswith("options.csv:2:capacity: '1.000': expected a plain number (is '.' a thousands separator")
    assert len(found) == 1  # 0.500 cannot be grouping: a decimal point


def test_rows_are_counted_as_excel_shows_them_with_its_sep_line_hidden(inst):
    (inst / "demand.csv").write_text("sep=,\ncommodity,period,demand\nrare_earth_oxide,2026,-1\n")
    assert problems_of(inst) == ["demand.csv:2:demand: '-1': expected a number >= 0"]


def test_probabilities_rounded_to_six_decimals_are_accepted(inst):
    (inst / "scenarios.csv").write_text("scenario,probability\na,0.333333\nb,0.333333\nc,0.333333\n")
    (inst / "disruptions.csv").unlink()
    assert len(load_instance(inst).scenarios) == 3


def test_utf16_tab_separated_as_excel_unicode_text(inst):
    text = (inst / "demand.csv").read_text().replace(",", "\t")
    (inst / "demand.csv").write_bytes(text.encode("utf-16"))
    assert load_instance(inst).demand["demand"].tolist() == [100.0]


def test_percentages_blank_rows_trailing_cells_and_header_case(inst):
    (inst / "commodities.csv").write_text(
        "Commodity,Shortage_Penalty,service_level,storage_capacity,,\n\n"
        "rare_earth_oxide,400,90%,0,,\n,,,,,\n")
    com = load_instance(inst).commodities
    assert com.at[0, "service_level"] == pytest.approx(0.9)
    assert len(com) == 1


def test_quoted_field_with_comma_and_newline(inst):
    (inst / "countries.csv").write_text('country,bloc,risk,name\nCHN,china,0.588,"China, People\'s\nRepublic"\n'
                                        "RUS,russia,0.684,Russia\nIDN,global_south,0.588,Indonesia\n")
    assert load_instance(inst).countries.at[0, "name"] == "China, People's\nRepublic"


def test_defaults_are_applied(inst):
    loaded = load_instance(inst)
    opts = loaded.options.set_index("option")
    assert opts.at["CN1", "processor"] == "CHN"
    assert opts.at["CN1", "available_from"] == "2026"
    assert opts.at["CN1", "spot"] == 0 and opts.at["CN1", "min_volume"] == 0
    assert loaded.commodities.at[0, "min_suppliers"] == 0
    assert math.isnan(loaded.commodities.at[0, "service_level"])
    assert loaded.discount_rate == 0 and loaded.fixed_cost_max is None


def test_scenarios_default_to_one_base_scenario(inst):
    (inst / "scenarios.csv").unlink()
    (inst / "disruptions.csv").unlink()
    loaded = load_instance(inst)
    assert loaded.scenarios["scenario"].tolist() == ["base"]
    assert loaded.scenarios["probability"].tolist() == [1.0]


# --------------------------------------------------------------------------- rules


def test_unknown_reference_with_hint(inst):
    (inst / "options.csv").write_text(
        "option,commodity,origin,capacity,unit_cost\nCN1,rare_earth_oxide,CHNA,100,100\n"
        "GS1,rare_earth_oxides,IDN,60,130\n")
    assert problems_of(inst) == [
        "options.csv:2:origin: 'CHNA': unknown origin: not in countries.csv (did you mean 'CHN'?)",
        "options.csv:3:commodity: 'rare_earth_oxides': unknown commodity: not in commodities.csv "
        "(did you mean 'rare_earth_oxide'?)",
    ]


def test_a_name_that_only_looks_like_a_known_one_is_named_with_the_character_that_differs(inst):
    """A letter of another script drawn as a Latin one (text pasted from a Russian document) or an
    invisible character: the message showed two names that look the same ("'СHN': unknown origin
    (did you mean 'CHN'?)"), and for a short code no suggestion at all. Now the character that
    differs is named."""
    (inst / "options.csv").write_text(
        "option,commodity,origin,capacity,unit_cost\nCN1,rare_earth_oxide,\u0421HN,100,100\n"
        "GS1,rare_earth_oxide,\u0420US,60,130\nRU1,rare_earth_oxide,ID\u200bN,60,110\n", encoding="utf-8")
    cyrillic_c = "'С' (U+0421 CYRILLIC CAPITAL LETTER ES) where it has 'C' (U+0043 LATIN CAPITAL LETTER C)"
    assert problems_of(inst) == [
        f"options.csv:2:origin: 'СHN': unknown origin: not in countries.csv (did you mean 'CHN'? yours holds "
        f"{cyrillic_c})",
        "options.csv:3:origin: 'РUS': unknown origin: not in countries.csv (did you mean 'RUS'? yours holds 'Р' "
        "(U+0420 CYRILLIC CAPITAL LETTER ER) where it has 'R' (U+0052 LATIN CAPITAL LETTER R))",
        "options.csv:4:origin: 'ID\\u200bN': unknown origin: not in countries.csv (did you mean 'IDN'? yours holds "
        "'\\u200b' (U+200B ZERO WIDTH SPACE))",
    ]


def test_a_control_character_in_text_is_named(inst):
    """A stray control character in a name (a vertical tab where Excel broke a line, a pasted
    U+0001) went into the results, and `solve --xlsx` ended in an internal error: no spreadsheet
    cell can hold one, nor an XML document. Now the cell is named; tabs and line breaks inside a
    quoted description stay as they were."""
    (inst / "options.csv").write_text("option,commodity,origin,capacity,unit_cost\nCN\x0b1,rare_earth_oxide,CHN,100,"
                                      "100\nGS1,rare_earth_oxide,RUS,60,130\n", encoding="utf-8")
    (inst / "countries.csv").write_text('country,bloc,risk,name\nCHN,china,0.588,"China\tPeople\'s\nRepublic"\n'
                                        "RUS,russia,0.684,Rus\x01sia\nIDN,global_south,0.588,Indonesia\n")
    toml = (inst / "instance.toml").read_text()
    (inst / "instance.toml").write_text(toml.replace('periods = ["2026"]', 'periods = ["20\\u000126"]')
                                        .replace('currency = "USD"', 'currency = "US\\u0000D"'))
    found = problems_of(inst)
    assert "instance.toml:currency: 'US\\x00D': holds the control character U+0000, which no spreadsheet or " \
           "report can show" in found, found
    assert "instance.toml:periods: '20\\x0126': holds the control character U+0001, which no spreadsheet or " \
           "report can show" in found, found
    assert "options.csv:2:option: 'CN\\x0b1': holds the control character U+000B, which no spreadsheet or report " \
           "can show: retype the text" in found, found
    assert "countries.csv:3:name: 'Rus\\x01sia': holds the control character U+0001, which no spreadsheet or " \
           "report can show: retype the text" in found, found
    assert not any("countries.csv:2" in problem for problem in found), found


def test_duplicate_keys(inst):
    (inst / "demand.csv").write_text("commodity,period,demand\nrare_earth_oxide,2026,100\nrare_earth_oxide,2026,90\n")
    assert problems_of(inst) == [
        "demand.csv:3:period: 'rare_earth_oxide:2026': duplicate commodity/period: row 2 has the same"]


def test_period_outside_horizon(inst):
    (inst / "demand.csv").write_text("commodity,period,demand\nrare_earth_oxide,2031,100\n")
    assert problems_of(inst) == ["demand.csv:2:period: '2031': expected a period of instance.toml (2026)"]


def test_negative_non_numeric_and_non_finite_all_reported_at_once(inst):
    (inst / "options.csv").write_text(
        "option,commodity,origin,capacity,unit_cost,fixed_cost\n"
        "CN1,rare_earth_oxide,CHN,-100,100,500\n"
        "CN2,rare_earth_oxide,CHN,100,abc,500\n"
        "RU1,rare_earth_oxide,RUS,60,110,inf\n"
        "GS1,rare_earth_oxide,IDN,\"1,000\",130,1000\n")
    assert problems_of(inst) == [
        "options.csv:2:capacity: '-100': expected a number >= 0",
        "options.csv:3:unit_cost: 'abc': expected a number",
        "options.csv:4:fixed_cost: 'inf': expected a finite number",
        "options.csv:5:capacity: '1,000': expected a plain number (is ',' a thousands separator or a decimal comma?)",
    ]


def test_fractions_out_of_range(inst):
    (inst / "countries.csv").write_text("country,bloc,risk\nCHN,china,1.5\nRUS,russia,0.6\nIDN,global_south,0.5\n")
    (inst / "disruptions.csv").write_text(
        "scenario,scope,name,commodity,start_period,severity,price_factor\ncut-china,bloc,china,*,2026,1.2,-1\n")
    assert problems_of(inst) == [
        "countries.csv:2:risk: '1.5': expected a number in [0, 1]",
        "disruptions.csv:2:severity: '1.2': expected a number in [0, 1]",
        "disruptions.csv:2:price_factor: '-1': expected a number >= 0",
    ]


def test_probabilities_must_sum_to_one(inst):
    text = (inst / "scenarios.csv").read_text().replace("none-cut,0.504", "none-cut,0.5")
    (inst / "scenarios.csv").write_text(text)
    assert problems_of(inst) == ["scenarios.csv:probability: probabilities sum to 0.996, expected 1 (within 1e-6)"]


def test_spot_option_cannot_have_an_agreement(inst):
    (inst / "options.csv").write_text(
        "option,commodity,origin,capacity,unit_cost,spot,agreement\nRU1,rare_earth_oxide,RUS,60,110,1,deal\n")
    (inst / "agreements.csv").write_text("agreement,fixed_cost\ndeal,100\n")
    assert problems_of(inst) == [
        "options.csv:2:agreement: 'deal': an option cannot be both spot and gated by an agreement "
        "(set spot to 0 or leave agreement empty)"]


def test_limit_names_must_exist_for_their_scope(inst):
    (inst / "limits.csv").write_text("scope,name,commodity,max_share\nbloc,CHN,*,0.5\ncountry,china,*,0.5\n"
                                     "region,x,*,0.5\n")
    assert problems_of(inst) == [
        "limits.csv:2:name: 'CHN': unknown bloc: expected a bloc of countries.csv",
        "limits.csv:3:name: 'china': unknown country: expected a country of countries.csv",
        "limits.csv:4:scope: 'region': expected `country` or `bloc`",
    ]


def test_missing_file_and_missing_column(inst):
    (inst / "demand.csv").unlink()
    (inst / "countries.csv").write_text("country,risk\nCHN,0.5\n")
    assert problems_of(inst)[:2] == [
        "demand.csv: is missing (required: one row per material x period)",
        "countries.csv:1:bloc: required column is missing from the header",
    ]


@pytest.mark.parametrize("table", ["commodities", "countries", "options"])
def test_a_required_file_missing_is_one_problem_not_one_per_row_referring_to_it(inst, table):
    """A missing commodities.csv gave 183 problems for the bundled instance, one per row naming
    a material ('unknown commodity: not in commodities.csv'), as an unreadable one did not."""
    (inst / f"{table}.csv").unlink()
    assert [p for p in problems_of(inst) if "not in" in p or "unknown" in p] == []


def test_empty_binary_and_non_utf8_files(inst):
    (inst / "demand.csv").write_text("")
    (inst / "countries.csv").write_bytes("country,bloc,risk,name\nCHN,china,0.5,Chine\xe9\n".encode("latin-1"))
    (inst / "options.csv").write_bytes(b"PK\x03\x04binary")
    assert problems_of(inst) == [
        "demand.csv: is empty (expected a header row and one row per record)",
        "countries.csv:2: byte 0xe9 is not UTF-8 text (save the file as 'CSV UTF-8' (Excel) or with "
        "character set 'Unicode (UTF-8)' (LibreOffice))",
        "options.csv: is a zip archive, not text (an Excel workbook saved under a .csv name? "
        "Save it as 'CSV UTF-8')",
    ]


def test_text_the_csv_reader_rejects_is_a_problem_not_a_crash(inst):
    """A lone CR in the header (found by a fuzzing hunt: an internal error), an empty header and a
    value beyond the csv module's field limit: each named with its file and row."""
    (inst / "demand.csv").write_bytes(b"\r,period,demand\nree,2026,1\n")
    (inst / "countries.csv").write_text(",,\nCHN,china,0.5\n")
    (inst / "options.csv").write_text("option,commodity\n" + "x" * 200_000 + ",ree\n")
    assert problems_of(inst) == [
        "demand.csv:1: the header row is empty (the first row must name the columns)",
        "countries.csv:1: the header row is empty (the first row must name the columns)",
        "options.csv:2: cannot be read as CSV text: field larger than field limit (131072) (a value too long, "
        "or a stray quote or line break inside a value?)",
    ]


def test_settings_are_checked(inst):
    (inst / "instance.toml").write_text('name = "x"\nperiods = ["2026", "2026"]\n[risk]\naversion = 2\n'
                                        'cvar_alpha = 1\n')
    assert problems_of(inst) == [
        "instance.toml:periods: '2026': period label appears twice",
        "instance.toml:risk.aversion: '2': expected a number in [0, 1]",
        "instance.toml:risk.cvar_alpha: '1': expected a number in [0, 1)",
    ]


def test_invalid_toml_is_reported(inst):
    (inst / "instance.toml").write_text('name = "x\nperiods = [\n')
    assert problems_of(inst)[0].startswith("instance.toml: is not valid TOML")


def test_toml_values_of_any_type_or_size_are_named_as_written(inst):
    """A whole number too large for a float (it was an internal error: OverflowError), one too
    long for Python to read at all (tomllib's ValueError, an internal error too), and values of
    the wrong type, named as instance.toml writes them (true, not True)."""
    huge = "1" + "0" * 400
    (inst / "instance.toml").write_text(f'name = "x"\nperiods = ["2026"]\ncurrency = false\n[risk]\n'
                                        f'aversion = {huge}\ncvar_alpha = [0.5, true]\n')
    assert problems_of(inst) == [
        "instance.toml:currency: 'false': expected non-empty text",
        "instance.toml:risk.aversion: '100000000000000000000000000000... (401 characters)': expected a finite number",
        "instance.toml:risk.cvar_alpha: '[0.5, true]': expected a finite number",
    ]
    (inst / "instance.toml").write_text(f'name = "x"\nperiods = ["2026"]\n[risk]\naversion = 1{"0" * 5000}\n')
    assert problems_of(inst)[0] == "instance.toml: holds a whole number too long to read (more than 4,300 digits)"


def test_periods_that_cannot_be_read_are_named_where_a_table_uses_them_once_per_column(inst):
    """Once per column, not once per row: an instance.toml that could not be read (a typo, its
    permissions) gave as many problems as its tables have period cells, every one 'see there'."""
    (inst / "instance.toml").write_text('name = "x"\nperiods = [true]\n')
    rows = "".join(f"rare_earth_oxide,{2026 + k},100\n" for k in range(40))
    (inst / "demand.csv").write_text("commodity,period,demand\n" + rows)
    problems = problems_of(inst)
    assert problems[0] == "instance.toml:periods: 'true': expected period labels as text or whole numbers"
    said = [p for p in problems if p.startswith("demand.csv")]
    assert said == ["demand.csv:2:period: '2026': cannot be checked against the periods of instance.toml, which could "
                    "not be read (see there); likewise 39 more rows of this column"]


def test_rows_whose_key_could_not_be_read_are_no_duplicates(inst):
    """Two periods mistyped differently, or two keys left empty, were each read as empty and
    then called duplicates of each other: a second, false problem for each."""
    (inst / "demand.csv").write_text("commodity,period,demand\nrare_earth_oxide,2O26,100\nrare_earth_oxide,2O27,100\n"
                                     ",2026,100\n,2026,100\nrare_earth_oxide,2026,100\nrare_earth_oxide,2026,100\n")
    assert problems_of(inst) == [
        "demand.csv:2:period: '2O26': expected a period of instance.toml (2026)",
        "demand.csv:3:period: '2O27': expected a period of instance.toml (2026)",
        "demand.csv:4:commodity: is required but empty",
        "demand.csv:5:commodity: is required but empty",
        "demand.csv:7:period: 'rare_earth_oxide:2026': duplicate commodity/period: row 6 has the same",
    ]


def test_end_period_before_start(inst):
    (inst / "instance.toml").write_text('name = "x"\nperiods = ["2026", "2027"]\n')
    (inst / "disruptions.csv").write_text(
        "scenario,scope,name,commodity,start_period,end_period\ncut-china,bloc,china,*,2027,2026\n")
    assert problems_of(inst) == ["disruptions.csv:2:end_period: '2026': end_period comes before start_period '2027'"]


def test_unknown_columns_and_files_are_warnings(inst):
    (inst / "options.csv").write_text("option,commodity,origin,capacity,unit_cost,fixedcost\n"
                                      "CN1,rare_earth_oxide,CHN,100,100,500\n")
    (inst / "limit.csv").write_text("scope,name,commodity,max_share\n")
    warnings = [str(w).replace(str(inst) + "/", "") for w in load_instance(inst).warnings]
    assert warnings == [
        "options.csv:1:fixedcost: column is not part of the format and is ignored (did you mean 'fixed_cost'?)",
        "limit.csv: is not part of the format and is ignored (did you mean 'limits.csv'?)",
    ]


def test_not_a_folder(tmp_path):
    with pytest.raises(InstanceError, match="is not a folder"):
        load_instance(tmp_path / "nowhere")


def test_generated_families_are_reproducible_and_have_their_shape(tmp_path):
    """planner generate's families: same seed, same files; a budget that is a share of every fixed
    cost; deals that gate options of several materials; events instead of explicit scenarios;
    an ambiguity delta; the default family unchanged by the switches' existence."""
    import pandas as pd

    from planner.instance.generate import Shape, generate_instance

    shape = Shape(aversion=1.0, ambiguity=0.2, budget=0.3, agreements=2, events=8)
    a = generate_instance(tmp_path / "a", 4, 6, 5, 10, seed=3, shape=shape)
    b = generate_instance(tmp_path / "b", 4, 6, 5, 10, seed=3, shape=shape)
    for name in ("instance.toml", "options.csv", "agreements.csv", "events.csv"):
        assert (a / name).read_text() == (b / name).read_text(), name
    inst = load_instance(a)
    assert inst.risk_aversion == 1.0 and len(inst.scenarios) >= 2 and inst.scenarios_generated
    assert inst.ambiguity == 0.2 and "--ambiguity 0.2" in (a / "instance.toml").read_text()
    options = inst.options
    fixed = options["fixed_cost"].sum() + inst.agreements["fixed_cost"].sum()
    assert inst.fixed_cost_max == pytest.approx(0.3 * fixed, rel=1e-6)
    shared = options[options["agreement"].str.startswith("deal_")]
    assert not shared.empty and shared.groupby("agreement")["commodity"].nunique().max() >= 2
    assert pd.read_csv(a / "events.csv")["event"].nunique() == 8
    plain = generate_instance(tmp_path / "plain", 4, 6, 5, 10, seed=3)
    default = generate_instance(tmp_path / "default", 4, 6, 5, 10, seed=3, shape=Shape())
    for name in ("instance.toml", "options.csv", "scenarios.csv", "disruptions.csv"):
        assert (plain / name).read_text() == (default / name).read_text(), name


@pytest.mark.parametrize("events", [0, 5])
def test_generated_lead_times_price_shocks_and_supplied_limits_leave_the_rest_as_it_was(tmp_path, events):
    """planner generate --lead-times --price-shocks --supplied-limits: lead times 0 for spot, 1-3
    for new projects, 0-2 for the others; price factors 1.5-3 on some cut-offs (or events);
    supplied-basis caps beside the contracted one. They draw from a generator of their own: the
    instance without those columns and rows is the one the same seed gives without them."""
    import pandas as pd

    from planner.instance.generate import Shape, generate_instance

    featured = Shape(events=events, lead_times=True, price_shocks=True, supplied_limits=True)
    a = generate_instance(tmp_path / "a", 4, 8, 5, 12, seed=6, shape=featured)
    b = generate_instance(tmp_path / "b", 4, 8, 5, 12, seed=6, shape=Shape(events=events))
    inst = load_instance(a)
    assert not inst.warnings and "--lead-times --price-shocks --supplied-limits" in (a / "instance.toml").read_text()
    options = pd.read_csv(a / "options.csv", keep_default_na=False)
    lead = options["lead_time"]
    assert set(lead[options["spot"] == 1]) == {0}
    new = options[(options["spot"] == 0) & (options["available_from"] != "")]
    assert not new.empty and set(new["lead_time"]) <= {1, 2, 3}
    assert set(lead[(options["spot"] == 0) & (options["available_from"] == "")]) == {0, 1, 2}
    shocks = pd.read_csv(a / ("events.csv" if events else "disruptions.csv"))["price_factor"]
    assert set(shocks.dropna()) <= {1.5, 2, 3} and shocks.notna().any() and shocks.isna().any()
    limits = pd.read_csv(a / "limits.csv")
    assert list(limits["basis"]) == ["contracted", "supplied", "supplied"]
    assert inst.tables["limits"]["basis"].tolist() == ["contracted", "supplied", "supplied"]
    for name, extra in (("options.csv", "lead_time"), ("events.csv" if events else "disruptions.csv", "price_factor")):
        assert pd.read_csv(a / name).drop(columns=extra).equals(pd.read_csv(b / name)), name
    pd.testing.assert_frame_equal(pd.read_csv(a / "limits.csv").iloc[:1, :4], pd.read_csv(b / "limits.csv"))
    for name in ("demand.csv", "commodities.csv", "capacity.csv", "agreements.csv"):
        assert (a / name).read_text() == (b / name).read_text(), name


@pytest.mark.parametrize("saved_as, hint", [
    ("Options.csv", "Options.csv is here: planner reads the name in lower case; rename it options.csv"),
    ("OPTIONS.CSV", "OPTIONS.CSV is here: planner reads the name in lower case; rename it options.csv"),
    ("options.csv.txt", "options.csv.txt is here: rename it options.csv (a second extension, which the system may "
                        "hide)"),
    ("options.xlsx", "options.xlsx is here: planner reads text; save it as CSV (Excel: 'CSV UTF-8'; LibreOffice: "
                     "'Text CSV', character set UTF-8) named options.csv"),
])
def test_a_missing_file_names_the_file_that_looks_meant_for_it(inst, saved_as, hint):
    """A file saved under another case (on a system where case does not count), with a second
    extension the system hid, or as a workbook: "options.csv: is missing", with nothing on
    the file beside it (the warning naming Options.csv was dropped with the instance's other
    warnings once it had an error)."""
    (inst / "options.csv").rename(inst / saved_as)
    assert problems_of(inst) == [f"options.csv: is missing ({hint})"]


def test_a_missing_instance_toml_and_an_absent_optional_table_name_their_stand_ins(inst):
    (inst / "instance.toml").rename(inst / "instance.toml.txt")
    assert problems_of(inst)[0] == ("instance.toml: is missing (instance.toml.txt is here: rename it instance.toml "
                                    "(a second extension, which the system may hide))")
    (inst / "instance.toml.txt").rename(inst / "instance.toml")
    (inst / "scenarios.csv").rename(inst / "scenarios.ods")
    (inst / "disruptions.csv").unlink()
    said = [(str(w.file), w.message, w.hint) for w in load_instance(inst).warnings]
    assert said == [(str(inst / "scenarios.csv"), "is absent, so nothing is read for it",
                     "scenarios.ods is here: planner reads text; save it as CSV (Excel: 'CSV UTF-8'; LibreOffice: "
                     "'Text CSV', character set UTF-8) named scenarios.csv")]
