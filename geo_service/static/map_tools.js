/* geo-service map tools: measuring, searching by name, and labels drawn from the bundled data.
 * Written by hand, each for a reason: folium's measure plugin (leaflet-measure) compiles its
 * templates with Function(), which the page's CSP forbids, shows areas without a unit and throws
 * on clicks; the search plugin matches accents and case exactly; and no plugin labels a map
 * from its own GeoJSON when no base map is at hand. */
(function () {
  "use strict";

  var SVG = "http://www.w3.org/2000/svg";
  var EARTH_RADIUS_M = 6378137;  // as Leaflet's own distances (L.CRS.Earth)
  var MAX_TOWN_LABELS = 150;

  function gs() { return window.geoService; }

  function icon(path) {
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "18");
    svg.setAttribute("height", "18");
    svg.setAttribute("aria-hidden", "true");
    var shape = document.createElementNS(SVG, "path");
    shape.setAttribute("d", path);
    shape.setAttribute("fill", "none");
    shape.setAttribute("stroke", "currentColor");
    shape.setAttribute("stroke-width", "2");
    svg.appendChild(shape);
    return svg;
  }

  function button(title, path) {
    var node = gs().el("a", "gs-tool-button");
    node.href = "#";
    node.setAttribute("role", "button");
    node.title = title;
    node.setAttribute("aria-label", title);
    node.appendChild(icon(path));
    return node;
  }

  // Area of a polygon on the sphere (the spherical-excess sum used by Leaflet.draw's geodesicArea).
  function sphericalArea(latlngs) {
    var total = 0, rad = Math.PI / 180;
    for (var i = 0; i < latlngs.length; i++) {
      var p1 = latlngs[i], p2 = latlngs[(i + 1) % latlngs.length];
      total += (p2.lng - p1.lng) * rad * (2 + Math.sin(p1.lat * rad) + Math.sin(p2.lat * rad));
    }
    return Math.abs(total * EARTH_RADIUS_M * EARTH_RADIUS_M / 2);
  }

  function formatLength(metres, cfg) {
    var loc = gs().locale(cfg);
    if (metres < 1000) return Math.round(metres).toLocaleString(loc) + " m";
    return (metres / 1000).toLocaleString(loc, {maximumFractionDigits: 2}) + " km";
  }

  function formatArea(squareMetres, cfg) {
    var loc = gs().locale(cfg), ha = squareMetres / 1e4, km2 = squareMetres / 1e6;
    var haText = ha.toLocaleString(loc, {maximumFractionDigits: ha < 10 ? 2 : 0}) + " ha";
    var km2Text = km2.toLocaleString(loc, {maximumFractionDigits: km2 < 10 ? 3 : 1}) + " km²";
    return km2 < 1 ? haText + " (" + km2Text + ")" : km2Text + " (" + haText + ")";
  }

  function measure(map, cfg) {
    var m = cfg.messages, points = [], active = false;
    var drawing = L.layerGroup().addTo(map);
    var box = gs().el("div", "gs-measure leaflet-bar");
    var toggle = button(m.measure, "M3 17 17 3l4 4L7 21zM7 13l2 2M10 10l2 2M13 7l2 2");
    var panel = gs().el("div", "gs-measure-panel");
    panel.hidden = true;
    var readout = gs().el("div", "gs-measure-readout", m.measure_hint);
    var actions = gs().el("div", "gs-measure-actions");
    var finish = gs().el("button", null, m.measure_finish), clear = gs().el("button", null, m.measure_clear);
    finish.type = clear.type = "button";
    actions.appendChild(finish);
    actions.appendChild(clear);
    panel.appendChild(readout);
    panel.appendChild(actions);
    box.appendChild(toggle);
    box.appendChild(panel);
    gs().addBox(map, "topleft", box);

    function show() {
      drawing.clearLayers();
      if (!points.length) { readout.textContent = m.measure_hint; return; }
      var length = 0;
      for (var i = 1; i < points.length; i++) length += map.distance(points[i - 1], points[i]);
      points.forEach(function (p) {
        L.circleMarker(p, {radius: 4, color: "#b10026", weight: 2, fillColor: "#fff", fillOpacity: 1,
                           interactive: false}).addTo(drawing);
      });
      var lines = [m.measure_distance + " : " + formatLength(length, cfg)];
      if (points.length >= 3) {
        L.polygon(points, {color: "#b10026", weight: 2, dashArray: "4 4", fillOpacity: 0.1, interactive: false})
          .addTo(drawing);
        lines.push(m.measure_area + " : " + formatArea(sphericalArea(points), cfg));
      } else {
        L.polyline(points, {color: "#b10026", weight: 2, dashArray: "4 4", interactive: false}).addTo(drawing);
      }
      if (cfg.lang !== "fr") lines = lines.map(function (line) { return line.replace(" : ", ": "); });
      readout.textContent = "";
      lines.forEach(function (line) { readout.appendChild(gs().el("div", null, line)); });
    }

    var container = map.getContainer();
    gs().onMapTap(map, function (event, latlng) {
      if (!active) return;
      event.stopPropagation();  // caught on the way down: no marker, cluster or shape acts on it while measuring
      points.push(latlng);
      show();
    }, true);
    map.on("popupopen", function () { if (active) map.closePopup(); });  // measuring, not reading

    function start() {
      active = true;
      points = [];
      show();
      panel.hidden = false;
      box.classList.add("gs-active");
      container.classList.add("gs-measuring");
      map.doubleClickZoom.disable();
    }

    function stop() {
      active = false;
      box.classList.remove("gs-active");
      container.classList.remove("gs-measuring");
      map.doubleClickZoom.enable();
    }

    L.DomEvent.on(toggle, "click", function (event) {
      L.DomEvent.preventDefault(event);
      if (active) { stop(); panel.hidden = !points.length; } else start();
    });
    L.DomEvent.on(finish, "click", stop);
    L.DomEvent.on(clear, "click", function () { points = []; show(); if (!active) panel.hidden = true; });
    container.addEventListener("keydown", function (event) { if (event.key === "Escape" && active) stop(); });
    window.geoServiceMap.measure = {area: sphericalArea, points: function () { return points.slice(); }};
  }

  // Case, accents, apostrophes and hyphens ignored: "kedougou" finds Kédougou, "kayes n'di" Kayes N'Di.
  function fold(text) {
    return String(text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/[\u2019'\-\u2013]/g, " ").replace(/\s+/g, " ").trim();
  }

  function searchEntries(cfg, state) {
    var entries = [];
    cfg.layers.forEach(function (layerCfg) {
      var layer = state.data[layerCfg.id];
      if (!layer) return;
      layer.eachLayer(function (feature) {
        var props = feature.feature.properties || {};
        var names = [props.name, props.name_fr].filter(Boolean);
        if (!names.length) return;
        entries.push({layer: feature, group: state.groups[layerCfg.id], layerTitle: layerCfg.title,
                      name: gs().displayName(props, cfg.lang), keys: names.map(fold)});
      });
    });
    return entries;
  }

  // Into view with what surrounds it: a point at a zoom where nearby places show, a shape whole.
  function reveal(map, entry) {
    var target = entry.layer;
    function open() { target.openPopup(); }
    if (target.getLatLng) {
      if (entry.group && entry.group.zoomToShowLayer && entry.group.hasLayer(target)) {
        map.setView(target.getLatLng(), 11, {animate: false});
        entry.group.zoomToShowLayer(target, open);
      } else {
        map.setView(target.getLatLng(), 11, {animate: false});
        open();
      }
    } else {
      map.fitBounds(target.getBounds(), {padding: [30, 30], animate: false});
      open();
    }
  }

  function search(map, cfg, state) {
    var m = cfg.messages, entries = searchEntries(cfg, state);
    var box = gs().el("div", "gs-search leaflet-bar");
    var toggle = button(m.search, "M10 17a7 7 0 1 1 0-14 7 7 0 0 1 0 14zM15 15l6 6");
    var form = gs().el("form", "gs-search-form");
    form.hidden = true;
    form.setAttribute("role", "search");
    var input = gs().el("input");
    input.type = "search";
    input.placeholder = m.search;
    input.setAttribute("aria-label", m.search);
    var list = gs().el("ul", "gs-search-results");
    form.appendChild(input);
    form.appendChild(list);
    box.appendChild(toggle);
    box.appendChild(form);
    gs().addBox(map, "topleft", box);

    function matches(query) {
      var q = fold(query);
      if (!q) return [];
      var found = entries.filter(function (e) { return e.keys.some(function (k) { return k.indexOf(q) >= 0; }); });
      found.sort(function (a, b) {  // names that start with the query first
        var sa = a.keys.some(function (k) { return k.indexOf(q) === 0; }) ? 0 : 1;
        var sb = b.keys.some(function (k) { return k.indexOf(q) === 0; }) ? 0 : 1;
        return sa - sb || a.name.localeCompare(b.name);
      });
      return found.slice(0, 8);
    }

    function choose(entry) {
      form.hidden = true;
      reveal(map, entry);
    }

    function update() {
      list.textContent = "";
      var found = matches(input.value);
      if (input.value && !found.length) list.appendChild(gs().el("li", "gs-search-none", m.search_not_found));
      found.forEach(function (entry) {
        var item = gs().el("li"), pick = gs().el("button", "gs-search-pick");
        pick.type = "button";
        pick.appendChild(gs().el("span", null, entry.name));
        pick.appendChild(gs().el("span", "gs-search-layer", entry.layerTitle));
        pick.addEventListener("click", function () { choose(entry); });
        item.appendChild(pick);
        list.appendChild(item);
      });
    }

    input.addEventListener("input", update);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var found = matches(input.value);
      if (found.length) choose(found[0]);
    });
    L.DomEvent.on(toggle, "click", function (event) {
      L.DomEvent.preventDefault(event);
      form.hidden = !form.hidden;
      if (!form.hidden) input.focus();
    });
  }

  function label(group, latlng, text, className, minZoom, beside) {
    var tip = L.tooltip({permanent: true, direction: beside ? "right" : "center", offset: beside ? [7, 0] : [0, 0],
                         className: "gs-ctx " + className, interactive: false})
      .setLatLng(latlng).setContent(gs().el("span", null, text));
    tip.gsMinZoom = minZoom;
    group.addLayer(tip);
    return tip;
  }

  function middleOf(line) {
    var latlngs = line.getLatLngs();
    if (latlngs.length && Array.isArray(latlngs[0])) {  // a multi-line: its longest part
      latlngs = latlngs.reduce(function (a, b) { return b.length > a.length ? b : a; });
    }
    return latlngs[Math.floor(latlngs.length / 2)];
  }

  // Labels from the bundled layers, on the plain background only (a base map has its own):
  // countries and regions from the polygons, rivers along their lines, towns by size as one zooms in.
  function context(map, cfg, state, group) {
    var labels = [], countries = {}, towns = [];
    cfg.layers.forEach(function (layerCfg) {
      var layer = state.data[layerCfg.id];
      if (!layer) return;
      layer.eachLayer(function (feature) {
        var props = feature.feature.properties || {}, name = gs().displayName(props, cfg.lang);
        if (layerCfg.geometry_type === "Polygon") {
          if (props.country) {
            countries[props.country] = (countries[props.country] || L.latLngBounds([])).extend(feature.getBounds());
          }
          if (name) labels.push(label(group, feature.getCenter(), name, "gs-ctx-region", 7));
        } else if (layerCfg.geometry_type === "LineString" && !layerCfg.label_length && name) {
          labels.push(label(group, middleOf(feature), name, "gs-ctx-river", 8));
        } else if (layerCfg.geometry_type === "Point" && "population" in props && name) {
          towns.push({latlng: feature.getLatLng(), name: name, population: props.population || 0});
        }
      });
    });
    // The largest towns only (a layer may hold thousands): the first ones from zoom 8, the others from 10.
    towns.sort(function (a, b) { return b.population - a.population; });
    towns.slice(0, MAX_TOWN_LABELS).forEach(function (town, rank) {
      labels.push(label(group, town.latlng, town.name, "gs-ctx-town", rank < 8 ? 8 : 10, true));
    });
    Object.keys(countries).forEach(function (code) {
      var text = cfg.vocabulary && cfg.vocabulary.country && cfg.vocabulary.country[code];
      if (text) labels.push(label(group, countries[code].getCenter(), text.toUpperCase(), "gs-ctx-country", 0));
    });
    function update() {
      var zoom = map.getZoom();
      labels.forEach(function (tip) {
        var element = tip.getElement();
        if (element) element.style.display = zoom >= tip.gsMinZoom ? "" : "none";
      });
    }
    map.on("zoomend", update);
    group.on("add", update);
    update();
    window.geoServiceMap.contextLabels = labels.length;
  }

  window.geoServiceTools = {measure: measure, search: search, context: context, fold: fold, area: sphericalArea};
})();
