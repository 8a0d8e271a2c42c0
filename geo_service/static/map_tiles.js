/* geo-service map, the tiled parts: base layers (the plain background, offline MBTiles/PMTiles sets, online
 * tiles with an offline notice) and layers too big to send whole, drawn from the server's vector tiles.
 * Vector tiles are drawn by protomaps-leaflet, which the page loads only when it has such a layer. */
(function () {
  "use strict";

  var gs = window.geoService;

  // A short notice, in the page's language, when online tiles cannot be reached.
  function offlineNotice(map, layer, cfg) {
    var shown = null;
    layer.on("tileerror", function () {
      if (shown) return;
      shown = gs.statusControl(map, cfg.messages.tiles_offline, "topright");
      shown.getContainer().classList.add("gs-offline");
    });
    map.on("baselayerchange", function (event) {
      if (event.layer !== layer && shown) { shown.remove(); shown = null; }
    });
  }

  // Vector tiles (MVT) drawn by protomaps-leaflet, with plain rules for the layer names of both common
  // schemas (OpenMapTiles, as from the HOT export tool or QField; Protomaps' own): whatever the file, the
  // water, land use, roads, boundaries and place names show.
  function vectorBaseMap(base) {
    if (!window.protomapsL) return null;
    var P = window.protomapsL;
    function polygons(layers, fill) {
      return layers.map(function (name) { return {dataLayer: name, symbolizer: new P.PolygonSymbolizer({fill: fill})}; });
    }
    function lines(layers, color, width) {
      return layers.map(function (name) {
        return {dataLayer: name, symbolizer: new P.LineSymbolizer({color: color, width: width})};
      });
    }
    var paintRules = [].concat(
      polygons(["earth"], "#f4f1e8"), polygons(["landcover", "landuse", "park", "natural"], "#e3ead2"),
      polygons(["water"], "#b5d0e8"), lines(["waterway"], "#7fa8d8", 1.2),
      lines(["transportation", "roads"], "#a0a0a0", 1), lines(["boundary", "boundaries"], "#8a6f9e", 1.2),
      polygons(["building", "buildings"], "#d9d0c7"));
    var labelRules = ["place", "places"].map(function (name) {
      return {dataLayer: name, symbolizer: new P.CenteredTextSymbolizer({
        labelProps: ["name:fr", "name", "name:en"], fill: "#333", stroke: "#fff", width: 2, font: "12px sans-serif"})};
    });
    return P.leafletLayer({url: base.url, paintRules: paintRules, labelRules: labelRules, maxDataZoom: base.maxzoom,
                           attribution: gs.escapeHtml(base.attribution || ""), backgroundColor: "#f4f1e8"});
  }

  function addBaseLayers(map, control, cfg) {
    var container = map.getContainer();
    var plain = L.layerGroup().addTo(map);  // the bundled data's own context labels go here (map_tools.js)
    control.addBaseLayer(plain, gs.escapeHtml(cfg.base_layer));
    (cfg.basemaps || []).forEach(function (base) {  // tile sets served by this server, from its base-maps folder
      var tiles = base.vector ? vectorBaseMap(base) : L.tileLayer(base.url, {
        attribution: gs.escapeHtml(base.attribution || ""), minZoom: base.minzoom, maxNativeZoom: base.maxzoom,
        maxZoom: 18, bounds: base.bounds || undefined});
      if (!tiles) return;
      tiles.gsName = base.name;
      control.addBaseLayer(tiles, gs.escapeHtml(base.title));
    });
    // Online tiles only when the user picks them: nothing is requested from the internet before.
    var osm = L.tileLayer(cfg.tiles.url, {attribution: cfg.tiles.attribution, maxZoom: 19});
    offlineNotice(map, osm, cfg);
    control.addBaseLayer(osm, gs.escapeHtml(cfg.tiles.name));
    container.classList.add("gs-plain");
    map.on("baselayerchange", function (event) {
      container.classList.toggle("gs-plain", event.layer === plain);
    });
    return plain;
  }

  // A layer too big to send whole, drawn from the server's vector tiles (protomaps-leaflet) in its style.
  // A click asks the OGC items API for the feature under the pointer and opens its popup.
  function addTiledLayer(map, control, cfg, layerCfg, state) {
    if (!window.protomapsL) return Promise.resolve();
    var P = window.protomapsL, style = layerCfg.style, kind = layerCfg.geometry_type;
    var fill = style.fill_color || style.color;
    var symbolizer = kind === "Point"
      ? new P.CircleSymbolizer({radius: style.radius || 4, fill: fill, stroke: "#ffffff", width: 1, opacity: 0.85})
      : kind === "LineString" ? new P.LineSymbolizer({color: style.color, width: style.weight || 2})
        : new P.PolygonSymbolizer({fill: fill, opacity: style.fill_opacity === undefined ? 0.1 : style.fill_opacity});
    var rules = [{dataLayer: layerCfg.id, symbolizer: symbolizer}];
    if (kind === "Polygon") rules.push({dataLayer: layerCfg.id, symbolizer: new P.LineSymbolizer({color: style.color, width: 1})});
    var layer = P.leafletLayer({url: layerCfg.tiles, paintRules: rules, labelRules: [], maxDataZoom: 22,
                               attribution: gs.escapeHtml(layerCfg.attribution || "")});
    layer.addTo(map);
    control.addOverlay(layer, gs.escapeHtml(layerCfg.title));
    state.groups[layerCfg.id] = layer;
    state.counts[layerCfg.id] = layerCfg.feature_count;
    // After Leaflet: a feature of this layer found under the pointer wins over a region's popup.
    gs.onMapTap(map, function (event, p) {
      if (!map.hasLayer(layer)) return;
      var size = map.getSize(), bounds = map.getBounds(), pad = 6;  // pixels around the click
      var dx = (bounds.getEast() - bounds.getWest()) / size.x * pad;
      var dy = (bounds.getNorth() - bounds.getSouth()) / size.y * pad;
      var bbox = [p.lng - dx, p.lat - dy, p.lng + dx, p.lat + dy].join(",");
      fetch(layerCfg.items + "?f=json&limit=1&bbox=" + bbox, {headers: {Accept: "application/geo+json"}})
        .then(function (response) { return response.ok ? response.json() : {features: []}; })
        .then(function (page) {
          if (!page.features || !page.features.length) return;
          L.popup(gs.popupOptions()).setLatLng(p).setContent(gs.popupContent(page.features[0], layerCfg, cfg)).openOn(map);
        });
    });
    return Promise.resolve();
  }

  window.geoServiceTiles = {addBaseLayers: addBaseLayers, addTiledLayer: addTiledLayer};
})();
