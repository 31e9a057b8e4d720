"""URL converters. `<id:pk>`: a database id of 1 to 18 digits (always inside bigint). Django's `<int:…>` takes
any number of digits, and `/messages/99999999999999999999/` then overflows PostgreSQL's bigint: a 500 instead
of the 404 such an id deserves."""

from django.urls import register_converter


class IdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")
