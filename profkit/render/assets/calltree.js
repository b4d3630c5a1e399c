/* profkit report: the call tree (icicle) per mode, drawn by the vendored d3-flame-graph.
   Data comes from JSON blocks; every string is set with textContent or SVG <title> text. */
(function () {
  "use strict";

  var TICK = profkit.TICK, strings = profkit.strings, fmtSeconds = profkit.fmtSeconds,
      fmtCount = profkit.fmtCount, shortPath = profkit.shortPath; /* from common.js */

  /* Nodes: [fn index, ticks on this path, calls on this path, children?].
     fn rows: [name, file, line, calls, primitive calls (0: same), self ticks, cumulative ticks];
     the root's row is [label, "", 0, 0, 0, total ticks]. */
  function describe(fn, node, total) {
    var s = strings();
    var row = fn[node.data[0]];
    var name = s[row[0]];
    var file = s[row[1]];
    var here = node.data[1] * TICK;
    var share = total > 0 ? (100 * node.data[1] / total).toFixed(1) + "%" : "";
    if (node.data[0] === 0) {
      return name + ": " + fmtSeconds(here) + " profiled in all";
    }
    var where = file === "~" || file === "" ? "built-in" : shortPath(file) + ":" + row[2];
    var calls = row[4] ? fmtCount(row[3]) + "/" + fmtCount(row[4]) : fmtCount(row[3]);
    return name + " (" + where + ") \u2014 here: " + fmtSeconds(here) + " (" + share + " of the mode), " +
      fmtCount(node.data[2] || 0) + " calls; whole function: self " + fmtSeconds(row[5] * TICK) +
      ", cumulative " + fmtSeconds(row[6] * TICK) + ", " + calls + " calls";
  }

  function draw(box) {
    if (box.getAttribute("data-drawn")) { return; }
    var data = JSON.parse(document.getElementById(box.getAttribute("data-src")).textContent);
    var holder = box.querySelector(".ct-chart");
    var details = box.querySelector(".ct-details");
    var found = box.querySelector(".ct-found");
    var s = strings();
    var fn = data.fn;
    var total = data.root[1];
    var width = Math.max(320, Math.floor(holder.getBoundingClientRect().width || 960));
    var chart = flamegraph.default()
      .width(width)
      .cellHeight(18)
      .transitionDuration(300)
      .minFrameSize(1)
      .inverted(true)
      .getName(function (d) { return s[fn[d.data[0]][0]]; })
      .getValue(function (d) { return d[1]; })
      .getChildren(function (d) { return d[3]; })
      .setLabelHandler(function (d) { return describe(fn, d, total); })
      .onHover(function (d) { details.textContent = describe(fn, d, total); })
      .onClick(function (d) { details.textContent = "Zoomed to " + describe(fn, d, total); })
      .setSearchMatch(function (d, term) {
        if (!term) { return false; }
        var row = fn[d.data[0]];
        var t = term.toLowerCase();
        return s[row[0]].toLowerCase().indexOf(t) >= 0 || (d.data[0] > 0 && s[row[1]].toLowerCase().indexOf(t) >= 0);
      })
      .setSearchHandler(function (results, sum, all) {
        if (!found) { return; }
        if (!results.length) { found.textContent = box.querySelector(".ct-search").value ? "no match" : ""; return; }
        found.textContent = results.length + " frame" + (results.length === 1 ? "" : "s") + " match, " +
          (all > 0 ? (100 * sum / all).toFixed(1) : "0") + "% of the time";
      });
    d3.select(holder).datum(data.root).call(chart);
    box.setAttribute("data-drawn", "1");
    var search = box.querySelector(".ct-search");
    search.addEventListener("input", function () {
      if (search.value) { chart.search(search.value); } else { chart.clear(); found.textContent = ""; }
    });
    box.querySelector(".ct-reset").addEventListener("click", function () {
      chart.resetZoom();
      details.textContent = "Zoom reset.";
    });
  }

  var boxes = document.querySelectorAll(".calltree[data-src]");
  Array.prototype.forEach.call(boxes, function (box) {
    var det = box.closest("details");
    if (!det || det.open) { draw(box); }
    if (det) {
      det.addEventListener("toggle", function () { if (det.open) { draw(box); } });
    }
  });
})();
