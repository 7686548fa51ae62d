"""Simplified Chinese dates ("2026年12月4日 14:41", months "2026年12月"), ISO dates accepted in
forms; grouped thousands ("12,345.50"), which Django's zh_Hans formats leave out."""

DATE_FORMAT = "Y年n月j日"  # 2026年12月4日
TIME_FORMAT = "H:i"  # 14:41
DATETIME_FORMAT = "Y年n月j日 H:i"  # 2026年12月4日 14:41
YEAR_MONTH_FORMAT = "Y年n月"  # 2026年12月
MONTH_DAY_FORMAT = "n月j日"  # 12月4日
SHORT_DATE_FORMAT = "Y年n月j日"
SHORT_DATETIME_FORMAT = "Y年n月j日 H:i"
FIRST_DAY_OF_WEEK = 1  # 星期一

DATE_INPUT_FORMATS = ["%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日"]
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y/%m/%d %H:%M",
    "%Y年%m月%d日 %H:%M",
    "%Y-%m-%d",
]

DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
