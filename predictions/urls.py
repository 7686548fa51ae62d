from django.urls import path

from predictions import views

app_name = "predictions"

urlpatterns = [
    path("", views.model_page, name="model"),
    path("fit/", views.fit_now, name="fit"),
    path("runs/<int:pk>/chart/", views.RunChartView.as_view(), name="run_chart"),
    path("at-risk/", views.at_risk, name="at_risk"),
    path("at-risk/<int:customer_pk>/case/", views.at_risk_case_open, name="at_risk_case"),
]
