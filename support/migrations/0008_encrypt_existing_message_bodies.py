"""Encrypts the rows written before encryption at rest, in batches of 500, printing progress.

Not atomic: each batch commits on its own, so an interrupted run keeps its work and a second run
skips the rows already encrypted. Reversible: the reverse writes the plain text back.
"""

from django.db import migrations

from crm.encryption.rows import migration_operations

forward, backward = migration_operations("support", ("TicketMessage",))


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("support", "0007_encrypted_message_body")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
