"""URL converters: a layer id is matched by the catalogue's id pattern, never by a path."""

from werkzeug.routing import BaseConverter


class LayerIdConverter(BaseConverter):
    regex = r"[a-z][a-z0-9_]{0,63}"
