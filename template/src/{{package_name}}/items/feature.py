"""The items feature of the app: its routes."""

from ..core.features import Feature
from .router import router


class ItemsFeature(Feature):
    """Items: create, list, read, change and delete them."""

    routers = (router,)
