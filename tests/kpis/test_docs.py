"""docs/kpis.md is generated from the definitions; the committed file must match."""

from pathlib import Path

from django.conf import settings

from kpis.definitions import registry
from kpis.definitions.docs import render_kpi_docs


def test_committed_docs_match_the_definitions():
    committed = (Path(settings.BASE_DIR) / "docs" / "kpis.md").read_text(encoding="utf-8")
    assert committed == render_kpi_docs(), "docs/kpis.md is stale: run `manage.py kpis docs`"


def test_docs_state_every_formula_and_the_departures():
    text = render_kpi_docs()
    for definition in registry.all():
        assert f"### `{definition.key}`" in text
        assert str(definition.formula) in text
    assert "`rfm_segment`" in text
    assert "Stated departures from the catalogue" in text
