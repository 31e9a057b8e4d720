"""GET/PUT /api/v1/assessments/{contract}/{YYYY-MM}/, sign, and who may do what."""

import pytest
from factories.assessment import FULL_SCORES

from assessment.models import Assessment
from assessment.services import assessment_lock

pytestmark = pytest.mark.django_db


@pytest.fixture
def url(contract):
    return f"/api/v1/assessments/{contract.number}/2025-10/"


def test_put_then_get_returns_scores_bands_total_and_ratio(api_as, police_user, url):
    body = {**FULL_SCORES, "sending": 16, "ops_timeliness": 19, "remarks": "十月考核",
            "reasons": {"sending": "新增告知类型未按期开通", "ops_timeliness": "个别短信延迟"}}  # fmt: skip
    created = api_as(police_user).put(url, body, format="json")
    assert created.status_code == 201, created.json()
    data = api_as(police_user).get(url).json()
    assert data["sending"] == 16 and data["scores"]["ops_timeliness"] == 19
    assert data["total"] == 85
    assert data["payment_ratio"] == "1.00"
    assert data["bands"] == {"sending": "serious", "ops_timeliness": "minor", "ops_compliance": "full",
                             "emergency": "full"}  # fmt: skip
    assert (data["state"], data["version"], data["remarks"]) == ("draft", 1, "十月考核")
    again = api_as(police_user).put(url, {**FULL_SCORES, "emergency": 0, "reasons": {"emergency": "全网中断"}},
                                    format="json")  # fmt: skip
    assert again.status_code == 200
    assert (again.json()["total"], again.json()["payment_ratio"]) == (70, "0.90")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sending", 31),
        ("ops_compliance", 21),
        ("emergency", -1),
        ("ops_timeliness", 12.5),
        ("sending", "abc"),
        ("emergency", None),
    ],  # fmt: skip
)
def test_bad_score_is_400_naming_the_field(api_as, police_user, url, field, value):
    response = api_as(police_user).put(url, {**FULL_SCORES, field: value}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert list(body["errors"]) == [field]
    assert not Assessment.objects.exists()


def test_below_full_without_reason_is_400(api_as, police_user, url):
    response = api_as(police_user).put(url, {**FULL_SCORES, "sending": 29}, format="json")
    assert response.status_code == 400
    assert "reasons.sending" in response.json()["errors"]


def test_get_missing_is_404_with_suggestions(api_as, police_user, url):
    response = api_as(police_user).get(url)
    assert response.status_code == 404
    assert response.json()["code"] == "assessment_not_found"
    assert response.json()["suggestions"]["emergency"]["score"] == 30


def test_bad_period_or_unknown_contract_is_404(api_as, police_user, contract):
    assert api_as(police_user).get(f"/api/v1/assessments/{contract.number}/2025-13/").status_code == 404
    assert api_as(police_user).get(f"/api/v1/assessments/{contract.number}/202510/").status_code == 404
    assert api_as(police_user).get("/api/v1/assessments/NOPE/2025-10/").status_code == 404


def test_sign_and_revision_flow(api_as, police_user, url):
    api = api_as(police_user)
    api.put(url, FULL_SCORES, format="json")
    signed = api.post(url + "sign/")
    assert signed.status_code == 200
    assert (signed.json()["state"], signed.json()["signed_by"]) == ("signed", "police")
    assert api.post(url + "sign/").status_code == 409
    no_reason = api.put(url, {**FULL_SCORES, "sending": 20, "reasons": {"sending": "x"}}, format="json")
    assert (no_reason.status_code, no_reason.json()["code"]) == (400, "change_reason_required")
    revised = api.put(url, {**FULL_SCORES, "sending": 20, "reasons": {"sending": "x"}, "change_reason": "复核"},
                      format="json")  # fmt: skip
    assert (revised.json()["version"], revised.json()["state"]) == (2, "draft")


def test_revising_a_signed_assessment_keeps_a_long_change_reason_whole_in_the_history(api_as, police_user, url):
    api = api_as(police_user)
    api.put(url, FULL_SCORES, format="json")
    api.post(url + "sign/")
    reason = "复核：" + "运营商提交的故障记录与平台日志不一致，经双方确认后更正扣分。" * 5
    assert len(reason) > 100
    revised = api.put(url, {**FULL_SCORES, "sending": 20, "reasons": {"sending": "x"}, "change_reason": reason},
                      format="json")  # fmt: skip
    assert revised.status_code == 200, revised.content
    assessment = Assessment.objects.get()
    assert (assessment.version, assessment.change_reason) == (2, reason)
    assert assessment.history.first().history_change_reason == reason


def test_locked_assessment_cannot_be_changed_through_the_api(api_as, police_user, url):
    api = api_as(police_user)
    api.put(url, FULL_SCORES, format="json")
    api.post(url + "sign/")
    assessment_lock(assessment_id=Assessment.objects.get().pk)
    response = api.put(url, {**FULL_SCORES, "sending": 0, "reasons": {"sending": "x"}, "change_reason": "改"},
                       format="json")  # fmt: skip
    assert (response.status_code, response.json()["code"]) == (409, "assessment_locked")
    assert Assessment.objects.get().total == 100
    assert api.post(url + "sign/").status_code == 409


def test_carrier_reads_own_contract_but_cannot_put_or_sign(api_as, police_user, carrier_user, url):
    api_as(police_user).put(url, FULL_SCORES, format="json")
    carrier = api_as(carrier_user)
    assert carrier.get(url).status_code == 200
    assert carrier.put(url, FULL_SCORES, format="json").status_code == 403
    assert carrier.post(url + "sign/").status_code == 403
    assert Assessment.objects.get().state == "draft"


def test_carrier_cannot_see_other_carriers_contracts(api_as, make_user):
    from factories.contracts import ContractFactory

    other = ContractFactory()
    outsider = make_user("carrier_staff", "other-carrier", party=other.supplier)
    assert api_as(outsider).get("/api/v1/assessments/JSZC-320300-HWZX-D2025-0524/2025-10/").status_code == 404


def test_finance_reads_but_cannot_sign(api_as, police_user, finance_user, url):
    api_as(police_user).put(url, FULL_SCORES, format="json")
    assert api_as(finance_user).get(url).status_code == 200
    assert api_as(finance_user).post(url + "sign/").status_code == 403


def test_anonymous_is_refused(api_client, url):
    assert api_client.get(url).status_code in (401, 403)
