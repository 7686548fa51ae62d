"""Batch work over stored rows: encrypt plain rows (data migrations), decrypt them (their
reverse) and re-encrypt under the newest key (`manage.py rotate_encryption_key`).

Raw SQL on purpose: the rows being migrated are not yet readable through the encrypted fields.
Each batch is one transaction, so an interrupted run keeps its finished batches and a second run
skips them (resumable). Each row is written back only if its ciphertext is still the one read
(compare-and-swap on the token, which is unique per encryption), so a rotation running beside the
live app never overwrites a value a user saved in between.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import apps as global_apps
from django.db import models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from crm.encryption.ciphers import (
    blind_index,
    can_decrypt,
    decrypt,
    encrypt,
    is_under_newest_key,
    rotate,
)
from crm.encryption.fields import BlindIndexField, EncryptedMixin

BATCH_SIZE = 500

Report = Callable[[str], None]


@dataclass(frozen=True)
class EncryptedColumn:
    column: str
    # Its blind indexes as (index column, kind): an e-mail has one for the address and may have
    # one for its domain (Customer.email_domain_bidx).
    indexes: tuple[tuple[str, str], ...]


def encrypted_columns(model: type[models.Model]) -> list[EncryptedColumn]:
    blind = [field for field in model._meta.concrete_fields if isinstance(field, BlindIndexField)]
    return [
        EncryptedColumn(
            field.column,
            tuple((index.column, index.kind) for index in blind if index.source == field.name),
        )
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedMixin)
    ]


def encrypted_models(apps: Any = global_apps) -> list[type[models.Model]]:
    return [model for model in apps.get_models() if encrypted_columns(model)]


# A transform gets a column and its stored value; it returns (new stored value, plain value to
# index or None to empty the index), or None when the value needs no change.
Transform = Callable[[EncryptedColumn, str], tuple[str, str | None] | None]


def _walk(
    model: type[models.Model],
    connection: BaseDatabaseWrapper,
    transform: Transform,
    *,
    verb: str,
    report: Report | None,
    batch_size: int,
) -> int:
    columns = encrypted_columns(model)
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    pk = quote(model._meta.pk.column)  # type: ignore[union-attr]
    selected = ", ".join(quote(c.column) for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table}")
        total = cursor.fetchone()[0]
    seen = changed = 0
    last: Any = None
    while True:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            where = f"WHERE {pk} > %s " if last is not None else ""
            cursor.execute(
                f"SELECT {pk}, {selected} FROM {table} {where}ORDER BY {pk} LIMIT %s",
                [last, batch_size] if last is not None else [batch_size],
            )
            rows = cursor.fetchall()
            if not rows:
                break
            # Rows changing the same columns share one statement, sent with executemany
            # (psycopg pipelines it): one round trip per statement, not per row.
            updates: dict[str, list[list[Any]]] = {}
            for row in rows:
                assignments: list[str] = []
                params: list[Any] = []
                guards: list[str] = []
                guard_params: list[Any] = []
                for column, stored in zip(columns, row[1:], strict=True):
                    if stored is None:
                        continue
                    result = transform(column, stored)
                    if result is None:
                        continue
                    new, plain = result
                    assignments.append(f"{quote(column.column)} = %s")
                    params.append(new)
                    for index_column, kind in column.indexes:
                        assignments.append(f"{quote(index_column)} = %s")
                        params.append(blind_index(kind, plain) if plain is not None else "")
                    guards.append(f"{quote(column.column)} = %s")
                    guard_params.append(stored)
                if assignments:
                    statement = (
                        f"UPDATE {table} SET {', '.join(assignments)} "
                        f"WHERE {pk} = %s AND {' AND '.join(guards)}"
                    )
                    updates.setdefault(statement, []).append([*params, row[0], *guard_params])
            for statement, param_list in updates.items():
                cursor.executemany(statement, param_list)
                changed += cursor.rowcount  # the rows matched: 0 for a row changed meanwhile
            seen += len(rows)
            last = rows[-1][0]
        if report is not None:
            report(f"{model._meta.label}: {seen}/{total} rows read, {changed} {verb}")
    return changed


def _encrypt_plain(column: EncryptedColumn, stored: str) -> tuple[str, str | None] | None:
    if stored == "" or can_decrypt(stored):
        return None  # empty, or done by an earlier (interrupted) run
    return encrypt(stored), stored


def _decrypt_token(column: EncryptedColumn, stored: str) -> tuple[str, str | None] | None:
    if stored == "" or not can_decrypt(stored):
        return None
    return decrypt(stored), None


def _rotate_token(column: EncryptedColumn, stored: str) -> tuple[str, str | None] | None:
    if stored == "" or is_under_newest_key(stored):
        return None
    return rotate(stored), decrypt(stored)


def _reindex(column: EncryptedColumn, stored: str) -> tuple[str, str | None] | None:
    if stored == "" or not column.indexes:
        return None
    return stored, decrypt(stored)


def encrypt_plain_rows(
    model: type[models.Model],
    connection: BaseDatabaseWrapper,
    *,
    report: Report | None = None,
    batch_size: int = BATCH_SIZE,
) -> int:
    """Encrypt the plain values of `model` and fill their blind indexes; returns rows changed."""
    return _walk(
        model, connection, _encrypt_plain, verb="encrypted", report=report, batch_size=batch_size
    )


def decrypt_rows(
    model: type[models.Model],
    connection: BaseDatabaseWrapper,
    *,
    report: Report | None = None,
    batch_size: int = BATCH_SIZE,
) -> int:
    """Write the plain text back (the data migrations' reverse); blind indexes are emptied."""
    return _walk(
        model, connection, _decrypt_token, verb="decrypted", report=report, batch_size=batch_size
    )


def rotate_rows(
    model: type[models.Model],
    connection: BaseDatabaseWrapper,
    *,
    report: Report | None = None,
    batch_size: int = BATCH_SIZE,
) -> int:
    """Re-encrypt every value not yet under the newest key; blind indexes are recomputed with it."""
    return _walk(
        model, connection, _rotate_token, verb="re-encrypted", report=report, batch_size=batch_size
    )


def reindex_rows(
    model: type[models.Model],
    connection: BaseDatabaseWrapper,
    *,
    report: Report | None = None,
    batch_size: int = BATCH_SIZE,
) -> int:
    """Recompute every blind index under the current CRM_BLIND_INDEX_KEY (after changing it)."""
    return _walk(
        model, connection, _reindex, verb="re-indexed", report=report, batch_size=batch_size
    )


def values_not_under_newest_key(model: type[models.Model], connection: BaseDatabaseWrapper) -> int:
    """How many stored values the newest key cannot decrypt (0 once rotation finished)."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    left = 0
    for column in encrypted_columns(model):
        name = quote(column.column)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {name} FROM {table} WHERE {name} <> ''")
            left += sum(1 for (stored,) in cursor.fetchall() if not is_under_newest_key(stored))
    return left


def migration_operations(app_label: str, model_names: tuple[str, ...]) -> tuple[Any, Any]:
    """The forward and backward functions of an app's RunPython data migration."""

    def forward(apps: Any, schema_editor: Any) -> None:
        for name in model_names:
            encrypt_plain_rows(
                apps.get_model(app_label, name), schema_editor.connection, report=_print
            )

    def backward(apps: Any, schema_editor: Any) -> None:
        for name in model_names:
            decrypt_rows(apps.get_model(app_label, name), schema_editor.connection, report=_print)

    return forward, backward


def _print(line: str) -> None:
    # Migrations have no stdout of their own; progress goes to the console running them.
    print(f"  {line}", flush=True)  # noqa: T201
