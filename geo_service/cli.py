"""The ``geo-service`` command line: each command a thin wrapper over a plain function."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from geo_service.cli_common import _columns, _store, column_options
from geo_service.cli_db import db
from geo_service.cli_proximity import proximity
from geo_service.config import Settings, parse_database_url, settings_from_env
from geo_service.errors import GeoServiceError
from geo_service.io.format_keys import FORMAT_KEYS
from geo_service.params import parse_bbox

if TYPE_CHECKING:
    from geo_service.store import Store

# The commands import the store, the formats and the reports when they run: `serve --production` hands over to
# gunicorn without importing geopandas first (a second saved at every start)


def _exec_gunicorn(settings: Settings, workers: int, timeout_s: int) -> None:
    """Replace this process by gunicorn, whose master builds the app once from the same GEO_SERVICE_* settings
    and forks the workers (``geo_service.serving``)."""
    try:
        from geo_service.serving import THREADS_PER_WORKER, gunicorn_command
    except ImportError:
        raise click.ClickException("gunicorn is not installed: pip install 'geo-service[production]'") from None
    command = gunicorn_command(settings.host, settings.port, workers, timeout_s)
    if not Path(command[0]).exists():
        raise click.ClickException("gunicorn is not installed: pip install 'geo-service[production]'")
    os.environ["GEO_SERVICE_LAYERS_DIR"] = str(settings.layers_dir)
    if settings.database_url:
        os.environ["GEO_SERVICE_DATABASE_URL"] = settings.database_url
    click.echo(f"serving with gunicorn, {workers} workers × {THREADS_PER_WORKER} threads, "
               f"on http://{settings.host}:{settings.port}/")
    os.execv(command[0], command)


class ServiceGroup(click.Group):
    """Turns the service's own errors into one-line CLI errors (exit 1), for every command at once."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except GeoServiceError as exc:
            raise click.ClickException(exc.message) from None


@click.group(cls=ServiceGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--layers-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of layer files and catalogue.json [env GEO_SERVICE_LAYERS_DIR; default: the bundled layers].")
@click.option("--database-url", default=None, metavar="URL",
              help="Serve the layers from PostgreSQL/PostGIS instead (postgresql://…) [env GEO_SERVICE_DATABASE_URL; "
                   "set it up with `db init`].")
@click.version_option(package_name="geo-service")
@click.pass_context
def main(ctx: click.Context, layers_dir: Path | None, database_url: str | None) -> None:
    """Maps, downloads and proximity checks for the Mali–Senegal border region."""
    ctx.obj = settings_from_env().with_overrides(
        layers_dir=layers_dir, database_url=parse_database_url(database_url) if database_url else None)


@main.command()
@click.option("--host", default=None, help="Address to listen on [default 127.0.0.1; env GEO_SERVICE_HOST].")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="Port [default 5000; env GEO_SERVICE_PORT; 0: any free port].")
@click.option("--debug", is_flag=True, help="Reload on code changes and show debug pages (never on a shared network).")
@click.option("--production", is_flag=True, help="Serve with gunicorn and several worker processes.")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="gunicorn workers with --production [default: 2 × CPU cores + 1].")
@click.option("--timeout", "timeout_s", type=click.IntRange(5, 3600), default=120, show_default=True,
              help="With --production: seconds before a stuck request's worker is restarted.")
@click.pass_obj
def serve(settings: Settings, host: str | None, port: int | None, debug: bool, production: bool,
          workers: int | None, timeout_s: int) -> None:
    """Serve the web app (development server, or gunicorn with --production)."""
    settings = settings.with_overrides(host=host, port=port)
    if production:  # before the app is imported: gunicorn's master imports it once for all workers
        _exec_gunicorn(settings, workers or 2 * (os.cpu_count() or 1) + 1, timeout_s)
    from geo_service.app import create_app

    app = create_app(settings)
    where = "the database" if settings.database_url else settings.layers_dir
    click.echo(f"serving {len(app.extensions['geo_service.store'].catalogue.ids)} layers "
               f"from {where} on http://{settings.host}:{settings.port}/")
    app.run(host=settings.host, port=settings.port, debug=debug)


