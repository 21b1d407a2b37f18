"""Timestamps of input files: ISO 8601 with an offset, or local wall-clock time with a zone name.

A file written on a local daylight-saving clock can be given as it is, with the zone after the
time — RFC 9557's ``2024-10-27T02:30[Europe/Paris]`` or a space and the name,
``2024-10-27 02:30 Europe/Paris``. Local times are made unambiguous in file order: in the repeated
hour of an autumn change the first occurrence of a wall time is the summer one, a second occurrence
the winter one; a time in the skipped spring hour does not exist and is refused. A timestamp with
an offset and a zone must agree with the zone. Everything comes out aware (as given, or in the zone).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_ZONE_SUFFIX = re.compile(
    r"^(?P<base>.+?)(?:\[(?P<bracket>[^\]]+)\]|\s+(?P<name>[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)+|UTC))$"
)


class TimestampError(ValueError):
    """A timestamp that cannot be placed on the UTC time line; the message says why."""


class LocalClock:
    """Parses one file's timestamps in order (the order resolves repeated autumn wall times)."""

    def __init__(self) -> None:
        self._seen: set[tuple[str, datetime]] = set()
        self._zones: dict[str, ZoneInfo] = {}

    def parse(self, text: str) -> datetime:
        text = text.strip()
        match = _ZONE_SUFFIX.match(text)
        base, zone_name = (match["base"], match["bracket"] or match["name"]) if match else (text, None)
        try:
            moment = datetime.fromisoformat(base.strip())
        except ValueError:
            raise TimestampError(f"{text!r} is not an ISO 8601 time") from None
        if zone_name is None:
            if moment.tzinfo is None:
                raise TimestampError(
                    f"{text!r} has no UTC offset and no zone: add an offset (2024-06-01T12:00+02:00) or the "
                    "zone name (2024-06-01T12:00[Europe/Paris])"
                )
            return moment
        zone = self._zone(zone_name, text)
        if moment.tzinfo is not None:
            if moment.utcoffset() != moment.astimezone(zone).utcoffset():
                raise TimestampError(f"{text!r}: the offset is not the one {zone_name} has at that time")
            return moment.astimezone(zone)
        return self._local(moment, zone, zone_name, text)

    def _zone(self, name: str, text: str) -> ZoneInfo:
        if name not in self._zones:
            try:
                self._zones[name] = ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                raise TimestampError(f"{text!r}: unknown time zone {name!r}") from None
        return self._zones[name]

    def _local(self, wall: datetime, zone: ZoneInfo, name: str, text: str) -> datetime:
        first = wall.replace(tzinfo=zone, fold=0)
        second = wall.replace(tzinfo=zone, fold=1)
        if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:
            raise TimestampError(
                f"{text!r} does not exist in {name} (the clock skips it for daylight saving)"
            )
        if first.utcoffset() == second.utcoffset():
            return first
        key = (name, wall)
        chosen = second if key in self._seen else first  # the repeated hour: summer time first
        self._seen.add(key)
        return chosen
