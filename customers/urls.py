from django.urls import path

from customers import edit_views, views

app_name = "customers"

urlpatterns = [
    path("", views.customer_list, name="list"),
    path("new/", edit_views.customer_create, name="create"),
    path("export.csv", views.customer_export, name="export"),
    path("pickers/<slug:kind>/", edit_views.picker, name="picker"),
    path("<int:pk>/", views.customer_detail, name="detail"),
    path("<int:pk>/edit/", edit_views.customer_edit, name="edit"),
    path("<int:pk>/merge/", edit_views.customer_merge, name="merge"),
    path("<int:pk>/contacts/new/", edit_views.contact_create, name="contact_create"),
    path("<int:pk>/contacts/<int:contact_pk>/edit/", edit_views.contact_edit, name="contact_edit"),
    path(
        "<int:pk>/contacts/<int:contact_pk>/primary/",
        edit_views.contact_make_primary,
        name="contact_primary",
    ),
    path("<int:pk>/timeline/", views.customer_timeline_partial, name="timeline"),
]
