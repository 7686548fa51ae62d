"""The annotations' writes live in reports.services; reports.annotations only reads."""

from reports import annotations, services

WRITES = ["annotation_clean", "annotation_create", "annotation_update", "annotation_delete"]


def test_the_annotation_writes_are_services_only():
    for name in WRITES:
        assert callable(getattr(services, name))
        assert not hasattr(annotations, name), f"{annotations.__name__}.{name} is a service"
