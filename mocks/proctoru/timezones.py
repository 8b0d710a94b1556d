"""The Windows time zones ProctorU names by ``Id``, mapped to IANA zones for offsets and DST."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class WindowsZone:
    """One entry of ``getTimeZoneList``: the Windows id, its display name and the IANA zone behind it."""

    number: int
    id: str
    display_name: str
    iana: str

    @property
    def zone(self) -> ZoneInfo:
        """The IANA zone (offsets and DST rules)."""
        return ZoneInfo(self.iana)

    def standard_offset(self, now: datetime) -> float:
        """Hours from UTC outside DST (``GMTOffset``)."""
        local = now.astimezone(self.zone)
        offset = (local.utcoffset() or timedelta()) - (local.dst() or timedelta())
        hours = offset.total_seconds() / 3600.0
        return int(hours) if hours.is_integer() else hours

    def is_dst(self, now: datetime) -> bool:
        """Whether the zone observes daylight saving time at ``now``."""
        return bool(now.astimezone(self.zone).dst())

    def to_dict(self, now: datetime) -> dict[str, object]:
        """The item as ``getTimeZoneList`` returns it."""
        local = now.astimezone(self.zone)
        return {
            "TimeZoneNo": self.number, "GMTOffset": self.standard_offset(now), "Id": self.id,
            "DisplayName": self.display_name, "Description": self.id, "SortOrder": 100,
            "LocalTime": local.strftime("%I:%M %p").lstrip("0"), "DST": self.is_dst(now),
        }


# Windows ids and display names as Windows (and ProctorU) spell them; IANA zones per CLDR windowsZones.
_ZONES: tuple[tuple[str, str, str], ...] = (
    ("Dateline Standard Time", "(UTC-12:00) International Date Line West", "Etc/GMT+12"),
    ("UTC-11", "(UTC-11:00) Coordinated Universal Time-11", "Etc/GMT+11"),
    ("Hawaiian Standard Time", "(UTC-10:00) Hawaii", "Pacific/Honolulu"),
    ("Alaskan Standard Time", "(UTC-09:00) Alaska", "America/Anchorage"),
    ("Pacific Standard Time", "(UTC-08:00) Pacific Time (US & Canada)", "America/Los_Angeles"),
    ("US Mountain Standard Time", "(UTC-07:00) Arizona", "America/Phoenix"),
    ("Mountain Standard Time", "(UTC-07:00) Mountain Time (US & Canada)", "America/Denver"),
    ("Central Standard Time", "(UTC-06:00) Central Time (US & Canada)", "America/Chicago"),
    ("Eastern Standard Time", "(UTC-05:00) Eastern Time (US & Canada)", "America/New_York"),
    ("Atlantic Standard Time", "(UTC-04:00) Atlantic Time (Canada)", "America/Halifax"),
    ("Newfoundland Standard Time", "(UTC-03:30) Newfoundland", "America/St_Johns"),
    ("E. South America Standard Time", "(UTC-03:00) Brasilia", "America/Sao_Paulo"),
    ("UTC", "(UTC) Coordinated Universal Time", "Etc/UTC"),
    ("GMT Standard Time", "(UTC+00:00) Dublin, Edinburgh, Lisbon, London", "Europe/London"),
    ("W. Europe Standard Time", "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna",
     "Europe/Berlin"),
    ("Romance Standard Time", "(UTC+01:00) Brussels, Copenhagen, Madrid, Paris", "Europe/Paris"),
    ("Central European Standard Time", "(UTC+01:00) Sarajevo, Skopje, Warsaw, Zagreb", "Europe/Warsaw"),
    ("W. Central Africa Standard Time", "(UTC+01:00) West Central Africa", "Africa/Lagos"),
    ("GTB Standard Time", "(UTC+02:00) Athens, Bucharest", "Europe/Bucharest"),
    ("South Africa Standard Time", "(UTC+02:00) Harare, Pretoria", "Africa/Johannesburg"),
    ("Russian Standard Time", "(UTC+03:00) Moscow, St. Petersburg", "Europe/Moscow"),
    ("Arabian Standard Time", "(UTC+04:00) Abu Dhabi, Muscat", "Asia/Dubai"),
    ("India Standard Time", "(UTC+05:30) Chennai, Kolkata, Mumbai, New Delhi", "Asia/Calcutta"),
    ("China Standard Time", "(UTC+08:00) Beijing, Chongqing, Hong Kong, Urumqi", "Asia/Shanghai"),
    ("Tokyo Standard Time", "(UTC+09:00) Osaka, Sapporo, Tokyo", "Asia/Tokyo"),
    ("AUS Eastern Standard Time", "(UTC+10:00) Canberra, Melbourne, Sydney", "Australia/Sydney"),
    ("New Zealand Standard Time", "(UTC+12:00) Auckland, Wellington", "Pacific/Auckland"),
    ("Tonga Standard Time", "(UTC+13:00) Nuku'alofa", "Pacific/Tongatapu"),
)

ZONES: tuple[WindowsZone, ...] = tuple(WindowsZone(i, zid, name, iana)
                                       for i, (zid, name, iana) in enumerate(_ZONES, start=1))
BY_ID: dict[str, WindowsZone] = {z.id: z for z in ZONES}


def find(zone_id: str) -> WindowsZone | None:
    """The zone with Windows id ``zone_id`` (exact, as ProctorU matches it), or ``None``."""
    return BY_ID.get(zone_id)
