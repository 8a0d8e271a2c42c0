/* geo-service proximity page, its self-contained parts: the distance histogram (SVG) and the picker of
 * the columns that hold a file's location. proximity.js makes them with its messages and helpers. */
(function () {
  "use strict";

  window.geoServiceProximityParts = function (m, colour, el) {
    function histogram(h) {
      var svgNS = "http://www.w3.org/2000/svg", width = 440, height = 170, pad = 28;
      var svg = document.createElementNS(svgNS, "svg");
      svg.setAttribute("viewBox", "0 0 " + width + " " + height);
      svg.setAttribute("width", "100%");
      svg.setAttribute("role", "img");
      svg.setAttribute("aria-label", m.prox_histogram);
      var max = Math.max.apply(null, h.counts.concat([1]));
      var top = h.edges_km[h.edges_km.length - 1], plotW = width - 2 * pad, plotH = height - 2 * pad;
      function x(km) { return pad + plotW * km / top; }
      function add(tag, attrs, text) {
        var node = document.createElementNS(svgNS, tag);
        Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
        if (text !== undefined) node.textContent = text;
        svg.appendChild(node);
        return node;
      }
      h.counts.forEach(function (count, i) {
        var x0 = x(h.edges_km[i]), x1 = x(h.edges_km[i + 1]), barH = plotH * count / max;
        var band = h.bands_km.filter(function (b) { return b < h.edges_km[i + 1]; }).length;
        add("rect", {x: x0 + 0.5, y: pad + plotH - barH, width: Math.max(x1 - x0 - 1, 1), height: barH,
                     fill: colour(band, h.bands_km.length + 1)}).appendChild(
          document.createElementNS(svgNS, "title")).textContent = count + " (" + h.edges_km[i] + "–" + h.edges_km[i + 1] + " km)";
      });
      h.bands_km.forEach(function (b) {
        add("line", {x1: x(b), x2: x(b), y1: pad - 4, y2: pad + plotH, stroke: "#333", "stroke-dasharray": "3 3"});
        add("text", {x: x(b), y: pad - 8, "font-size": 10, "text-anchor": "middle"}, b + " km");
      });
      add("line", {x1: pad, x2: pad + plotW, y1: pad + plotH, y2: pad + plotH, stroke: "#333"});
      [0, top / 2, top].forEach(function (km) {
        add("text", {x: x(km), y: height - 8, "font-size": 10, "text-anchor": "middle"}, km + " km");
      });
      add("text", {x: pad - 4, y: pad + 4, "font-size": 10, "text-anchor": "end"}, String(max));
      var wrap = el("div");
      wrap.appendChild(svg);
      wrap.appendChild(el("p", h.beyond + " " + m.prox_beyond + " · " + h.no_service + " " + m.prox_no_service, "muted"));
      return wrap;
    }

    // The file's own columns, to say where its location is; the detected choice (if any) comes first.
    function columnPicker(out, details, onChoice) {
      var box = el("div", null, "gs-picker");
      box.appendChild(el("h2", m.prox_pick_title));
      box.appendChild(el("p", m.prox_pick_intro));
      var first = (details.candidates || [])[0];
      var chosen = first ? first.columns : [];
      function select(id, label, preset) {
        var wrap = el("label", label + " ");
        var s = el("select");
        s.id = id;
        s.appendChild(el("option", "—"));
        s.firstChild.value = "";
        details.columns.forEach(function (c) {
          var o = el("option", c);
          o.value = c;
          if (c === preset) o.selected = true;
          s.appendChild(o);
        });
        wrap.appendChild(s);
        box.appendChild(wrap);
        return s;
      }
      var lat = select("pick-lat", m.prox_pick_lat, chosen.length >= 2 ? chosen[0] : "");
      var lon = select("pick-lon", m.prox_pick_lon, chosen.length >= 2 ? chosen[1] : "");
      var geopoint = select("pick-geopoint", m.prox_pick_geopoint, chosen.length === 1 ? chosen[0] : "");
      var button = el("button", m.prox_pick_run);
      button.type = "button";
      button.addEventListener("click", function () {
        document.getElementById("lat-col").value = geopoint.value ? "" : lat.value;
        document.getElementById("lon-col").value = geopoint.value ? "" : lon.value;
        document.getElementById("geopoint-col").value = geopoint.value;
        onChoice();
      });
      box.appendChild(button);
      out.appendChild(box);
    }

    // Today, the dry and the wet season side by side: communities by band, then the communities that change.
    function seasons(out, report, h) {
      var s = report.scenarios, names = ["none", "dry", "wet"];
      var titles = {none: m.prox_today, dry: m.prox_dry, wet: m.prox_wet};
      out.appendChild(el("h2", m.prox_seasons));
      var counts = {}, order = [];
      names.forEach(function (name) {
        s[name].summary.forEach(function (r) {
          var key = r.country + "\u0000" + r.band;
          if (!counts[key]) { counts[key] = {country: r.country, band: r.band}; order.push(key); }
          counts[key][name] = r.communities;
        });
      });
      var rows = order.filter(function (key) {  // bands empty in every season are left out
        return names.some(function (n) { return counts[key][n]; });
      }).map(function (key) {
        var c = counts[key];
        return [h.country(c.country), h.bandText(c.band)].concat(names.map(function (n) { return h.number(c[n] || 0); }));
      });
      function hour(name) {
        return s[name].within_hour_walk.reduce(function (sum, r) { return sum + r.communities; }, 0);
      }
      rows.push([m.prox_within_hour, ""].concat(names.map(function (n) { return h.number(hour(n)); })));
      rows.push([m.prox_unreachable, ""].concat(["—", h.number(s.dry.unreachable), h.number(s.wet.unreachable)]));
      rows.push([m.prox_open_crossings, ""].concat(["—", s.assumptions.crossings_open.dry.join(", ") || "—",
                                                     s.assumptions.crossings_open.wet.join(", ") || "—"]));
      out.appendChild(h.table([m.country, m.band, titles.none, titles.dry, titles.wet], rows,
                              [false, false, true, true, true]));
      var changed = s.wet.changed;
      out.appendChild(el("h2", m.prox_changed + " (" + titles.wet + ": " + s.wet.changed_from_none + ")"));
      if (!changed.length) return;
      function side(x) {
        return x.distance_m === null ? m.prox_no_service
          : x.service + ", " + h.km(x.distance_m) + (x.crossing ? ", " + m.prox_via + " " + x.crossing : "");
      }
      out.appendChild(h.table([m.field_name, m.population, titles.none, titles.wet], changed.map(function (r) {
        return [r.name || "#" + r.row, h.number(r.population), side(r.none), side(r.wet)];
      }), [false, true, false, false], changed.map(function (r) { return r.row; })));
    }

    // The summary by administrative area: one row per area and band that holds communities.
    function areas(out, report, h) {
      var a = report.areas;
      out.appendChild(el("h2", m.prox_by_area + " (" + a.level + ")"));
      var rows = a.summary.filter(function (r) { return r.communities; }).map(function (r) {
        var name = r.code ? (r.name ? r.name + " (" + r.code + ")" : r.code) : m.prox_outside;
        return [name, h.bandCell(r.band), h.number(r.communities), h.number(r.population),
                h.number(r.unknown_population)];
      });
      out.appendChild(h.table([m.prox_area, m.band, m.communities, m.population, m.unknown_population], rows,
                              [false, false, true, true, true]));
    }

    // The people of the population grid by band: today, and in each season when there are barriers.
    function grid(out, report, h) {
      var g = report.population_grid, names = ["none", "dry", "wet"].filter(function (n) { return g[n]; });
      var titles = {none: m.prox_today, dry: m.prox_dry, wet: m.prox_wet};
      out.appendChild(el("h2", m.prox_grid_people + " (" + h.number(g.assumptions.people_in_area) + ")"));
      var bands = g[names[0]].bands.map(function (b) { return b.band; });
      var rows = bands.map(function (band) {
        return [h.bandText(band)].concat(names.map(function (n) {
          var found = g[n].bands.filter(function (b) { return b.band === band; })[0];
          return h.number(found ? found.people : 0);
        }));
      });
      rows.push([m.prox_within_hour].concat(names.map(function (n) { return h.number(g[n].within_hour_walk); })));
      out.appendChild(h.table([m.band].concat(names.map(function (n) { return titles[n]; })), rows,
                              [false].concat(names.map(function () { return true; }))));
    }

    // Where new centres would help most: a small form of its own, sent with the analysis's inputs to the sites API.
    var SITE_FIELDS = ["communities", "services", "communities_file", "services_file", "walk_kmh", "walk_detour",
                       "barriers", "crossings", "wet_unknown", "population_file", "population_radius_km",
                       "allow_outside", "lat_col", "lon_col", "geopoint_col", "lang"];

    function sites(out, form, cfg, h) {
      var box = el("div", null, "gs-sites");
      box.appendChild(el("h2", m.prox_sites));
      box.appendChild(el("p", m.prox_sites_intro, "muted"));
      function field(label, name, attrs) {
        var wrap = el("label", label + " ");
        var input = el("input");
        input.name = name;
        Object.keys(attrs).forEach(function (k) { input.setAttribute(k, attrs[k]); });
        wrap.appendChild(input);
        box.appendChild(wrap);
        return input;
      }
      var k = field(m.prox_sites_k, "k", {type: "number", min: 1, max: 10, value: 3, size: 3});
      var within = field(m.prox_sites_within, "within_km", {type: "number", min: 0.5, max: 100, step: 0.5, value: 5, size: 4});
      var walkMin = field(m.prox_sites_walk, "within_walk_min", {type: "number", min: 5, max: 600, step: 5, size: 4});
      var season = null;
      if (h.hasSeasons) {
        var wrap = el("label", m.prox_sites_scenario + " ");
        season = el("select");
        [["dry", m.prox_dry], ["wet", m.prox_wet], ["none", m.prox_today]].forEach(function (o) {
          var option = el("option", o[1]);
          option.value = o[0];
          season.appendChild(option);
        });
        wrap.appendChild(season);
        box.appendChild(wrap);
      }
      var button = el("button", m.prox_sites_run);
      button.type = "button";
      var answer = el("div");
      box.appendChild(button);
      box.appendChild(answer);
      button.addEventListener("click", function () {
        var given = new FormData(form), data = new FormData();
        SITE_FIELDS.forEach(function (name) {
          var value = given.get(name);
          if (value !== null && value !== "" && !(value instanceof File && !value.size)) data.set(name, value);
        });
        if (!data.get("barriers")) { data.delete("crossings"); data.delete("wet_unknown"); }
        data.set("k", k.value);
        if (walkMin.value) data.set("within_walk_min", walkMin.value); else data.set("within_km", within.value);
        if (season && data.get("barriers")) data.set("scenario", season.value);
        answer.textContent = m.prox_running;
        document.documentElement.removeAttribute("data-sites");
        fetch(cfg.sites_api + "?lang=" + cfg.lang, {method: "POST", body: data})
          .then(function (r) { return r.json().then(function (body) { return {ok: r.ok, body: body}; }); })
          .then(function (r) {
            answer.textContent = "";
            if (!r.ok) {
              answer.appendChild(el("p", m.prox_error + m.colon + " " + r.body.description, "gs-error"));
              document.documentElement.setAttribute("data-sites", "error");
              return;
            }
            showSites(answer, r.body, h);
            document.documentElement.setAttribute("data-sites", "done");
          });
      });
      out.appendChild(box);
    }

    function showSites(answer, body, h) {
      var unit = body.weighted_by_population ? m.prox_sites_people : m.prox_sites_communities;
      answer.appendChild(h.table([m.field_name, m.prox_sites_newly + " (" + unit + ")"], body.sites.map(function (s) {
        return [s.rank + ". " + (s.name || s.id || s.lat.toFixed(5) + ", " + s.lon.toFixed(5)), h.number(s.newly_covered)];
      }), [false, true]));
      answer.appendChild(el("p", m.prox_sites_total + m.colon + " " + h.number(body.newly_covered) + " " + unit + "."));
      if (!body.weighted_by_population) answer.appendChild(el("p", m.prox_sites_unweighted, "muted"));
      var map = window.geoServiceMap.map;
      var layer = L.layerGroup(body.sites.map(function (s) {
        return L.circleMarker([s.lat, s.lon], {radius: 11, color: "#6a3d9a", weight: 4, fillColor: "#fff",
                                               fillOpacity: 0.6}).bindTooltip(el("span", s.rank + ". " + (s.name || "")),
                                                                              {permanent: true, direction: "right"});
      })).addTo(map);
      h.drawn.push(layer);
    }

    // The barrier lines and the crossings of the analysis on the map, when they are layers of the service.
    function barriers(assumptions, cfg, drawn, legend) {
      var map = window.geoServiceMap.map, chosen = (assumptions.barriers || "").split(":");
      var ids = chosen[1] ? chosen[1].split(",") : null, open = assumptions.crossings_open.wet;
      function items(layer) {
        return fetch(cfg.items.replace("LAYER_ID", layer) + "?f=json&limit=1000").then(function (r) {
          if (!r.ok) throw new Error("HTTP " + r.status);
          return r.json();
        });
      }
      if (cfg.layers.indexOf(chosen[0]) >= 0) {
        items(chosen[0]).then(function (doc) {
          var lines = L.geoJSON({type: "FeatureCollection", features: doc.features.filter(function (f) {
            return !ids || ids.indexOf(String(f.id)) >= 0;
          })}, {style: {color: "#2171b5", weight: 5, opacity: 0.7}, interactive: false}).addTo(map);
          lines.bringToBack();
          drawn.push(lines);
          window.geoServiceMap.proximityBarriers = {lines: lines.getLayers().length};
        });
        window.geoServiceMap.legend.row(legend, window.geoService.swatch("LineString", "#2171b5"), m.prox_barrier_line);
      }
      if (assumptions.crossings && cfg.layers.indexOf(assumptions.crossings) >= 0) {
        items(assumptions.crossings).then(function (doc) {
          var points = L.geoJSON(doc, {pointToLayer: function (f, latlng) {
            var allYear = open.indexOf(String(f.properties.crossing || f.id)) >= 0;
            return L.circleMarker(latlng, {radius: 5, color: allYear ? "#8c2d04" : "#fd8d3c", weight: 3,
                                           fillColor: "#fff", fillOpacity: 1})
              .bindTooltip(el("span", f.properties.name || String(f.id)));
          }}).addTo(map);
          drawn.push(points);
          window.geoServiceMap.proximityCrossings = {points: points.getLayers().length};
        });
        window.geoServiceMap.legend.row(legend, window.geoService.swatch("circle", "#8c2d04", "#fff"),
                                        m.prox_crossing_all_year);
        window.geoServiceMap.legend.row(legend, window.geoService.swatch("circle", "#fd8d3c", "#fff"),
                                        m.prox_crossing_other);
      }
    }

    return {histogram: histogram, columnPicker: columnPicker, seasons: seasons, areas: areas, grid: grid,
            sites: sites, barriers: barriers};
  };
})();