@main.command("map")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, writable=True, path_type=Path), required=True,
              help="HTML file to write.")
@click.option("--lang", type=click.Choice(["en", "fr"]), default="en", show_default=True, help="Language of the map.")
@click.pass_obj
def export_map(settings: Settings, out_path: Path, lang: str) -> None:
    """Write the map as one self-contained HTML file that opens offline (email, USB)."""
    from geo_service.map_export import export_map_html

    store = _store(settings)
    try:
        html = export_map_html(store, settings, lang)
    except FileNotFoundError as exc:
        raise click.ClickException(f"{exc}: run `npm ci` first (the map's scripts come from node_modules)") from None
    out_path.write_text(html, encoding="utf-8")
    missing = [state for state in store.states() if not state.available]
    for state in missing:
        click.echo(f"left out: {state.problem}", err=True)
    click.echo(f"wrote {out_path} ({len(html.encode()) / 1024:.0f} KiB, "
               f"{len(store.catalogue.ids) - len(missing)} layers, {lang})")


@main.group()
def results() -> None:
    """Saved analyses behind permanent links: how much is kept, and removing them."""


@results.command("usage")
@click.pass_obj
def results_usage(settings: Settings) -> None:
    """How many saved results there are, and their size."""
    from geo_service.store import open_results

    store = open_results(settings)
    count, size = store.usage()
    click.echo(f"{count} saved results, {size / 2**20:.1f} MB of at most {settings.results_max_mb} MB; "
               f"each kept {settings.results_max_days} days")


@results.command("purge")
@click.option("--all", "everything", is_flag=True, help="Remove every saved result, not only expired ones.")
@click.pass_obj
def results_purge(settings: Settings, everything: bool) -> None:
    """Remove expired results (and the oldest, past the size limit); with --all, every result."""
    from geo_service.store import open_results

    removed = open_results(settings).purge(everything=everything)
    click.echo(f"removed {removed} saved results")


@main.group()
def layers() -> None:
    """List, show, validate, export, import, and roll back layers."""


@layers.command("list")
@click.option("--markdown", is_flag=True, help="Print the README's Markdown table of layers instead.")
@click.pass_obj
def list_layers(settings: Settings, markdown: bool) -> None:
    """One line per layer: id, title, feature count, geometry type, source."""
    from geo_service.reports import markdown_table, text_table

    store = _store(settings)
    click.echo(markdown_table(store.catalogue) if markdown else text_table(store.summaries()))


@layers.command("show")
@click.argument("layer_id")
@click.pass_obj
def show_layer(settings: Settings, layer_id: str) -> None:
    """Everything known about one layer."""
    from geo_service.reports import layer_details

    store = _store(settings)
    summary = store.summary(layer_id)
    columns = [c for c in store.read(layer_id).columns if c != "geometry"]
    click.echo(layer_details(summary, columns))


