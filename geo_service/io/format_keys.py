"""The download formats' keys, without their writers: the CLI lists them without importing geopandas (a
start of ``serve --production`` pays no import it does not need). ``io.formats.FORMATS`` has these keys."""

FORMAT_KEYS = ("geojson", "gpkg", "shp.zip", "kml", "csv")
