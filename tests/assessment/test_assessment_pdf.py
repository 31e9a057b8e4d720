"""The signed 项目考核表 as PDF: Chinese text, A4, the figures of the sheet."""

import shutil
import subprocess

import pytest
from factories.assessment import FULL_SCORES

from assessment.documents import assessment_pdf
from assessment.services import assessment_sign

pytestmark = pytest.mark.django_db


def poppler(tool: str, data: bytes, tmp_path, *args: str) -> str:
    if not shutil.which(tool):
        pytest.skip("poppler-utils is not installed")
    path = tmp_path / "sheet.pdf"
    path.write_bytes(data)
    command = [tool, *args, str(path), *(["-"] if tool == "pdftotext" else [])]
    return subprocess.run(command, capture_output=True, check=True, text=True).stdout


def test_pdf_carries_the_sheet(record, police_user, tmp_path):
    a = assessment_sign(assessment=record(emergency=5, reasons={"emergency": "严重故障恢复超过24小时"}), by=police_user)
    data = assessment_pdf(a)
    assert "A4" in poppler("pdfinfo", data, tmp_path).split("Page size:")[1].splitlines()[0]
    text = poppler("pdftotext", data, tmp_path, "-layout")
    expected_texts = ["项目考核表", "JSZC-320300-HWZX-D2025-0524", "2025 年 10 月", "3 应急保障要求"]
    expected_texts += ["严重故障恢复超过24小时", "基本不满足", "付款比例：90%（0.90）", "考核人：police", "乙方）签章"]
    for expected in expected_texts:
        assert expected in text, expected


def test_pdf_endpoint_only_for_signed_sheets(api_as, police_user, carrier_user, contract):
    url = f"/api/v1/assessments/{contract.number}/2025-10/"
    api = api_as(police_user)
    api.put(url, FULL_SCORES, format="json")
    draft = api.get(url + "pdf/")
    assert (draft.status_code, draft.json()["code"]) == (409, "assessment_not_signed")
    api.post(url + "sign/")
    response = api.get(url + "pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert api_as(carrier_user).get(url + "pdf/").status_code == 200
