"""Two-factor sign-in: who needs it, enrolling an authenticator app, recovery codes, verifying.

Devices are django-otp's: a TOTPDevice for the authenticator app and a StaticDevice holding the
single-use recovery codes. An admin resets a user's second factor by deleting their devices in
the Django admin ("OTP_TOTP" / "OTP_Static"); the user enrols again at the next sign-in.
"""

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from crm.roles import ADMIN, is_admin, user_roles

AUTHENTICATOR_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"
RECOVERY_CODE_COUNT = 10


def two_factor_required(user: AbstractBaseUser | AnonymousUser) -> bool:
    """True when one of the user's roles is in CRM_REQUIRE_2FA_ROLES (superusers count as Admin)."""
    required = set(settings.CRM_REQUIRE_2FA_ROLES)
    if not required or not user.is_authenticated:
        return False
    if ADMIN in required and is_admin(user):
        return True
    return bool(required & user_roles(user))


def totp_device_confirmed(*, user: AbstractBaseUser) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).first()


def totp_device_pending(*, user: AbstractBaseUser) -> TOTPDevice:
    """The unconfirmed device whose secret the setup page shows, the same one until confirmed."""
    device = TOTPDevice.objects.filter(user_id=user.pk, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)
    return device


@transaction.atomic
def totp_device_confirm(*, user: AbstractBaseUser, token: str) -> TOTPDevice | None:
    """Confirm the pending device with a code the app shows; None when the code is wrong."""
    device = (
        TOTPDevice.objects.select_for_update()
        .filter(user_id=user.pk, confirmed=False)
        .order_by("pk")
        .first()
    )
    if device is None or not device.verify_token(token):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    # One authenticator per user: an older one (an admin reset it, a lost phone) stops working.
    TOTPDevice.objects.filter(user_id=user.pk).exclude(pk=device.pk).delete()
    return device


@transaction.atomic
def recovery_codes_issue(*, user: AbstractBaseUser) -> list[str]:
    """A fresh set of single-use recovery codes; the previous set stops working."""
    StaticDevice.objects.filter(user_id=user.pk).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def two_factor_verify(*, user: AbstractBaseUser, token: str) -> Device | None:
    """The device that accepts the code: the app's six digits, or an unused recovery code
    (which is used up). None when neither accepts it; both devices throttle repeated misses."""
    token = token.strip().replace(" ", "")
    device: Device | None
    if token.isdigit():
        device = totp_device_confirmed(user=user)
    else:
        device = StaticDevice.objects.filter(user_id=user.pk, confirmed=True).first()
        token = token.lower()
    if device is None:
        return None
    with transaction.atomic():
        return device if device.verify_token(token) else None
