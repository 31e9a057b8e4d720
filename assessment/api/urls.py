from django.urls import path

from assessment.api.views import AssessmentDetailApi, AssessmentPdfApi, AssessmentSignApi

urlpatterns = [
    path("assessments/<str:contract_number>/<str:period>/", AssessmentDetailApi.as_view(), name="assessment-detail"),
    path("assessments/<str:contract_number>/<str:period>/sign/", AssessmentSignApi.as_view(), name="assessment-sign"),
    path("assessments/<str:contract_number>/<str:period>/pdf/", AssessmentPdfApi.as_view(), name="assessment-pdf"),
]
