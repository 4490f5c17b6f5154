"""The column schemas and descriptions the asset graph shows for each table, as derived from the pandera
models (pipeline.validate.schemas) and stored in column_schemas.json.

Why stored: the definitions are loaded by `dagster dev` at every reload, and deriving the schemas
there would import pandas and pandera (about a second) for metadata only. The stored file is checked
against the models by tests/test_definitions.py; after changing a model, regenerate it with

    python -m pipeline column-schemas
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path

import dagster as dg

FILE = "column_schemas.json"


@cache
def _stored() -> dict[str, dict[str, str]]:
    return json.loads(resources.files("pipeline.validate").joinpath(FILE).read_text(encoding="utf-8"))


def column_schema(name: str) -> dg.TableSchema:
    """The `dagster/column_schema` of table `name` (or of `validated_figures`)."""
    return dg.deserialize_value(_stored()[name]["column_schema"], dg.TableSchema)


def description(name: str) -> str:
    """The docstring of the pandera model of table `name`."""
    return _stored()[name]["description"]


def model_name(name: str) -> str:
    """The name of the pandera model of table `name`."""
    return _stored()[name]["model"]


def derive() -> dict[str, dict[str, str]]:
    """What column_schemas.json must hold, derived from the pandera models (imports pandera)."""
    from pipeline.validate.schemas import TABLE_SCHEMAS, FigureSchema
    from pipeline.validate.schemas import column_schema as from_model

    models = {**TABLE_SCHEMAS, "validated_figures": FigureSchema}
    return {name: {"description": (model.__doc__ or "").strip(), "model": model.__name__,
                   "column_schema": dg.serialize_value(from_model(model))}
            for name, model in models.items()}


def write(path: Path | None = None) -> Path:
    """Regenerate column_schemas.json from the models."""
    target = path or Path(__file__).resolve().parent / FILE
    target.write_text(json.dumps(derive(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    _stored.cache_clear()
    return target
