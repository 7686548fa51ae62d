"""Fills the e-mail domain blind index of existing customers and installs pg_trgm.

Both serve the likely-duplicate check (customers.selectors.likely_duplicate_customers). pg_trgm is
PostgreSQL only; SQLite uses a simpler name rule. Reversing empties the new index column and leaves
the extension in place (other code may use it; an installed extension changes no table).
"""

from django.db import migrations

from crm.encryption.ciphers import blind_index

BATCH = 1000


def fill_email_domain_index(apps, schema_editor):
    Customer = apps.get_model("customers", "Customer")
    rows = Customer.objects.exclude(email="").order_by("pk").only("pk", "email")
    batch = []
    for customer in rows.iterator(chunk_size=BATCH):
        customer.email_domain_bidx = blind_index("email_domain", customer.email or "")
        batch.append(customer)
        if len(batch) >= BATCH:
            Customer.objects.bulk_update(batch, ["email_domain_bidx"])
            batch = []
    if batch:
        Customer.objects.bulk_update(batch, ["email_domain_bidx"])


def empty_email_domain_index(apps, schema_editor):
    apps.get_model("customers", "Customer").objects.update(email_domain_bidx="")


def create_pg_trgm(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")


class Migration(migrations.Migration):
    dependencies = [("customers", "0006_customer_merged_into_and_email_domain")]

    operations = [
        migrations.RunPython(fill_email_domain_index, empty_email_domain_index, elidable=False),
        migrations.RunPython(create_pg_trgm, migrations.RunPython.noop, elidable=False),
    ]
