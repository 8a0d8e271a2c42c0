"""What several ``geo-service`` command modules share: the store of the settings, and where a table's
location is."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from geo_service.config import Settings

if TYPE_CHECKING:
    from geo_service.store import Store


def _store(settings: Settings) -> Store:
    """The settings' store, closed (the database's connections) when the command ends."""
    from geo_service.store import open_store

    store = open_store(settings, command=True)
    context = click.get_current_context(silent=True)
    if context is not None and hasattr(store, "close"):
        context.call_on_close(store.close)
    return store


def column_options(command):
    """--lat-col, --lon-col, --geopoint-col and --gps-accuracy-m: where a table's location is."""
    options = [
        click.option("--lat-col", default=None, help="Latitude column of a table (detected when not given)."),
        click.option("--lon-col", default=None, help="Longitude column of a table (detected when not given)."),
        click.option("--geopoint-col", default=None,
                     help='A geopoint column ("lat lon alt accuracy", as KoboToolbox and ODK export it).'),
        click.option("--gps-accuracy-m", type=click.FloatRange(0, 100_000, min_open=True), default=100.0,
                     show_default=True, help="Rows with a GPS accuracy worse than this are flagged."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _columns(lat_col, lon_col, geopoint_col, gps_accuracy_m):
    from geo_service.io.ingest import ColumnChoice

    return ColumnChoice(lat_col, lon_col, geopoint_col, gps_accuracy_m)

