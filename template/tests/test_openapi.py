"""The OpenAPI document describes the API: every operation and every field says what it is."""

from typing import Any

import pytest
from fastapi import FastAPI


def _operations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every operation of `document`, named `METHOD /path`."""
    return [
        (f"{method.upper()} {path}", operation)
        for path, path_item in document["paths"].items()
        for method, operation in path_item.items()
    ]


def test_operation_ids_are_unique_function_names(app: FastAPI) -> None:
    operations = dict(_operations(app.openapi()))
    operation_ids = [operation["operationId"] for operation in operations.values()]

    assert len(set(operation_ids)) == len(operation_ids), "operationIds must be unique"
    assert all(operation_id.isidentifier() for operation_id in operation_ids), operation_ids
    assert operations["GET /api/v1/items"]["operationId"] == "list_items"
    assert operations["DELETE /api/v1/items/{item_id}"]["operationId"] == "delete_item"


def test_every_operation_has_a_summary_and_a_description(app: FastAPI) -> None:
    undocumented = [
        name
        for name, operation in _operations(app.openapi())
        if not (operation.get("summary") and operation.get("description"))
    ]

    assert undocumented == []


def test_every_schema_and_property_has_a_description(app: FastAPI) -> None:
    schemas = app.openapi()["components"]["schemas"]
    undocumented = [name for name, schema in schemas.items() if not schema.get("description")]
    undocumented += [
        f"{name}.{field}"
        for name, schema in schemas.items()
        for field, definition in schema.get("properties", {}).items()
        if not definition.get("description")
    ]

    assert undocumented == []


@pytest.mark.parametrize("name", ["Problem", "ItemPage", "ItemCreate", "ItemRead", "ItemUpdate"])
def test_shared_and_item_schemas_are_described(app: FastAPI, name: str) -> None:
    schema = app.openapi()["components"]["schemas"][name]

    assert schema.get("description")
    assert all(field.get("description") for field in schema["properties"].values()), schema
