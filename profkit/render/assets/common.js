/* profkit report: what report.js and calltree.js share. Every format follows its namesake in
   profkit.fmt (the browser tests check that they agree), and TICK is
   profkit.render.report.compact.TICK. */
var profkit = (function () {
  "use strict";

  var TICK = 1e-7; /* seconds per unit of the JSON times */
  var table = null;

  /* The page's string table: JSON rows name their strings by index into it. */
  function strings() {
    if (table === null) {
      var el = document.getElementById("pk-strings");
      table = el ? JSON.parse(el.textContent) : [];
    }
    return table;
  }

  /* profkit.fmt.fmt_seconds */
  function fmtSeconds(s) {
    if (s >= 1) { return s.toFixed(2) + " s"; }
    if (s >= 1e-3) { return (s * 1e3).toFixed(1) + " ms"; }
    return (s * 1e6).toFixed(1) + " \u00b5s";
  }

  /* profkit.fmt.fmt_count, for whole numbers */
  function fmtCount(n) {
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }

  /* profkit.render.report.filters.short_path, for a real path */
  function shortPath(path) {
    var parts = path.replace(/\\/g, "/").split("/");
    return parts.length <= 3 ? path : "\u2026/" + parts.slice(-2).join("/");
  }

  return { TICK: TICK, strings: strings, fmtSeconds: fmtSeconds, fmtCount: fmtCount,
           shortPath: shortPath };
}());
