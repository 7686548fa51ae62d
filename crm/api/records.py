"""Create and update for reference records that have no domain service (teams, channels, …).

Domain records (customers, leads, orders, tickets, …) are written by their app's services; these
two functions only cover plain configuration rows, validating the model (field rules and
database constraints) before saving so the API cannot store what the admin would refuse.
"""

from typing import Any, TypeVar

from django.db import models, transaction

ModelT = TypeVar("ModelT", bound=models.Model)


def _split_many_to_many(
    model: type[models.Model], fields: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    m2m_names = {field.name for field in model._meta.many_to_many}
    plain = {name: value for name, value in fields.items() if name not in m2m_names}
    m2m = {name: value for name, value in fields.items() if name in m2m_names}
    return plain, m2m


@transaction.atomic
def record_create(*, model: type[ModelT], fields: dict[str, Any]) -> ModelT:
    plain, m2m = _split_many_to_many(model, fields)
    record = model(**plain)
    record.full_clean()
    record.save()
    for name, value in m2m.items():
        getattr(record, name).set(value)
    return record


@transaction.atomic
def record_update(*, record: ModelT, fields: dict[str, Any]) -> ModelT:
    plain, m2m = _split_many_to_many(type(record), fields)
    locked = type(record)._default_manager.select_for_update().get(pk=record.pk)
    for name, value in plain.items():
        setattr(locked, name, value)
    locked.full_clean()
    locked.save()
    for name, value in m2m.items():
        getattr(locked, name).set(value)
    return locked
