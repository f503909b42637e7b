"""Event photo galleries: attendees with a ticket, staff and token-invited guests upload; attendees view.

Off unless a tenant enables it; never stores a file it has not decoded and re-encoded without EXIF/GPS.
"""

from __future__ import annotations

from core.hookspecs import hookimpl
from plugins.media import service  # noqa: F401 - declares the thumbnail job wherever the plugin loads
from plugins.media.models import MEDIA_MODELS


@hookimpl
def register_models():
    """The gallery tables: MediaGuest, MediaItem, MediaUsage."""
    return MEDIA_MODELS


@hookimpl
def register_routes(api, app):
    """Mount the gallery routes and point the default local storage at ``<data_dir>/media/``."""
    from plugins.media.api import blp, files_blp

    service.set_data_path(app.config["BOXOFFICE"].data_path)
    api.register_blueprint(blp)
    api.register_blueprint(files_blp)


@hookimpl
def event_deleting(org, event_ids):
    """A deleted event's photos give their bytes back to the quota and leave storage once it commits."""
    service.forget_events(org, event_ids)
