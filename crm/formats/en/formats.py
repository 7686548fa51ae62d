"""English dates as people write them in Europe ("4 Dec 2026, 14:41"), 24-hour clock, ISO dates
accepted in forms; grouped thousands ("12,345.50")."""

DATE_FORMAT = "j M Y"  # 4 Dec 2026
TIME_FORMAT = "H:i"  # 14:41
DATETIME_FORMAT = "j M Y, H:i"  # 4 Dec 2026, 14:41
YEAR_MONTH_FORMAT = "F Y"  # December 2026
MONTH_DAY_FORMAT = "j M"  # 4 Dec
SHORT_DATE_FORMAT = "j M Y"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
FIRST_DAY_OF_WEEK = 1  # Monday

# ISO first: the date fields' hint is YYYY-MM-DD.
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d %b %Y", "%d %B %Y"]
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%d/%m/%Y %H:%M",
    "%Y-%m-%d",
]

DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
