# The two commands of the README:
#   make run    set up a virtual environment and serve the bundled layers on http://127.0.0.1:5000
#   make test   set up the test environment and run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test install install-test chromium postgis layers check-layers readme translations clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[production]'
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,production]'
	touch $@ $(VENV)/.installed

# The map's browser assets (Leaflet and plugins), pinned by package-lock.json, served by the app.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts
	touch $@

install: $(VENV)/.installed node_modules/.installed
install-test: $(VENV)/.installed-test node_modules/.installed chromium postgis

chromium:
	scripts/ensure_chromium.sh

# PostgreSQL/PostGIS and GDAL from Debian: the tests start a throwaway cluster of their own.
postgis:
	scripts/ensure_postgis.sh

run: install
	$(BIN)/geo-service serve --host $(HOST) --port $(PORT)

# The whole suite on the files backend, then every test that goes through the store again on PostGIS and
# on the files backend serving every layer from its memory-mapped table (as it serves large ones).
test: install-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	$(BIN)/python -m pytest --store=postgis -q $(PYTEST_ARGS)
	$(BIN)/python -m pytest --store=tables -q $(PYTEST_ARGS)

# Rebuild layers/ from the pinned source packages (downloads cached in .cache/sources).
layers: $(VENV)/.installed
	$(BIN)/python scripts/build_layers.py

# Rebuild into a temporary folder and fail if the result differs from the committed layers.
check-layers: $(VENV)/.installed
	$(BIN)/python scripts/build_layers.py --check

# Regenerate the README's table of layers from the catalogue.
readme: $(VENV)/.installed
	$(BIN)/python scripts/update_readme.py

# Extract the marked texts (babel.cfg) and add new ones to the French catalogue for a translator to fill
# (the test suite fails while any text has no French translation, or the catalogue has one the code lost).
translations: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k "N_:1c,2" -k "Text:1c,2" -k "_problem:1c,2" --no-location --omit-header \
		-o geo_service/translations/messages.pot .
	$(BIN)/pybabel update -i geo_service/translations/messages.pot -d geo_service/translations -D messages \
		--no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) .pytest_cache node_modules
