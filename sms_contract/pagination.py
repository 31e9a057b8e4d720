"""Pagination of every list in the API: `?limit=` and `?offset=`, bounded (docs/api.md "Pagination").

DRF's LimitOffsetPagination silently ignores a bad `limit`, has no maximum unless one is set, and passes an
offset of any size to the database (`?offset=99999999999999999999` overflows PostgreSQL's bigint: a 500).
Here a limit or offset that is not a whole number in range is a 400 with its own code, and no page holds
more than `API_MAX_PAGE_SIZE` rows.
"""

from django.conf import settings
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.settings import api_settings

from sms_contract.exceptions import ApplicationError

MAX_OFFSET = 2**31 - 1  # far beyond any list here; well inside bigint


def _whole_number(request, name: str, *, maximum: int, minimum: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12 or not minimum <= int(raw) <= maximum:
        raise ApplicationError(
            f"invalid_{name}",
            f"`{name}` must be a whole number from {minimum} to {maximum}.",
            extra={name: raw[:40]},
        )
    return int(raw)


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    @property
    def max_limit(self) -> int:
        return settings.API_MAX_PAGE_SIZE

    def get_limit(self, request) -> int | None:
        limit = _whole_number(request, self.limit_query_param, maximum=self.max_limit, minimum=1)
        if limit is None:
            return min(api_settings.PAGE_SIZE or 100, self.max_limit)
        return limit

    def get_offset(self, request) -> int:
        return _whole_number(request, self.offset_query_param, maximum=MAX_OFFSET, minimum=0) or 0

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        bounds = {
            self.limit_query_param: {"minimum": 1, "maximum": self.max_limit},
            self.offset_query_param: {"minimum": 0, "maximum": MAX_OFFSET},
        }
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
        return parameters
