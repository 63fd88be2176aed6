from typing import Any

import pytest
from httpx import AsyncClient

PROBLEM_JSON = "application/problem+json"


async def create(client: AsyncClient, name: str, **fields: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/items", json={"name": name, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["title"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def test_create_returns_the_item(client: AsyncClient) -> None:
    item = await create(client, "Widget", description="A small part")

    assert item["name"] == "Widget"
    assert item["description"] == "A small part"
    assert isinstance(item["id"], int)
    assert item["created_at"] == item["updated_at"]


async def test_created_item_is_stored(client: AsyncClient) -> None:
    item = await create(client, "Stored")

    response = await client.get(f"/api/v1/items/{item['id']}")

    assert response.status_code == 200
    assert response.json() == item


async def test_each_test_starts_with_no_items(client: AsyncClient) -> None:
    """The items created by other tests were rolled back."""
    response = await client.get("/api/v1/items")

    assert response.json()["total"] == 0


async def test_duplicate_name_is_a_conflict(client: AsyncClient) -> None:
    await create(client, "Twice")

    response = await client.post("/api/v1/items", json={"name": "Twice"})

    body = assert_problem(response, 409, "item_name_taken")
    assert "Twice" in body["detail"]


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 201},
        {"name": 42},
        {"name": "ok", "unknown": 1},
        {"name": "ok", "description": "x" * 10_001},
    ],
    ids=["missing", "empty", "blank", "too-long", "not-a-string", "extra-field", "long-desc"],
)
async def test_invalid_body_is_rejected(client: AsyncClient, payload: dict[str, Any]) -> None:
    response = await client.post("/api/v1/items", json=payload)

    body = assert_problem(response, 422, "validation_error")
    assert body["errors"]
    assert all({"loc", "msg", "type"} <= error.keys() for error in body["errors"])


async def test_malformed_json_is_rejected(client: AsyncClient) -> None:
    response = await client.post(
        "/api/v1/items", content=b"{not json", headers={"content-type": "application/json"}
    )

    assert_problem(response, 422, "validation_error")


async def test_name_of_200_characters_is_accepted(client: AsyncClient) -> None:
    await create(client, "x" * 200)


async def test_list_is_paginated_with_total(client: AsyncClient) -> None:
    ids = [(await create(client, f"item-{n}"))["id"] for n in range(5)]

    response = await client.get("/api/v1/items", params={"limit": 2, "offset": 1})

    assert response.status_code == 200
    page = response.json()
    assert [item["id"] for item in page["items"]] == ids[1:3]
    assert page["total"] == 5
    assert (page["limit"], page["offset"]) == (2, 1)


async def test_list_past_the_end_is_empty(client: AsyncClient) -> None:
    await create(client, "only")

    page = (await client.get("/api/v1/items", params={"offset": 10})).json()

    assert page["items"] == []
    assert page["total"] == 1


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"limit": "many"}]
)
async def test_invalid_pagination_is_rejected(client: AsyncClient, params: dict[str, Any]) -> None:
    response = await client.get("/api/v1/items", params=params)

    assert_problem(response, 422, "validation_error")


async def test_get_unknown_item_is_not_found(client: AsyncClient) -> None:
    response = await client.get("/api/v1/items/999999")

    body = assert_problem(response, 404, "item_not_found")
    assert body["instance"] == "/api/v1/items/999999"


async def test_get_with_non_integer_id_is_rejected(client: AsyncClient) -> None:
    response = await client.get("/api/v1/items/abc")

    assert_problem(response, 422, "validation_error")


async def test_patch_changes_only_the_given_fields(client: AsyncClient) -> None:
    item = await create(client, "Before", description="kept")

    response = await client.patch(f"/api/v1/items/{item['id']}", json={"name": "After"})

    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["name"] == "After"
    assert updated["description"] == "kept"
    assert updated["created_at"] == item["created_at"]
    assert updated["updated_at"] > item["updated_at"]
    fetched = await client.get(f"/api/v1/items/{item['id']}")
    assert fetched.json() == updated


async def test_patch_can_clear_the_description(client: AsyncClient) -> None:
    item = await create(client, "Described", description="gone soon")

    response = await client.patch(f"/api/v1/items/{item['id']}", json={"description": None})

    assert response.json()["description"] is None


async def test_patch_cannot_remove_the_name(client: AsyncClient) -> None:
    item = await create(client, "Named")

    response = await client.patch(f"/api/v1/items/{item['id']}", json={"name": None})

    assert_problem(response, 422, "validation_error")


async def test_patch_to_a_taken_name_is_a_conflict(client: AsyncClient) -> None:
    await create(client, "First")
    second = await create(client, "Second")

    response = await client.patch(f"/api/v1/items/{second['id']}", json={"name": "First"})

    assert_problem(response, 409, "item_name_taken")
    unchanged = await client.get(f"/api/v1/items/{second['id']}")
    assert unchanged.json()["name"] == "Second"


async def test_patch_unknown_item_is_not_found(client: AsyncClient) -> None:
    response = await client.patch("/api/v1/items/999999", json={"name": "x"})

    assert_problem(response, 404, "item_not_found")


async def test_delete_removes_the_item(client: AsyncClient) -> None:
    item = await create(client, "Doomed")

    response = await client.delete(f"/api/v1/items/{item['id']}")

    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get(f"/api/v1/items/{item['id']}")).status_code == 404


async def test_delete_unknown_item_is_not_found(client: AsyncClient) -> None:
    response = await client.delete("/api/v1/items/999999")

    assert_problem(response, 404, "item_not_found")
