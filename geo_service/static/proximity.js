/* geo-service proximity page: sends the form to /api/proximity and shows the report.
 * Communities are canvas circle markers and the lines to their services one
 * multi-polyline, so tens of thousands stay responsive. Every value from the
 * data is written as text (textContent), never as HTML. */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("proximity-config").textContent);
  var m = cfg.messages;
  var BAND_COLOURS = ["#1a9850", "#91cf60", "#fee08b", "#fc8d59", "#d73027", "#a50026", "#67001f"];
  var NO_SERVICE_COLOUR = "#777777";
  var SERVICE_COLOUR = "#08519c";
  var drawn = [];
  var communityByRow = {};  // the map marker of each community, by its row in the input
  var currentResult = cfg.result;  // the saved result's API URL (its permanent link), once there is one
  var parts;  // the chart and the column picker (proximity_parts.js), made once colour and el exist

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // Distances in km with one decimal; walking time as the analysis estimated it (distance × detour ÷ speed).
  function km(metres) {
    return (metres / 1000).toLocaleString(cfg.lang === "fr" ? "fr-FR" : "en-GB",
                                          {minimumFractionDigits: 1, maximumFractionDigits: 1}) + " " + m.prox_km;
  }

  function walk(minutes) {
    if (minutes === null || minutes === undefined) return "—";
    return (minutes >= 60 ? Math.floor(minutes / 60) + " h " + (minutes % 60) + " min" : minutes + " min") +
      " (" + m.prox_estimate + ")";
  }

  // The form's fields as sent: crossings belong to barriers, and are left out when there are none.
  function formData(form) {
    var data = new FormData(form);
    if (!data.get("barriers")) { data.delete("barriers"); data.delete("crossings"); data.delete("wet_unknown"); }
    var grid = data.get("population_file");
    if (grid && !grid.size) { data.delete("population_file"); data.delete("population_radius_km"); }
    var adminFile = data.get("admin_file");
    if (!data.get("admin") && !(adminFile && adminFile.size)) { data.delete("admin"); data.delete("admin_level"); }
    if (adminFile && !adminFile.size) data.delete("admin_file");
    return data;
  }

  function number(value) {
    return value === null || value === undefined ? m.unknown
      : Number(value).toLocaleString(cfg.lang === "fr" ? "fr-FR" : "en-GB");
  }

  // Green for the nearest band to red for the farthest, however many bands there are.
  function colour(bandIndex, bandCount) {
    if (bandIndex < 0) return NO_SERVICE_COLOUR;
    var step = (BAND_COLOURS.length - 1) / Math.max(bandCount - 1, 1);
    return BAND_COLOURS[Math.round(Math.min(bandIndex, bandCount - 1) * step)];
  }

  // rowKeys (optional): a community row for each table row; clicking it (or Enter) shows it on the map.
  function table(headers, rows, numeric, rowKeys) {
    // With headers, a table that folds into one block per row on a phone (each cell labelled).
    var t = el("table", null, headers.length ? "gs-reflow" : null), head = el("tr");
    headers.forEach(function (h, i) { head.appendChild(el("th", h, numeric[i] ? "num" : null)); });
    if (headers.length) { var thead = el("thead"); thead.appendChild(head); t.appendChild(thead); }
    rows.forEach(function (row, index) {
      var tr = el("tr");
      if (rowKeys && communityByRow[rowKeys[index]]) {
        tr.className = "gs-row-link";
        tr.tabIndex = 0;
        tr.dataset.row = rowKeys[index];
        tr.addEventListener("click", function () { showCommunity(rowKeys[index]); });
        tr.addEventListener("keydown", function (event) {
          if (event.key === "Enter") showCommunity(rowKeys[index]);
        });
      }
      row.forEach(function (cell, i) {
        var td = cell instanceof Node ? el("td") : el("td", cell, numeric[i] ? "num" : null);
        if (cell instanceof Node) td.appendChild(cell);
        if (headers[i]) td.setAttribute("data-label", headers[i]);
        tr.appendChild(td);
      });
      t.appendChild(tr);
    });
    return t;
  }

  // Band labels come from the server in a fixed form ("0–5 km", "over 20 km", "no service in reach").
  function bandText(label) {
    if (label === "no service in reach") return m.prox_no_service;
    if (label.indexOf("over ") === 0) return m.prox_over + " " + label.slice(5);
    return label;
  }

  function bandCell(label, index, count) {
    var span = el("span");
    var dot = el("span", null, "gs-swatch-band");
    dot.style.backgroundColor = colour(index, count);
    span.appendChild(dot);
    span.appendChild(document.createTextNode(bandText(label)));
    return span;
  }

  function clearMap() {
    drawn.forEach(function (layer) { layer.remove(); });
    drawn = [];
    communityByRow = {};
  }

  function vocabularyText(field, value) {
    var words = (window.geoServiceMap.cfg.vocabulary || {})[field] || {};
    return Object.prototype.hasOwnProperty.call(words, value) ? words[value] : value;
  }

  // Zoom to a community and open its popup; on a phone, fold the drawer away so the map shows.
  function showCommunity(row) {
    var layer = communityByRow[row], map = window.geoServiceMap.map;
    if (!layer) return;
    if (window.geoServiceDrawer && window.geoService.isSmallScreen()) window.geoServiceDrawer.close();
    var box = map.getContainer();
    if (box.getBoundingClientRect().top < 0 || box.getBoundingClientRect().bottom > window.innerHeight) {
      box.scrollIntoView({block: "center"});
    }
    // No animation, and none left running: the popup's own auto-pan must start from where the map really is.
    map.stop();
    map.setView(layer.getLatLng(), Math.max(map.getZoom(), 11), {animate: false});
    layer.openPopup();
  }

  function drawMap(report) {
    var map = window.geoServiceMap.map;
    var renderer = L.canvas({padding: 0.5});
    var bandCount = report.bands.length - 1;
    var services = {};
    report.services.features.forEach(function (f) {
      services[String(f.id)] = [f.geometry.coordinates[1], f.geometry.coordinates[0]];
    });
    var segments = [];
    var bandIndex = {};
    report.bands.forEach(function (label, i) { bandIndex[label] = i < bandCount ? i : -1; });
    var communities = L.geoJSON(report.results, {
      pointToLayer: function (feature, latlng) {
        var p = feature.properties;
        var target = services[String(p.service_id)];
        if (target) segments.push([latlng, target]);
        return L.circleMarker(latlng, {renderer: renderer, radius: 4, weight: 1, color: "#222",
                                       fillColor: colour(bandIndex[p.band], bandCount), fillOpacity: 0.9});
      },
      onEachFeature: function (feature, layer) {
        communityByRow[feature.properties.row] = layer;
        layer.bindPopup(function () {
          var p = feature.properties, box = el("div", null, "gs-popup");
          box.appendChild(el("h3", p.label || p.name || p.id || ""));
          var rows = [
            [m.band, bandText(p.band)],
            [m.prox_distance, p.distance_m === null ? m.prox_no_service : km(p.distance_m)],
            [m.prox_walk, walk(p.walk_min)],
            [m.prox_service, p.service_name || m.prox_no_service],
            [m.prox_own_service, p.own_country_service === undefined ? "—" : (p.own_country_service || m.prox_no_service)],
            [m.population, number(p.population) + (p.population_estimated ? " (" + m.prox_estimated + ")" : "")]
          ];
          [["dry", m.prox_dry], ["wet", m.prox_wet]].forEach(function (season) {
            if (p[season[0] + "_band"] === undefined) return;
            var metres = p[season[0] + "_distance_m"], crossing = p[season[0] + "_crossing"];
            rows.push([season[1], metres === null ? m.prox_no_service
              : (p[season[0] + "_service_name"] + ", " + km(metres) + (crossing ? ", " + m.prox_via + " " + crossing : "") +
                 ", " + walk(p[season[0] + "_walk_min"]))]);
          });
          [["first_contact", m.prox_first_contact], ["referral", m.prox_referral]].forEach(function (level) {
            if (p[level[0] + "_service_name"] === undefined) return;
            var metres = p[level[0] + "_distance_m"];
            rows.push([level[1], (p[level[0] + "_service_name"] || m.prox_no_service) +
                       (metres === null ? "" : " (" + km(metres) + ")")]);
          });
          box.appendChild(table([], rows, [false, false]));
          return box;
        }, window.geoService.popupOptions());
      }
    });
    var lines = L.polyline(segments, {renderer: renderer, color: "#444", weight: 1, opacity: 0.45, interactive: false});
    var serviceLayer = L.geoJSON(report.services, {
      pointToLayer: function (feature, latlng) {
        return L.circleMarker(latlng, {renderer: renderer, radius: 6, color: SERVICE_COLOUR, weight: 3,
                                       fillColor: "#fff", fillOpacity: 1});
      },
      onEachFeature: function (feature, layer) {
        var p = feature.properties || {};
        layer.bindTooltip(el("span", p.name || String(feature.id)));
        layer.bindPopup(function () {
          var box = el("div", null, "gs-popup");
          box.appendChild(el("h3", p.name || String(feature.id)));
          box.appendChild(el("div", m.prox_service, "gs-popup-layer"));
          var rows = [];
          if (p.type) rows.push([m.field_type, vocabularyText("type", p.type)]);
          if (p.country) rows.push([m.country, vocabularyText("country", p.country)]);
          if (rows.length) box.appendChild(table([], rows, [false, false]));
          return box;
        }, window.geoService.popupOptions());
      }
    });
    // The bands, services and lines in the map's own legend, removed with the rest on the next run.
    var legend = window.geoServiceMap.legend, part = legend.section(m.prox_legend);
    report.bands.forEach(function (label) {
      var row = el("div", null, "gs-legend-row");
      row.appendChild(bandCell(label, bandIndex[label], bandCount));
      part.appendChild(row);
    });
    legend.row(part, window.geoService.swatch("circle", SERVICE_COLOUR, "#fff"), m.prox_service);
    legend.row(part, window.geoService.swatch("LineString", "#444"), m.prox_line);
    drawn.push({remove: function () { part.remove(); }});
    // Communities last, so no service marker hides them.
    [lines, serviceLayer, communities].forEach(function (layer) { layer.addTo(map); drawn.push(layer); });
    if (communities.getLayers().length) {
      map.fitBounds(communities.getBounds(), {padding: [20, 20], maxZoom: 12, animate: false});
    }
    if (report.scenarios) parts.barriers(report.scenarios.assumptions, cfg, drawn, part);
    window.geoServiceMap.proximity = {communities: communities.getLayers().length, lines: segments.length};
    window.geoServiceMap.proximityLayers = {communities: communities, services: serviceLayer};
  }

  function showReport(report, out, form) {
    var bandCount = report.bands.length - 1;
    var bandIndex = {};
    report.bands.forEach(function (label, i) { bandIndex[label] = i < bandCount ? i : -1; });
    var results = report.results;
    if (results.numberReturned < results.numberMatched) {  // a large analysis: the JSON answer is one page
      out.appendChild(el("p", m.prox_partial.replace("{shown}", number(results.numberReturned))
                                            .replace("{total}", number(results.numberMatched)), "gs-partial"));
    }
    out.appendChild(el("h2", m.prox_summary));
    out.appendChild(table([m.country, m.band, m.communities, m.population, m.unknown_population],
      report.summary.map(function (r) {
        return [vocabularyText("country", r.country), bandCell(r.band, bandIndex[r.band], bandCount), number(r.communities),
                number(r.population), number(r.unknown_population)];
      }), [false, false, true, true, true]));
    out.appendChild(el("h2", m.prox_histogram));
    out.appendChild(parts.histogram(report.histogram));
    if (report.cross_border) {
      var cb = report.cross_border;
      out.appendChild(el("h2", m.prox_cross_border));
      out.appendChild(el("p", number(cb.communities_moving_closer) + " / " + number(cb.communities) + " " +
                              m.prox_moving_closer + " " + number(cb.population_moving_closer) + "."));
      if (cb.moves.length) {
        out.appendChild(table([m.prox_from, m.prox_to, m.communities], cb.moves.map(function (mv) {
          return [bandText(mv.from_band), bandText(mv.to_band), number(mv.communities)];
        }), [false, false, true]));
      }
    }
    parts.sites(out, form, cfg, {table: table, number: number, drawn: drawn, hasSeasons: !!report.scenarios});
    if (report.population_grid) parts.grid(out, report, {table: table, number: number, bandText: bandText});
    if (report.areas) parts.areas(out, report, {table: table, number: number, bandCell: function (band) {
      return bandCell(band, bandIndex[band], bandCount); }});
    if (report.scenarios) {
      parts.seasons(out, report, {table: table, number: number, km: km, bandText: bandText,
                                  country: function (c) { return vocabularyText("country", c); }});
    }
    out.appendChild(el("h2", m.prox_underserved + " (" + report.underserved_total + ")"));
    out.appendChild(table([m.field_name, m.country, m.population, m.prox_distance, m.prox_service],
      report.underserved.map(function (r) {
        return [r.label || r.name || r.id || "—", r.country ? vocabularyText("country", r.country) : "", number(r.population),
                r.distance_m === null ? m.prox_no_service : km(r.distance_m),
                r.service_name || m.prox_no_service];
      }), [false, false, true, true, false], report.underserved.map(function (r) { return r.row; })));
    if (report.notes.length) {
      out.appendChild(el("h2", m.prox_notes));
      var list = el("ul");
      report.notes.forEach(function (n) { list.appendChild(el("li", n)); });
      out.appendChild(list);
    }
    var downloads = el("p");
    [["pdf", m.prox_download_pdf, "proximity.pdf"], ["xlsx", m.prox_download_xlsx, "proximity.xlsx"],
     ["csv", m.prox_download_csv, "proximity.csv"], ["geojson", m.prox_download_geojson, "proximity.geojson"]]
      .forEach(function (d) {
        var button = el("button", d[1]);
        button.type = "button";
        button.className = "gs-download-" + d[0];
        button.addEventListener("click", function () { download(form, d[0], d[2]); });
        downloads.appendChild(button);
        downloads.appendChild(document.createTextNode(" "));
      });
    out.insertBefore(downloads, out.firstChild);
  }

  function download(form, format, filename) {
    var excel = format === "csv" && cfg.lang === "fr";  // ';' and decimal commas for Excel
    var request;
    if (currentResult) {  // the saved result: the same figures, without sending the files again
      request = fetch(currentResult + "?format=" + format + "&lang=" + cfg.lang + (excel ? "&excel=true" : ""));
    } else {
      var data = formData(form);
      data.set("format", format);
      if (excel) data.set("excel", "true");
      request = fetch(cfg.api, {method: "POST", body: data});
    }
    request.then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.blob();
    }).then(function (blob) {
      var link = el("a");
      link.href = URL.createObjectURL(blob);
      link.download = filename;
      document.body.appendChild(link);
      link.click();
      setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
    });
  }

  function showPermalink(out, links) {
    var page = links.filter(function (l) { return l.rel === "alternate"; })[0];
    var data = links.filter(function (l) { return l.rel === "self"; })[0];
    if (!page || !data) return;
    currentResult = new URL(data.href).pathname;
    var path = new URL(page.href).pathname + "?lang=" + cfg.lang;
    history.replaceState(null, "", path);  // the address bar now holds the link to share
    var p = el("p", m.prox_permalink + " ", "gs-permalink");
    var a = el("a", new URL(path, window.location.href).href);
    a.href = path;
    p.appendChild(a);
    out.insertBefore(p, out.firstChild);
  }

  function run(form) {
    var data = formData(form);
    data.set("save", "true");
    currentResult = null;
    // lang in the URL: an error answer is written before the form's fields are read
    show(fetch(cfg.api + "?lang=" + cfg.lang, {method: "POST", body: data, headers: {Accept: "application/json"}}),
         form);
  }

  function show(request, form) {
    var out = document.getElementById("proximity-results");
    out.textContent = "";
    out.appendChild(el("p", m.prox_running));
    document.documentElement.removeAttribute("data-proximity");
    clearMap();
    request
      .then(function (response) {
        return response.json().then(function (body) { return {ok: response.ok, body: body}; });
      })
      .then(function (answer) {
        out.textContent = "";
        if (!answer.ok) {
          if (answer.body.code === "ColumnChoiceNeeded" && answer.body.details && answer.body.details.columns) {
            parts.columnPicker(out, answer.body.details, function () { run(form); });
            document.documentElement.setAttribute("data-proximity", "choose-columns");
            return;
          }
          out.appendChild(el("p", m.prox_error + ": " + answer.body.description, "gs-error"));
          document.documentElement.setAttribute("data-proximity", "error");
          return;
        }
        drawMap(answer.body);  // first: the tables link their rows to the markers
        showReport(answer.body, out, form);
        if (answer.body.links) showPermalink(out, answer.body.links);
        out.scrollIntoView({block: "start"});  // the results, not the form, in view (also in the phone's drawer)
        document.documentElement.setAttribute("data-proximity", "done");
      })
      .catch(function (error) {
        out.textContent = "";
        out.appendChild(el("p", m.prox_error + ": " + error.message, "gs-error"));
        document.documentElement.setAttribute("data-proximity", "error");
      });
  }

  // This script is deferred with the map's: the map is built when the document is parsed, so start then too.
  parts = window.geoServiceProximityParts(m, colour, el);
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("proximity-form");
    document.getElementById("admin-file").addEventListener("change", function (event) {
      if (event.target.files.length) document.getElementById("admin-layer").value = "";
    });
    ["communities", "services"].forEach(function (role) {
      document.getElementById(role + "-file").addEventListener("change", function (event) {
        if (event.target.files.length) document.getElementById(role + "-layer").value = "";
        ["lat-col", "lon-col", "geopoint-col"].forEach(function (id) { document.getElementById(id).value = ""; });
      });
    });
    form.addEventListener("submit", function (event) { event.preventDefault(); run(form); });
    if (cfg.result) {  // opened from a permanent link: show the saved result
      show(fetch(cfg.result + "?lang=" + cfg.lang, {headers: {Accept: "application/json"}}), form);
    }
  });
})();
