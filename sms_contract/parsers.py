"""The API's JSON parser: DRF's, with a bound on nesting (docs/api.md "Errors").

Python's JSON decoder answers a body of a few thousand nested `[` with a RecursionError, which DRF does not
catch (a 500). Here such a body, and any body nested deeper than `API_MAX_JSON_DEPTH`, is a 400
`json_too_deep`; malformed JSON stays DRF's 400 `parse_error`.
"""

from collections.abc import Iterable

from django.conf import settings
from rest_framework import exceptions, parsers


class JsonTooDeep(exceptions.ParseError):
    default_code = "json_too_deep"


def json_depth_exceeds(value, limit: int) -> bool:
    """True if arrays/objects in `value` nest deeper than `limit` (iterative: no recursion of our own)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children: Iterable[object]
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


class BoundedJSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_MAX_JSON_DEPTH
        detail = f"JSON nested deeper than {limit} levels."
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise JsonTooDeep(detail) from None
        if json_depth_exceeds(data, limit):
            raise JsonTooDeep(detail)
        return data
