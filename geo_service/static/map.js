/* geo-service map: loads the catalogue layers into the folium/Leaflet map, with its legend and base maps.
 * Written by hand: folium cannot fetch layers asynchronously or build popups
 * without HTML injection. Every property value reaches the page as text
 * (textContent); the only HTML strings, layer-control labels, are escaped.
 * Base maps and tiled layers are in map_tiles.js; the measure tool, the search and the offline context
 * labels in map_tools.js. */
(function () {
  "use strict";

  var SMALL_SCREEN = "(max-width: 700px)";

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  function isSmallScreen() {
    return window.matchMedia(SMALL_SCREEN).matches;
  }

  function displayName(props, lang) {
    return (lang === "fr" && props.name_fr) || props.name || props.id || "";
  }

  function locale(cfg) {
    return cfg.lang === "fr" ? "fr-FR" : "en-GB";
  }

  // Values of the data's own vocabulary (facility types, accuracy words, countries) in the page's language;
  // anything else as published.
  function formatValue(key, value, cfg) {
    var words = (cfg.vocabulary || {})[key];
    if (words && Object.prototype.hasOwnProperty.call(words, String(value))) return words[String(value)];
    if (typeof value === "number") return value.toLocaleString(locale(cfg));
    return value;
  }

  // Popups stay clear of the map's controls (zoom and tools on the left, layers on the right,
  // scale and attribution below) and inside the screen: Leaflet pans the map to make room.
  function popupOptions() {
    var width = Math.min(340, window.innerWidth - 130);
    return {maxWidth: width, minWidth: Math.min(200, width), autoPanPaddingTopLeft: L.point(60, 12),
            autoPanPaddingBottomRight: L.point(60, 48)};
  }

  function popupContent(feature, layerCfg, cfg) {
    var props = feature.properties || {}, m = cfg.messages;
    var box = el("div", "gs-popup");
    box.appendChild(el("h3", null, displayName(props, cfg.lang)));
    box.appendChild(el("div", "gs-popup-layer", layerCfg.title));
    var table = el("table");
    cfg.popup_fields.forEach(function (key) {
      if (!(key in props)) return;
      var value = props[key];
      var missing = value === null || value === undefined || value === "";
      if (missing && key !== "population") return;  // an unknown population is said, not hidden
      var row = el("tr");
      row.appendChild(el("th", null, m["field_" + (key === "kind" ? "type" : key)] || key));
      row.appendChild(el("td", null, missing ? m.unknown : formatValue(key, value, cfg)));
      table.appendChild(row);
    });
    box.appendChild(table);
    return box;
  }

  function isApproximate(props) {
    return !!props && props.location_accuracy === "approximate";
  }

  function pathStyle(style, geometryType) {
    return {
      color: style.color,
      weight: style.weight || 2,
      opacity: style.opacity === undefined ? 1 : style.opacity,
      fill: geometryType === "Polygon",
      fillColor: style.fill_color || style.color,
      fillOpacity: style.fill_opacity === undefined ? 0.1 : style.fill_opacity,
      dashArray: style.dash_array || null
    };
  }

  function pointLayer(layerCfg, feature, latlng, renderer) {
    var style = layerCfg.style, approximate = isApproximate(feature.properties);
    if (style.marker === "icon" || style.marker === "cluster") {
      var badge = el("span", "gs-marker-badge", style.marker === "icon" ? "\u25C6" : "+");
      badge.style.backgroundColor = style.color;
      var icon = L.divIcon({
        className: "gs-marker gs-marker-" + layerCfg.id + (approximate ? " gs-approximate" : ""),
        html: badge, iconSize: [22, 22], iconAnchor: [11, 11], popupAnchor: [0, -11], tooltipAnchor: [11, 0]
      });
      return L.marker(latlng, {icon: icon, keyboard: true, title: ""});
    }
    return L.circleMarker(latlng, {
      renderer: renderer, radius: style.radius || 5, color: style.color, weight: 1.5,
      fillColor: style.fill_color || style.color, fillOpacity: style.fill_opacity === undefined ? 0.6 : style.fill_opacity,
      dashArray: approximate ? "2 2" : null
    });
  }

  // Cluster bubbles in the layer's own colour (the plugin's green/yellow/orange would read as distance bands).
  function clusterIcon(layerCfg) {
    return function (cluster) {
      var count = cluster.getChildCount(), size = count < 10 ? 28 : count < 100 ? 34 : 40;
      var bubble = el("span", "gs-cluster-badge", count);
      bubble.style.backgroundColor = layerCfg.style.color;
      bubble.style.width = bubble.style.height = bubble.style.lineHeight = (size - 4) + "px";
      return L.divIcon({html: bubble, className: "gs-cluster", iconSize: L.point(size, size)});
    };
  }

  function geoJsonLayer(layerCfg, cfg, renderer) {
    return L.geoJSON(null, {
      renderer: renderer,  // one canvas for every path: stacked canvases would hide each other's clicks
      // Points are styled in pointLayer; a style here would also restyle circle markers.
      style: layerCfg.geometry_type === "Point" ? undefined
        : function () { return pathStyle(layerCfg.style, layerCfg.geometry_type); },
      pointToLayer: function (feature, latlng) { return pointLayer(layerCfg, feature, latlng, renderer); },
      onEachFeature: function (feature, layer) {
        layer.bindPopup(function () { return popupContent(feature, layerCfg, cfg); }, popupOptions());
        layer.bindTooltip(el("span", null, displayName(feature.properties || {}, cfg.lang)),
                          {sticky: layerCfg.geometry_type !== "Point"});
      }
    });
  }

  function loadData(layerCfg) {
    if (layerCfg.data) return Promise.resolve(layerCfg.data);
    return fetch(layerCfg.url).then(function (response) {  // as the head preloads it: one download
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    });
  }

  // A control holding ``box``: clicks and wheel turns on it stay off the map.
  function addBox(map, position, box) {
    var control = L.control({position: position});
    control.onAdd = function () {
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    };
    return control.addTo(map);
  }

  // ``handler(event, latlng)`` for each click on the map's element that is not the end of a pan and not on a
  // control or popup. Read on the element, not from Leaflet's "click": Leaflet gives a click on a drawn
  // shape (a region, a river) to the shape alone, and the regions cover most of the map. ``capture``: before
  // Leaflet and the layers see the click (the handler may then stop it).
  function onMapTap(map, handler, capture) {
    var container = map.getContainer(), downAt = null;
    container.addEventListener("pointerdown", function (event) { downAt = [event.clientX, event.clientY]; }, true);
    container.addEventListener("click", function (event) {
      if (event.target.closest(".leaflet-control, .leaflet-popup")) return;
      if (downAt && Math.abs(event.clientX - downAt[0]) + Math.abs(event.clientY - downAt[1]) > 5) return;
      handler(event, map.mouseEventToLatLng(event));
    }, !!capture);
  }

  function statusControl(map, text, position) {
    var control = L.control({position: position || "bottomleft"});
    control.onAdd = function () { return el("div", "gs-status leaflet-bar", text); };
    return control.addTo(map);
  }

  // The legend: a <details> the reader opens and closes, closed at first on a phone. Other scripts
  // (the proximity page) add their own sections to it rather than a second box.
  function Legend(map, cfg) {
    var box = el("details", "gs-legend leaflet-bar");
    box.open = !isSmallScreen();
    box.appendChild(el("summary", null, cfg.messages.legend));
    var body = el("div", "gs-legend-body");
    box.appendChild(body);
    addBox(map, "bottomright", box);
    return {
      element: box,
      section: function (title) {
        var part = el("div", "gs-legend-section");
        if (title) part.appendChild(el("div", "gs-legend-title", title));
        body.appendChild(part);
        return part;
      },
      row: function (part, swatch, text) {
        var row = el("div", "gs-legend-row");
        row.appendChild(swatch);
        row.appendChild(el("span", null, text));
        part.appendChild(row);
        return row;
      },
      collapseOnSmallScreen: function () { if (isSmallScreen()) box.open = false; }
    };
  }

  function swatch(kind, color, fill) {
    var node = el("span", "gs-swatch gs-swatch-" + kind.toLowerCase());
    node.style.borderColor = color;
    if (kind !== "LineString") node.style.backgroundColor = fill || color;
    return node;
  }

  function layerLegend(legend, cfg) {
    var part = legend.section(null), rows = {};
    cfg.layers.forEach(function (layerCfg) {
      var kind = layerCfg.geometry_type === "Point" ? (layerCfg.style.marker || "circle") : layerCfg.geometry_type;
      rows[layerCfg.id] = legend.row(part, swatch(kind, layerCfg.style.color, layerCfg.style.fill_color), layerCfg.title);
    });
    part.appendChild(el("div", "gs-legend-note", cfg.messages.approximate_legend));
    return rows;
  }

  // The border's measured length, said in the legend (and its popup) rather than over the data.
  function legendLength(row, layerCfg, data, cfg) {
    var features = data.features || [];
    var km = features.length === 1 && (features[0].properties || {}).length_km;
    if (!layerCfg.label_length || !km) return;
    row.lastChild.textContent = layerCfg.title + " — " +
      cfg.messages.length_value.replace("{km}", formatValue("length_km", km, cfg));
  }

  var STACK = {Polygon: 0, LineString: 1, Point: 2};

  // Polygons at the back, points in front, whatever order the layers arrive or are toggled in.
  function restack(map, cfg, state) {
    cfg.layers.slice().sort(function (a, b) { return STACK[a.geometry_type] - STACK[b.geometry_type]; })
      .forEach(function (layerCfg) {
        var group = state.groups[layerCfg.id];
        if (group && map.hasLayer(group) && group.bringToFront) group.bringToFront();
      });
  }

  function layerGroup(layerCfg) {
    var attribution = escapeHtml(layerCfg.attribution || "");  // shown by Leaflet as HTML
    if (layerCfg.style.marker === "cluster" && L.markerClusterGroup) {
      return L.markerClusterGroup({showCoverageOnHover: false, maxClusterRadius: 40, chunkedLoading: true,
                                   attribution: attribution, iconCreateFunction: clusterIcon(layerCfg)});
    }
    return L.featureGroup([], {attribution: attribution});
  }

  // Controls Leaflet would add in English (zoom) or in miles (scale), added here in the page's language.
  function addControls(map, cfg) {
    var m = cfg.messages;
    var zoom = L.control.zoom({zoomInTitle: m.zoom_in, zoomOutTitle: m.zoom_out, position: "topleft"}).addTo(map);
    var corner = zoom.getContainer().parentNode;
    corner.insertBefore(zoom.getContainer(), corner.firstChild);  // first, where Leaflet users look for it
    L.control.scale({imperial: false, position: "bottomleft"}).addTo(map);
    var attribution = map.attributionControl && map.attributionControl.getContainer();
    if (attribution) {  // one line (it lists every layer's sources), whole after a tap
      attribution.classList.add("gs-folded");
      attribution.title = m.attribution_toggle;
      attribution.addEventListener("click", function (event) {
        if (event.target.tagName !== "A") attribution.classList.toggle("gs-folded");
      });
    }
  }

  // Full screen, my location, the pointer's coordinates and our tools (measure, search, context labels,
  // map_tools.js): their scripts load after the layers are drawn (a page may also have them from the
  // start, as the exported file does).
  function loadExtras(cfg) {
    if (window.geoServiceTools || !cfg.controls.script) return Promise.resolve();
    return new Promise(function (resolve) {
      var script = document.createElement("script");
      script.src = cfg.controls.script;
      script.onload = resolve;
      script.onerror = resolve;  // the map works without them
      document.head.appendChild(script);
    });
  }

  function addExtras(map, cfg, state, api) {
    var options = cfg.controls;
    if (L.control.fullscreen) L.control.fullscreen(options.fullscreen).addTo(map);
    if (L.control.locate) L.control.locate(options.locate).addTo(map);
    if (L.Control.MousePosition) new L.Control.MousePosition(options.mouse).addTo(map);
    var tools = window.geoServiceTools;
    if (!tools) return;
    tools.measure(map, cfg);
    tools.search(map, cfg, state);
    tools.context(map, cfg, state, api.context);
  }

  function addLayers(map, control, cfg) {
    var state = {counts: {}, failed: [], groups: {}, data: {}};
    var api = {map: map, state: state, cfg: cfg};
    window.geoServiceMap = api;
    map.setMaxZoom(18);  // no tile layer sets it; marker clustering needs it
    addControls(map, cfg);
    api.context = window.geoServiceTiles.addBaseLayers(map, control, cfg);
    var status = statusControl(map, cfg.messages.loading);
    var renderer = L.canvas({padding: 0.5});
    api.legend = Legend(map, cfg);
    var legendRows = layerLegend(api.legend, cfg);
    map.on("popupopen", function () { api.legend.collapseOnSmallScreen(); });
    var jobs = cfg.layers.map(function (layerCfg) {
      if (layerCfg.tiles) return window.geoServiceTiles.addTiledLayer(map, control, cfg, layerCfg, state);
      var group = layerGroup(layerCfg);
      state.groups[layerCfg.id] = group;
      group.addTo(map);
      control.addOverlay(group, escapeHtml(layerCfg.title));
      return loadData(layerCfg).then(function (data) {
        var layer = geoJsonLayer(layerCfg, cfg, renderer);
        layer.addData(data);
        if (group.addLayers) group.addLayers(layer.getLayers()); else group.addLayer(layer);
        state.counts[layerCfg.id] = (data.features || []).length;
        state.data[layerCfg.id] = layer;
        legendLength(legendRows[layerCfg.id], layerCfg, data, cfg);
        restack(map, cfg, state);
      }).catch(function (error) {
        state.failed.push(layerCfg.id);
        statusControl(map, cfg.messages.load_failed + ": " + layerCfg.title + " (" + error.message + ")");
      });
    });
    map.on("overlayadd", function () { restack(map, cfg, state); });
    return Promise.all(jobs).then(function () {
      status.remove();
      state.loadedMs = performance.now();  // every layer drawn; read by bench/map_load.py
      return loadExtras(cfg);
    }).then(function () {
      addExtras(map, cfg, state, api);
      document.documentElement.setAttribute("data-layers-loaded", state.failed.length ? "partial" : "true");
    });
  }

  window.geoService = {addLayers: addLayers, popupContent: popupContent, popupOptions: popupOptions,
                       escapeHtml: escapeHtml, el: el, addBox: addBox, onMapTap: onMapTap, statusControl: statusControl, swatch: swatch, displayName: displayName,
                       isSmallScreen: isSmallScreen, locale: locale};
})();
