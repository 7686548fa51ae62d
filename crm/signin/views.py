"""The two-factor steps: enrol an authenticator app, verify a code, renew recovery codes."""

from base64 import b32encode
from urllib.parse import urlencode

import segno
from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login

from crm.signin import services


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("Code"),
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "inputmode": "text"}
        ),
    )


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("home")


def two_factor_redirect(request: HttpRequest) -> HttpResponse:
    """Where an unverified user who needs a second factor is sent: setup or verify."""
    step = "two_factor_verify"
    if services.totp_device_confirmed(user=request.user) is None:  # type: ignore[arg-type]
        step = "two_factor_setup"
    return redirect(f"{reverse(step)}?{urlencode({'next': request.get_full_path()})}")


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not services.two_factor_required(user):
        return redirect("home")
    if services.totp_device_confirmed(user=user) is not None:  # type: ignore[arg-type]
        # Enrolled already: a second enrolment needs an admin to reset the first.
        return redirect(f"{reverse('two_factor_verify')}?{urlencode({'next': _next_url(request)})}")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = services.totp_device_confirm(user=user, token=form.cleaned_data["token"])  # type: ignore[arg-type]
        if device is not None:
            otp_login(request, device)
            codes = services.recovery_codes_issue(user=user)  # type: ignore[arg-type]
            return render(
                request,
                "registration/two_factor_recovery_codes.html",
                {"codes": codes, "next": _next_url(request)},
            )
        form.add_error("token", _("That code is not valid. Check the time on your phone."))
    device = services.totp_device_pending(user=user)  # type: ignore[arg-type]
    qr = segno.make(device.config_url, error="m")
    context = {
        "form": form,
        "qr_data_uri": qr.svg_data_uri(scale=4, border=2),
        "secret": _grouped(_base32_secret(device.bin_key)),
        "next": _next_url(request),
    }
    return render(request, "registration/two_factor_setup.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not services.two_factor_required(user) or user.is_verified():  # type: ignore[union-attr]
        return redirect(_next_url(request))
    if services.totp_device_confirmed(user=user) is None:  # type: ignore[arg-type]
        return redirect(f"{reverse('two_factor_setup')}?{urlencode({'next': _next_url(request)})}")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = services.two_factor_verify(user=user, token=form.cleaned_data["token"])  # type: ignore[arg-type]
        if device is not None:
            otp_login(request, device)
            return redirect(_next_url(request))
        form.add_error("token", _("That code is not valid."))
    return render(
        request, "registration/two_factor_verify.html", {"form": form, "next": _next_url(request)}
    )


@login_required
@require_POST
def two_factor_recovery_codes(request: HttpRequest) -> HttpResponse:
    """A verified user replaces their recovery codes (the old ones stop working)."""
    if not services.two_factor_required(request.user) or not request.user.is_verified():  # type: ignore[union-attr]
        return redirect("home")
    codes = services.recovery_codes_issue(user=request.user)  # type: ignore[arg-type]
    return render(
        request,
        "registration/two_factor_recovery_codes.html",
        {"codes": codes, "next": reverse("home")},
    )


def _base32_secret(key: bytes) -> str:
    return b32encode(key).decode("ascii").rstrip("=")


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
