"""Forms of the portal pages: shape only; the services check the rules."""

from datetime import date

from django import forms
from django.utils import timezone

from contracts.selectors import contract_list_for_user

RESPONSIBILITY = [("", "（不变）"), ("police", "甲方问题"), ("carrier", "乙方问题"), ("unknown", "无法判断")]


def recent_periods(today: date, count: int = 12) -> list[tuple[str, str]]:
    """("2026-02", "2026年02月") for the last ``count`` months, the previous month first."""
    out = []
    year, month = today.year, today.month
    for _ in range(count):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        out.append((f"{year:04d}-{month:02d}", f"{year}年{month:02d}月"))
    return out


class BillUploadForm(forms.Form):
    contract: forms.ModelChoiceField = forms.ModelChoiceField(queryset=None, label="合同", empty_label=None)
    period = forms.ChoiceField(label="账单月份")
    file = forms.FileField(label="账单文件（CSV 或 XLSX）")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contract"].queryset = contract_list_for_user(user=user)
        self.fields["period"].choices = recent_periods(timezone.localdate(), 24)

    def clean_period(self) -> tuple[int, int]:
        year, month = self.cleaned_data["period"].split("-")
        return int(year), int(month)


class _StepForm(forms.Form):
    at = forms.DateTimeField(
        label="时间",
        required=False,
        help_text="留空为当前时间",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )


class TicketStepForm(_StepForm):
    cause = forms.CharField(label="故障原因", required=False, max_length=2000)
    solution = forms.CharField(label="解决方案", required=False, max_length=2000)


class ComplaintStepForm(_StepForm):
    responsible_side = forms.ChoiceField(label="责任判断", choices=RESPONSIBILITY, required=False)
    outcome = forms.CharField(label="处理结果", required=False, max_length=2000)
