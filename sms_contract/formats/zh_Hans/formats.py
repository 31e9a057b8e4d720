"""Date and time formats for the Chinese pages and the admin: ISO dates and times to the second (a notice is
delivered in about a second, so minutes are not enough). Anything not set here comes from Django's zh_Hans."""

DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i:s"
SHORT_DATETIME_FORMAT = "Y-m-d H:i:s"
TIME_FORMAT = "H:i:s"
YEAR_MONTH_FORMAT = "Y年n月"
MONTH_DAY_FORMAT = "n月j日"
