from ..core.errors import ConflictError, NotFoundError


class ItemNotFoundError(NotFoundError):
    code = "item_not_found"
    title = "Item not found"

    def __init__(self, item_id: int) -> None:
        super().__init__(f"No item with id {item_id}")


class ItemNameTakenError(ConflictError):
    code = "item_name_taken"
    title = "Item name already taken"

    def __init__(self, name: str) -> None:
        super().__init__(f"An item named {name!r} already exists")
