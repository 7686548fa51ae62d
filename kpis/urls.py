from django.urls import path

from kpis import views

app_name = "kpis"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("<slug:key>/chart.json", views.KpiChartView.as_view(), name="kpi_chart"),
]
