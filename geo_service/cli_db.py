"""``geo-service db``: set up the PostGIS backend from a layers folder, and write it back to one."""

from __future__ import annotations

from pathlib import Path

import click

from geo_service.config import Settings, bundled_dir


def _database(settings: Settings) -> str:
    if not settings.database_url:
        raise click.UsageError("give the database with --database-url or GEO_SERVICE_DATABASE_URL")
    return settings.database_url


@click.group()
def db() -> None:
    """The PostgreSQL/PostGIS backend (GEO_SERVICE_DATABASE_URL)."""


@db.command("init")
@click.option("--from", "source", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="Layers folder to load [default: --layers-dir, else the bundled layers].")
@click.pass_obj
def init_command(settings: Settings, source: Path | None) -> None:
    """Create the schema (idempotent) and load the folder's layers, with their history, that the database
    does not hold yet; layers already there are left as they are."""
    from geo_service.store import points_dir
    from geo_service.store.postgis import PostGISStore
    from geo_service.store.transfer import load_folder

    store = PostGISStore(_database(settings), history_keep=settings.history_keep, max_layer_mb=settings.max_layer_mb,
                         points_dir=points_dir(settings), create=True,  # this host's tiles: coordinates kept
                         pooled=False)
    try:
        loaded, kept = load_folder(store, source or settings.layers_dir or bundled_dir("layers"))
        for layer_id in loaded:
            click.echo(f"loaded {layer_id}: version {store.current_version(layer_id)}, "
                       f"{len(store.history(layer_id))} saved version(s)")
        for layer_id in kept:
            click.echo(f"kept {layer_id}: already in the database (version {store.current_version(layer_id)})")
    finally:
        store.close()


@db.command("export")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.pass_obj
def export_command(settings: Settings, folder: Path) -> None:
    """Write the database's layers, catalogue and history into a new layers folder (the files backend)."""
    from geo_service.store.postgis import PostGISStore
    from geo_service.store.transfer import export_folder

    store = PostGISStore(_database(settings), history_keep=settings.history_keep, max_layer_mb=settings.max_layer_mb,
                         pooled=False)
    try:
        ids = export_folder(store, folder)
    finally:
        store.close()
    click.echo(f"wrote {len(ids)} layers to {folder}: serve them with --layers-dir {folder}")
