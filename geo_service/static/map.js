/* geo-service map: loads the catalogue layers into the folium/Leaflet map.
 * Written by hand: folium cannot fetch layers asynchronously or build popups
 * without HTML injection. Every property value reaches the page as text
 * (textContent); the only HTML string, a layer-control label, is escaped. */
(function () {
  "use strict";

  var POPUP_FIELDS = [
    "type", "kind", "country", "population", "distance_to_border_km", "length_km", "area_km2",
    "admin_level", "launched", "coordinate_method", "note", "location_accuracy", "location_note", "source"
  ];

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

  function displayName(props, lang) {
    return (lang === "fr" && props.name_fr) || props.name || props.id || "";
  }

  function formatValue(key, value, cfg) {
    var m = cfg.messages;
    if (key === "country") return m["country_" + value] || value;
    if (key === "location_accuracy") return m["accuracy_" + value] || value;
    if (key === "kind") return m["kind_" + value] || value;
    if (typeof value === "number") return value.toLocaleString(cfg.lang === "fr" ? "fr-FR" : "en-GB");
    return value;
  }

  function popupContent(feature, layerCfg, cfg) {
    var props = feature.properties || {}, m = cfg.messages;
    var box = el("div", "gs-popup");
    box.appendChild(el("h3", null, displayName(props, cfg.lang)));
    box.appendChild(el("div", "gs-popup-layer", layerCfg.title));
    var table = el("table");
    POPUP_FIELDS.forEach(function (key) {
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

  function geoJsonLayer(layerCfg, cfg, renderer) {
    return L.geoJSON(null, {
      renderer: renderer,  // one canvas for every path: stacked canvases would hide each other's clicks
      // Points are styled in pointLayer; a style here would also restyle circle markers.
      style: layerCfg.geometry_type === "Point" ? undefined
        : function () { return pathStyle(layerCfg.style, layerCfg.geometry_type); },
      pointToLayer: function (feature, latlng) { return pointLayer(layerCfg, feature, latlng, renderer); },
      onEachFeature: function (feature, layer) {
        var props = feature.properties || {};
        layer.bindPopup(function () { return popupContent(feature, layerCfg, cfg); }, {maxWidth: 340});
        if (layerCfg.label_length && props.length_km) {
          layer.bindTooltip(el("span", null, cfg.messages.border_label.replace("{km}", formatValue("length_km", props.length_km, cfg))),
                            {permanent: true, direction: "center", className: "gs-border-label"});
        } else {
          layer.bindTooltip(el("span", null, displayName(props, cfg.lang)), {sticky: layerCfg.geometry_type !== "Point"});
        }
      }
    });
  }

  function loadData(layerCfg) {
    if (layerCfg.data) return Promise.resolve(layerCfg.data);
    return fetch(layerCfg.url, {headers: {Accept: "application/geo+json"}}).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    });
  }

  function statusControl(map, text) {
    var control = L.control({position: "bottomleft"});
    control.onAdd = function () { return el("div", "gs-status leaflet-bar", text); };
    return control.addTo(map);
  }

  function addLegend(map, cfg) {
    var legend = L.control({position: "bottomright"});
    legend.onAdd = function () {
      var box = el("div", "gs-legend leaflet-bar");
      box.appendChild(el("strong", null, cfg.messages.legend));
      cfg.layers.forEach(function (layerCfg) {
        var row = el("div", "gs-legend-row");
        var kind = layerCfg.geometry_type === "Point" ? (layerCfg.style.marker || "circle") : layerCfg.geometry_type;
        var swatch = el("span", "gs-swatch gs-swatch-" + kind.toLowerCase());
        swatch.style.borderColor = layerCfg.style.color;
        if (kind !== "LineString") swatch.style.backgroundColor = layerCfg.style.fill_color || layerCfg.style.color;
        row.appendChild(swatch);
        row.appendChild(el("span", null, layerCfg.title));
        box.appendChild(row);
      });
      box.appendChild(el("div", "gs-legend-note", cfg.messages.approximate_legend));
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    };
    legend.addTo(map);
  }

  function addSearch(map, cfg, state) {
    if (!L.Control.Search) return;
    var groups = cfg.search_layers.map(function (id) { return state.groups[id]; }).filter(Boolean);
    if (!groups.length) return;
    var search = new L.Control.Search({
      layer: L.layerGroup(groups), propertyName: "name", initial: false, marker: false,
      textPlaceholder: cfg.messages.search, textErr: escapeHtml(cfg.messages.search_not_found),
      buildTip: function (text) { var tip = el("a", null, text); tip.href = "#"; return tip; },
      moveToLocation: function (latlng, title, lmap) {
        var layer = latlng.layer;
        var owner = groups.filter(function (g) { return g.zoomToShowLayer && g.hasLayer(layer); })[0];
        if (owner) {
          owner.zoomToShowLayer(layer, function () { layer.openPopup(); });
        } else {
          lmap.setView(latlng, Math.max(lmap.getZoom(), 12));
          layer.openPopup();
        }
      }
    });
    map.addControl(search);
  }

  function addBaseLayers(map, control, cfg) {
    var container = map.getContainer();
    var plain = L.layerGroup().addTo(map);
    control.addBaseLayer(plain, escapeHtml(cfg.base_layer));
    // Tiles only when the user picks them: nothing is requested from the internet before.
    var osm = L.tileLayer(cfg.tiles.url, {attribution: cfg.tiles.attribution, maxZoom: 19});
    control.addBaseLayer(osm, escapeHtml(cfg.tiles.name));
    container.classList.add("gs-plain");
    map.on("baselayerchange", function (event) {
      container.classList.toggle("gs-plain", event.layer === plain);
    });
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

  function addLayers(map, control, cfg) {
    var state = {counts: {}, failed: [], groups: {}};
    window.geoServiceMap = {map: map, state: state};
    map.setMaxZoom(18);  // no tile layer sets it; marker clustering needs it
    addBaseLayers(map, control, cfg);
    var status = statusControl(map, cfg.messages.loading);
    var renderer = L.canvas({padding: 0.5});
    var jobs = cfg.layers.map(function (layerCfg) {
      var attribution = escapeHtml(layerCfg.attribution || "");  // shown by Leaflet as HTML
      var group = layerCfg.style.marker === "cluster" && L.markerClusterGroup
        ? L.markerClusterGroup({showCoverageOnHover: false, maxClusterRadius: 40, chunkedLoading: true,
                                attribution: attribution})
        : L.featureGroup([], {attribution: attribution});
      state.groups[layerCfg.id] = group;
      group.addTo(map);
      control.addOverlay(group, escapeHtml(layerCfg.title));
      return loadData(layerCfg).then(function (data) {
        var layer = geoJsonLayer(layerCfg, cfg, renderer);
        layer.addData(data);
        if (group.addLayers) group.addLayers(layer.getLayers()); else group.addLayer(layer);
        state.counts[layerCfg.id] = (data.features || []).length;
        restack(map, cfg, state);
      }).catch(function (error) {
        state.failed.push(layerCfg.id);
        statusControl(map, cfg.messages.load_failed + ": " + layerCfg.title + " (" + error.message + ")");
      });
    });
    addLegend(map, cfg);
    map.on("overlayadd", function () { restack(map, cfg, state); });
    return Promise.all(jobs).then(function () {
      status.remove();
      addSearch(map, cfg, state);
      state.loadedMs = performance.now();  // read by bench/map_load.py
      document.documentElement.setAttribute("data-layers-loaded", state.failed.length ? "partial" : "true");
    });
  }

  window.geoService = {addLayers: addLayers, popupContent: popupContent, escapeHtml: escapeHtml};
})();
