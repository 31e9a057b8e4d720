"""drf-spectacular post-processing: the error answers every operation can give are in the schema (docs/api.md).

Views document their own specific answers (202, 409, 429 …); this hook adds the ones any operation may give
and that views leave out: 400 (bad input: body, `?limit=`, `?offset=`), 401 and 403 (authentication and
permissions), 404 (an operation with a path parameter), each as the project's error body
`{"code", "detail", …}`. Operations that take a body also get 413 (too large) and 415 (wrong content type).
"""

ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error: a stable machine `code`, a human `detail`, sometimes more fields.",
    "properties": {"code": {"type": "string"}, "detail": {"type": "string"}},
    "required": ["code", "detail"],
    "additionalProperties": True,
}
DESCRIPTIONS = {
    "400": "Bad input (a field, the body, `limit` or `offset`); `code` says which.",
    "401": "Not authenticated, or the signature, key or token did not verify.",
    "403": "Authenticated but not allowed.",
    "404": "No such object (or not one of yours).",
    "413": "The body is too large.",
    "415": "The body's content type is not accepted.",
}
METHODS = ("get", "put", "post", "delete", "patch")


def add_error_responses(result, generator, request, public):
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            codes = ["400", "401", "403"]
            if "{" in path:
                codes.append("404")
            if "requestBody" in operation:
                codes += ["413", "415"]
            for code in codes:
                responses.setdefault(code, {"content": content, "description": DESCRIPTIONS[code]})
    return result
