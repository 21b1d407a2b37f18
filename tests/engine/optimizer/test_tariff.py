"""The one tariff model: time-of-use by kind of day and season, fixed, market with fees and VAT.

Prices are checked by hand on a French calendar: 14 July 2026 is a Tuesday and a public holiday,
11 July a Saturday, 13 July a Monday.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from shems_optimizer.app.site.engine_site import document_tariff
from shems_optimizer.app.site.site_document import validate_site_document
from shems_optimizer.core.model import ConfigError
from shems_optimizer.core.model.loading import site_from_dict
from shems_optimizer.core.model.tariff import Period, Season, Tariff, TariffError, TimeOfUse
from shems_optimizer.runtime.errors import InputRejected

PARIS = ZoneInfo("Europe/Paris")
WEEKDAY, WEEKEND, HOLIDAY = frozenset({"weekday"}), frozenset({"weekend"}), frozenset({"holiday"})


def at(day: int, hour: int, month: int = 7) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=PARIS)


def weekday_peak() -> TimeOfUse:
    return TimeOfUse(
        (
            Period(time(7), 0.30, end=time(21), days=WEEKDAY),
            Period(time(21), 0.15, end=time(7), days=WEEKDAY),
            Period(time(0), 0.15, days=WEEKEND),
        )
    )


def test_weekend_and_holidays_have_no_peak() -> None:
    tariff = Tariff(weekday_peak(), timezone="Europe/Paris", country="FR")
    assert tariff.buy_price(at(13, 12)) == 0.30  # Monday noon
    assert tariff.buy_price(at(13, 22)) == 0.15
    assert tariff.buy_price(at(11, 12)) == 0.15  # Saturday
    assert tariff.buy_price(at(14, 12)) == 0.15  # Bastille Day, a Tuesday: the weekend's price
    # Without a country there are no holidays: the Tuesday is a weekday.
    assert Tariff(weekday_peak(), timezone="Europe/Paris").buy_price(at(14, 12)) == 0.30


def test_holiday_periods_and_seasons() -> None:
    summer = (Period(time(0), 0.20, days=WEEKDAY), Period(time(0), 0.10, days=WEEKEND))
    winter = (*summer, Period(time(0), 0.05, days=HOLIDAY))
    tou = TimeOfUse(seasons=(Season((4, 1), (9, 30), summer), Season((10, 1), (3, 31), winter)))
    tariff = Tariff(tou, timezone="Europe/Paris", country="FR")
    assert tariff.buy_price(at(14, 12)) == 0.10  # summer holiday: weekend price
    assert tariff.buy_price(at(25, 12, month=12)) == 0.05  # Christmas, in the winter season
    assert tariff.buy_price(at(29, 12, month=12)) == 0.20  # an ordinary Tuesday
    assert tariff.buy_price(datetime(2028, 2, 29, 12, tzinfo=UTC)) == 0.20  # leap day: winter, Tuesday


def test_vectorised_prices_follow_the_local_clock_across_dst() -> None:
    tariff = Tariff(TimeOfUse((Period(time(0), 0.3), Period(time(2), 0.1))), timezone="Europe/Paris")
    index = pd.date_range("2026-03-28T23:00Z", periods=4, freq="1h")  # local 00, 01, 03, 04 on the 29th
    assert tariff.buy_prices(index).tolist() == [0.3, 0.3, 0.1, 0.1]


@pytest.mark.parametrize(
    ("periods", "field", "words"),
    [
        ((Period(time(0), 0.2, end=time(8)), Period(time(7), 0.3, end=time(0))), "periods[1]", "overlaps"),
        ((Period(time(0), 0.2, end=time(8)), Period(time(9), 0.3, end=time(0))), "periods", "08:00-09:00"),
        ((Period(time(0), 0.2, days=WEEKDAY),), "periods", "on weekends"),
        ((Period(time(6), 0.2, end=time(6)),), "periods[0].end", "no length"),
        ((Period(time(0), 0.2), Period(time(0), 0.3)), "periods[1]", "overlaps"),
    ],
)
def test_overlaps_and_gaps_name_the_period(periods: tuple[Period, ...], field: str, words: str) -> None:
    with pytest.raises(TariffError, match=words) as caught:
        TimeOfUse(periods)
    assert caught.value.field == field


def test_seasons_must_cover_the_year_once() -> None:
    day = (Period(time(0), 0.2),)
    with pytest.raises(TariffError, match="no season covers 10-01") as caught:
        TimeOfUse(seasons=(Season((4, 1), (9, 30), day), Season((10, 2), (3, 31), day)))
    assert caught.value.field == "seasons"
    with pytest.raises(TariffError, match="overlaps seasons") as caught:
        TimeOfUse(seasons=(Season((1, 1), (12, 31), day), Season((6, 1), (6, 30), day)))
    assert caught.value.field == "seasons[1].start"


def scenario(tariff: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"timezone": "Europe/Paris", "grid": {"tariff": tariff}, **extra}


def test_scenario_files_old_and_new_shapes() -> None:
    old = site_from_dict(
        scenario(
            {
                "periods": [
                    {"start": "00:00", "buy_eur_per_kwh": 0.1, "sell_eur_per_kwh": 0.05},
                    {"start": "06:00", "buy_eur_per_kwh": 0.3, "sell_eur_per_kwh": 0.02},
                ]
            }
        )
    )
    assert old.grid.tariff is not None
    assert (old.grid.tariff.buy_price(at(13, 5)), old.grid.tariff.sell_price(at(13, 23))) == (0.1, 0.02)
    new = site_from_dict(
        scenario(
            {
                "sell_eur_per_kwh": 0.07,
                "periods": [
                    {"start": "07:00", "end": "21:00", "days": "weekday", "buy_eur_per_kwh": 0.3},
                    {"start": "21:00", "end": "07:00", "days": ["weekday"], "buy_eur_per_kwh": 0.15},
                    {"start": "00:00", "days": ["weekend", "holiday"], "buy_eur_per_kwh": 0.12},
                ],
            },
            country="FR",
            currency="CHF",
        )
    )
    assert new.country == "FR" and new.currency == "CHF" and new.grid.tariff is not None
    assert new.grid.tariff.currency == "CHF"
    assert [new.grid.tariff.buy_price(at(d, 12)) for d in (13, 14, 11)] == [0.3, 0.12, 0.12]
    assert new.grid.tariff.sell_price(at(13, 12)) == 0.07


def test_scenario_tariff_errors_name_the_field() -> None:
    gap = {
        "periods": [
            {"start": "00:00", "end": "06:00", "buy_eur_per_kwh": 0.1, "sell_eur_per_kwh": 0},
            {"start": "07:00", "end": "00:00", "buy_eur_per_kwh": 0.3, "sell_eur_per_kwh": 0},
        ]
    }
    with pytest.raises(ConfigError, match="06:00-07:00") as caught:
        site_from_dict(scenario(gap))
    assert caught.value.field == "grid.tariff.periods"
    no_sell = {"periods": [{"start": "00:00", "buy_eur_per_kwh": 0.1}]}
    with pytest.raises(ConfigError) as caught:
        site_from_dict(scenario(no_sell))
    assert caught.value.field == "grid.tariff.periods[0].sell_eur_per_kwh"


def test_the_site_document_tariff() -> None:
    price = {
        "kind": "tou",
        "export_per_kwh": 0.06,
        "periods": [
            {"start": "17:00", "end": "21:00", "days": ["weekday"], "import_per_kwh": 0.4},
            {"start": "21:00", "end": "17:00", "days": ["weekday"], "import_per_kwh": 0.2},
            {"start": "00:00", "days": ["weekend"], "import_per_kwh": 0.2},
        ],
    }
    doc = validate_site_document({"timezone": "Europe/Paris", "country": "FR", "price": price})
    tariff = document_tariff(doc)
    assert tariff is not None and tariff.country == "FR"
    assert [tariff.buy_price(at(d, 18)) for d in (13, 14, 11)] == [0.4, 0.2, 0.2]
    assert tariff.sell_price(at(13, 18)) == 0.06
    overlapping = {**price, "periods": [*price["periods"], {"start": "20:00", "import_per_kwh": 0.1}]}
    with pytest.raises(InputRejected, match=r"price\.periods\[3\]: overlaps") as caught:
        validate_site_document({"price": overlapping})
    assert caught.value.field == "price.periods[3]"
    with pytest.raises(InputRejected, match="country"):
        validate_site_document({"country": False, "price": price})
