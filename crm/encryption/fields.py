"""Model fields that keep ciphertext in the database and plain text on the model instance.

`EncryptedEmailField`, `EncryptedCharField` and `EncryptedTextField` behave like their Django
parents in forms, serializers and validation (max_length applies to the plain value) but store a
Fernet token in a text column. Tokens are randomised, so the database cannot compare them:
every lookup except `isnull` and `= ""` is refused with a FieldError pointing at the blind index.
`BlindIndexField(source=..., kind=...)` holds the HMAC of the normalised source value and is
recomputed whenever the row is saved or bulk-created (`save(update_fields=...)` included, through
`BlindIndexedModel`). `QuerySet.update(email=...)` bypasses both: set the index in the same call.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import FieldError
from django.db import models
from django.db.models import Q
from django.db.models.lookups import Exact, IsNull, Lookup

from crm.encryption.ciphers import blind_index, decrypt, encrypt


class EmptyOnlyExact(Exact):
    """`field = ""` (has no value) still works: the empty string is stored as is."""

    def get_prep_lookup(self) -> Any:
        if self.rhs not in ("", None):
            raise FieldError(
                f"{self.lhs.target.model.__name__}.{self.lhs.target.name} is encrypted; compare "
                f"its blind index instead (blind_index_q(model, '{self.lhs.target.name}', value))"
            )
        return super().get_prep_lookup()


class RefusedLookup(Lookup):
    """icontains, iexact, in, startswith … on ciphertext: refused when the query is built."""

    def __init__(self, lhs: Any, rhs: Any) -> None:
        target = lhs.target
        raise FieldError(
            f"{target.model.__name__}.{target.name} is encrypted and cannot be searched that "
            "way; exact matches go through its blind index (blind_index_q)"
        )


class EncryptedMixin:
    """Encrypt on the way to the database, decrypt on the way back; "" stays "" both ways."""

    name: str
    model: type[models.Model]

    def get_internal_type(self) -> str:
        # A token is ~2.4× its plain text: an unbounded text column, whatever max_length says.
        return "TextField"

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None:
            return None
        return decrypt(value, where=f"{self.model._meta.db_table}.{self.name}")

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        value = super().get_db_prep_value(value, connection, prepared)  # type: ignore[misc]
        if value is None:
            return None
        return encrypt(str(value))

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name == "exact":
            return EmptyOnlyExact
        if lookup_name == "isnull":
            return IsNull
        return RefusedLookup


class EncryptedEmailField(EncryptedMixin, models.EmailField):
    pass


class EncryptedCharField(EncryptedMixin, models.CharField):
    pass


class EncryptedTextField(EncryptedMixin, models.TextField):
    pass


class BlindIndexField(models.CharField):
    """HMAC-SHA256 of the normalised `source` field (see ciphers.blind_index); "" when empty.

    Index it with a Meta `models.Index`: `db_index=True` would add a second, useless
    pattern-ops index on PostgreSQL, and a digest is only ever compared for equality.
    """

    def __init__(self, *args: Any, source: str, kind: str, **kwargs: Any) -> None:
        self.source = source
        self.kind = kind
        kwargs.update(max_length=64, blank=True, default="", editable=False)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        for fixed in ("max_length", "blank", "default", "editable"):
            kwargs.pop(fixed, None)
        kwargs.update(source=self.source, kind=self.kind)
        return name, path, args, kwargs

    def index_of(self, value: str) -> str:
        return blind_index(self.kind, value)

    def pre_save(self, model_instance: models.Model, add: bool) -> str:
        value = self.index_of(getattr(model_instance, self.source) or "")
        setattr(model_instance, self.attname, value)
        return value


def blind_index_field(model: type[models.Model], source: str) -> BlindIndexField:
    for field in model._meta.concrete_fields:
        if isinstance(field, BlindIndexField) and field.source == source:
            return field
    raise FieldError(f"{model.__name__}.{source} has no blind index")


def blind_index_q(model: type[models.Model], source: str, value: str, *, prefix: str = "") -> Q:
    """Rows whose `source` equals `value` after normalisation (an e-mail ignores case and
    surrounding spaces). An empty value matches nothing. `prefix` follows a relation:
    blind_index_q(Customer, "email", address, prefix="customer__") on a Ticket queryset."""
    field = blind_index_field(model, source)
    digest = field.index_of(value)
    if digest == "":
        return Q(pk__in=[])
    return Q(**{f"{prefix}{field.name}": digest})


def with_blind_indexes(model: type[models.Model], update_fields: Iterable[str]) -> list[str]:
    """`update_fields` plus the blind index of every encrypted field in it."""
    names = list(update_fields)
    for field in model._meta.concrete_fields:
        if isinstance(field, BlindIndexField) and field.source in names:
            if field.name not in names:
                names.append(field.name)
    return names


class BlindIndexedModel(models.Model):
    """Keeps blind indexes in step when a service saves with update_fields=["email", ...]."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = with_blind_indexes(type(self), kwargs["update_fields"])
        super().save(*args, **kwargs)


def blind_index_match(model: type[models.Model], path: str, value: str) -> Q:
    """`blind_index_q` for a lookup path such as "email" or "customer__email"."""
    *relations, source = path.split("__")
    target: Any = model
    for relation in relations:
        target = target._meta.get_field(relation).related_model
    prefix = "".join(f"{relation}__" for relation in relations)
    return blind_index_q(target, source, value, prefix=prefix)


def blind_index_any(model: type[models.Model], paths: Iterable[str], value: str) -> Q:
    """Rows where any of `paths` equals `value` exactly (through the blind indexes)."""
    rule = Q(pk__in=[])
    for path in paths:
        rule |= blind_index_match(model, path, value)
    return rule
