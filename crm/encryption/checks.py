"""Start-up checks: say when development keys are in use, and refuse keys that cannot read the
stored data (run by `migrate` and `manage.py check --database default`).

Plain values (rows written before encryption at rest, which the data migrations are about to
encrypt) only warn: `migrate` runs these checks first and must not refuse to encrypt them."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.db import DatabaseError, connections

from crm.encryption.ciphers import can_decrypt, looks_like_token
from crm.encryption.rows import encrypted_columns, encrypted_models


@register()
def development_keys_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if not settings.CRM_ENCRYPTION_DEVELOPMENT_KEYS:
        return []
    return [
        Warning(
            "Encryption at rest uses development keys derived from SECRET_KEY.",
            hint="Set CRM_ENCRYPTION_KEYS and CRM_BLIND_INDEX_KEY (see docs/deployment.md); "
            "changing SECRET_KEY makes data written with these keys unreadable.",
            id="crm.W101",
        )
    ]


@register(Tags.database)
def stored_values_decrypt_check(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    """The oldest and newest non-empty value of each encrypted column must decrypt."""
    errors: list[CheckMessage] = []
    for alias in databases or []:
        connection = connections[alias]
        quote = connection.ops.quote_name
        for model in encrypted_models():
            table = quote(model._meta.db_table)
            pk = quote(model._meta.pk.column)  # type: ignore[union-attr]
            for column in encrypted_columns(model):
                name = quote(column.column)
                samples: list[str] = []
                try:
                    with connection.cursor() as cursor:
                        for direction in ("ASC", "DESC"):
                            cursor.execute(
                                f"SELECT {name} FROM {table} WHERE {name} <> '' "
                                f"ORDER BY {pk} {direction} LIMIT 1"
                            )
                            samples += [row[0] for row in cursor.fetchall()]
                except DatabaseError:
                    return errors  # not migrated yet: nothing stored to read
                if any(not looks_like_token(sample) for sample in samples):
                    errors.append(
                        Warning(
                            f"{model._meta.db_table}.{column.column} holds plain values.",
                            hint="Run `manage.py migrate`: its data migrations encrypt them.",
                            id="crm.W102",
                        )
                    )
                if any(looks_like_token(s) and not can_decrypt(s) for s in samples):
                    errors.append(
                        Error(
                            f"{model._meta.db_table}.{column.column} holds values that no key "
                            "in CRM_ENCRYPTION_KEYS can decrypt.",
                            hint="A key is wrong or was removed before `manage.py "
                            "rotate_encryption_key` finished; put the key that wrote the data "
                            "back into the list (after the newest).",
                            id="crm.E101",
                        )
                    )
    return errors
