"""The errors of the items domain, as the API reports them."""

from ..core.errors import ConflictError, NotFoundError


class ItemNotFoundError(NotFoundError):
    """404: no item has this id (or none the user may see)."""

    code = "item_not_found"
    title = "Item not found"

    def __init__(self, item_id: int) -> None:
        """Say which id was looked for."""
        super().__init__(f"No item with id {item_id}")


class ItemNameTakenError(ConflictError):
    """409: another item already has this name."""

    code = "item_name_taken"
    title = "Item name already taken"

    def __init__(self, name: str) -> None:
        """Say which name is taken."""
        super().__init__(f"An item named {name!r} already exists")