@layers.command("export")
@click.argument("layer_id")
@click.option("--format", "fmt", type=click.Choice(FORMAT_KEYS), default="geojson", show_default=True,
              help="Output format.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="File to write.")
@click.option("--bbox", default=None, help="Only features intersecting minlon,minlat,maxlon,maxlat.")
@click.option("--excel", is_flag=True, help="CSV: UTF-8 with a byte-order mark, for Excel.")
@click.pass_obj
def export_layer(settings: Settings, layer_id: str, fmt: str, out_path: Path, bbox: str | None, excel: bool) -> None:
    """Write one layer in a GIS format (the same files as the web downloads)."""
    from geo_service.io.formats import FORMATS, WriteOptions
    from geo_service.io.formats import write as write_format

    store = _store(settings)
    frame = store.query(layer_id, bbox=parse_bbox(bbox)).features if bbox else store.read(layer_id)
    body = write_format(frame, layer_id, fmt, WriteOptions(excel=excel))
    out_path.write_bytes(body)
    click.echo(f"wrote {out_path}: {len(frame)} features of {layer_id} as {FORMATS[fmt].title}")


@layers.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--id", "layer_id", required=True, help="Layer id: ^[a-z][a-z0-9_]*$.")
@click.option("--title", default=None, help="Title of a new layer.")
@click.option("--source", default=None, help="Where the data comes from (kept in each feature's 'source').")
@click.option("--licence", default=None, help="Licence of the data, e.g. CC-BY-4.0.")
@column_options
@click.option("--replace", is_flag=True, help="Replace an existing layer (the old version goes to the history).")
@click.option("--allow-outside", is_flag=True, help="Accept features outside the service's area.")
@click.option("--repair", is_flag=True, help="Repair invalid geometries with make_valid instead of refusing.")
@click.pass_obj
def import_command(settings: Settings, file: Path, layer_id: str, title: str | None, source: str | None,
                   licence: str | None, replace: bool, allow_outside: bool, repair: bool,
                   **column_choice) -> None:
    """Import a GeoJSON, CSV/TSV, Excel (.xlsx, KoboToolbox/ODK exports), GeoPackage, zipped Shapefile or KML
    file as a layer."""
    from geo_service.io.layer_import import ImportOptions, import_layer

    options = ImportOptions(columns=_columns(**column_choice), allow_outside=allow_outside, repair=repair,
                            source=source, limits=settings.limits)
    outcome = import_layer(_store(settings), layer_id, file.read_bytes(), file.name, settings.extent, options,
                           title=title, licence=licence, replace=replace)
    for note in outcome.notes:
        click.echo(f"note: {note}")
    click.echo(f"{'created' if outcome.created else 'replaced'} {layer_id}: {outcome.features} features, "
               f"version {outcome.version}")


@layers.command("history")
@click.argument("layer_id")
@click.pass_obj
def history_command(settings: Settings, layer_id: str) -> None:
    """The current and previous versions of a layer, newest first."""
    store = _store(settings)
    current, saved = store.current_version(layer_id), store.history(layer_id)
    click.echo(f"{current}  (current)")
    for version in saved:
        click.echo(f"{version.version}  saved {version.saved_at}{'  pinned' if version.pinned else ''}")


@layers.command("pin")
@click.argument("layer_id")
@click.argument("version")
@click.pass_obj
def pin_command(settings: Settings, layer_id: str, version: str) -> None:
    """Keep a saved version however many writes follow (the first original is pinned already)."""
    saved = _store(settings).pin(layer_id, version)
    click.echo(f"{layer_id}: version {saved.version} is pinned")


@layers.command("unpin")
@click.argument("layer_id")
@click.argument("version")
@click.pass_obj
def unpin_command(settings: Settings, layer_id: str, version: str) -> None:
    """Let a pinned version age out of the history like the others."""
    saved = _store(settings).pin(layer_id, version, pinned=False)
    click.echo(f"{layer_id}: version {saved.version} is no longer pinned")


@layers.command("rollback")
@click.argument("layer_id")
@click.argument("version", required=False)
@click.pass_obj
def rollback_command(settings: Settings, layer_id: str, version: str | None) -> None:
    """Restore a previous version (the newest saved one by default; a prefix of its id is enough)."""
    store = _store(settings)
    restored = store.rollback(layer_id, version)
    click.echo(f"{layer_id}: restored version {restored.version} (saved {restored.saved_at}); "
               f"now at {store.current_version(layer_id)}")


@layers.command("validate")
@click.pass_obj
def validate(settings: Settings) -> None:
    """Check the catalogue against its schema and every layer against RFC 7946; exit 1 on any problem."""
    from geo_service.io.validation import validate_layers_dir, validate_store

    if settings.database_url:
        where, problems = "the database", validate_store(_store(settings))
    else:
        where, problems = settings.layers_dir, validate_layers_dir(settings.layers_dir)
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s) in {where}", err=True)
        sys.exit(1)
    click.echo(f"ok: catalogue and layers in {where} are valid")


main.add_command(db)
main.add_command(proximity)
