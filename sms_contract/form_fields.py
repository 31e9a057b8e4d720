"""Django form fields shared by the admin and the pages (one way to read an amount typed by a person)."""

from django import forms

from sms_contract.money import YuanParseError, format_fen, parse_yuan

YUAN_MESSAGES = {
    "not_a_number": "请输入金额，例如 12345.67。",
    "too_precise": "金额最多两位小数（分）。",
    "not_positive": "金额必须大于 0。",
}


class YuanField(forms.Field):
    """An amount in yuan typed by a person (``12,345.67``) cleaned to integer fen, exactly (never a float,
    never rounded: more than two decimals is an error). Positive unless ``positive=False``."""

    widget = forms.TextInput(attrs={"maxlength": "20", "inputmode": "decimal"})

    def __init__(self, *, positive: bool = True, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.positive = positive

    def prepare_value(self, value: object) -> object:
        return format_fen(value) if isinstance(value, int) and not isinstance(value, bool) else value

    def to_python(self, value: object) -> int | None:  # type: ignore[override]
        if value in self.empty_values:
            return None
        text = str(value)
        if len(text) > 20:
            raise forms.ValidationError(YUAN_MESSAGES["not_a_number"], code="not_a_number")
        try:
            return parse_yuan(text, positive=self.positive)
        except YuanParseError as exc:
            raise forms.ValidationError(YUAN_MESSAGES[exc.code], code=exc.code) from None
