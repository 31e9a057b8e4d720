"""Errors raised by services and rules; the API turns them into `{"code", "detail"}`."""


class ApplicationError(Exception):
    """A business rule refused an action. `code` is stable and machine-readable."""

    status_code = 400

    def __init__(self, code: str, detail: str, *, status_code: int | None = None, extra: dict | None = None):
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.extra = extra or {}
        if status_code is not None:
            self.status_code = status_code
