/* profkit report: sortable tables, filter boxes and "show all" toggles. No data is read from the
   page except cell text, data-* numbers and JSON blocks; every string is set with textContent. */
(function () {
  "use strict";

  var TICK = profkit.TICK, strings = profkit.strings, fmtSeconds = profkit.fmtSeconds,
      fmtCount = profkit.fmtCount, shortPath = profkit.shortPath; /* from common.js */

  /* Cell formats for rows built from JSON, named by each column's data-fmt. Null shows as "–". */
  var FORMATS = {
    str: function (v, s) { return { text: s[v] }; },
    int: function (v) { return { text: fmtCount(v), v: v }; },
    s: function (v) { var x = v * TICK; return { text: fmtSeconds(x), v: x }; },
    pct: function (v, s, total) {
      var x = v * TICK;
      return total > 0 ? { text: (100 * x / total).toFixed(1) + "%", v: 100 * x / total } : { text: "\u2013" };
    },
    loc: function (v, s) {
      var file = s[v[0]];
      if (file === "~" || file === "") { return { text: "built-in" }; }
      return { text: shortPath(file) + ":" + v[1], title: file + ":" + v[1] };
    },
    calls: function (v) {
      /* [calls, primitive calls]; primitive 0 means "the same" */
      var same = !v[1] || v[0] === v[1];
      return { text: same ? fmtCount(v[0]) : fmtCount(v[0]) + "/" + fmtCount(v[1]), v: v[0] };
    },
    dw: function (v, s) {
      if (!Array.isArray(v)) { v = [v]; }
      var x = v[0] * TICK;
      return { text: fmtSeconds(x), v: x, sub: v.length > 1 && v[1] !== null ? s[v[1]] : null };
    },
    raw: function (v) { return { text: String(v), v: typeof v === "number" ? v : null }; }
  };

  function buildCell(th, value, s, total) {
    var td = document.createElement("td");
    var cls = th.getAttribute("data-cls") || (th.classList.contains("num") ? "num" : "");
    if (cls) { td.className = cls; }
    var missing = value === null || value === undefined || (Array.isArray(value) && value[0] === null);
    if (missing) { td.textContent = "\u2013"; return td; }
    var fmt = FORMATS[th.getAttribute("data-fmt") || "raw"] || FORMATS.raw;
    var out = fmt(value, s, total);
    td.textContent = out.text;
    if (out.v !== null && out.v !== undefined) { td.setAttribute("data-v", String(out.v)); }
    if (out.title) { td.title = out.title; }
    if (out.sub) {
      var span = document.createElement("span");
      span.className = "muted small";
      span.textContent = out.sub;
      td.appendChild(document.createTextNode(" "));
      td.appendChild(span);
    }
    return td;
  }

  /* Long tables keep their rows beyond the first ones as column-oriented JSON, {"c": [columns],
     "r": [row class string indexes]}, built on demand. Each header's data-src names the stored
     columns its cells read (one value, or several as an array). */
  function materialise(table) {
    var id = table.getAttribute("data-rest");
    if (!id || table.getAttribute("data-loaded")) { return; }
    table.setAttribute("data-loaded", "1");
    var el = document.getElementById(id);
    if (!el) { return; }
    var data = JSON.parse(el.textContent);
    var cols = data.c || [];
    var classes = data.r || null;
    var n = cols.length ? cols[0].length : 0;
    var s = strings();
    var total = parseFloat(table.getAttribute("data-total")) || 0;
    var heads = table.tHead.rows[table.tHead.rows.length - 1].cells;
    var sources = Array.prototype.map.call(heads, function (th) {
      return (th.getAttribute("data-src") || "").split(",").map(function (k) { return parseInt(k, 10); });
    });
    var frag = document.createDocumentFragment();
    for (var i = 0; i < n; i++) {
      var tr = document.createElement("tr");
      for (var c = 0; c < heads.length; c++) {
        var src = sources[c];
        var value = src.length === 1 ? cols[src[0]][i] : src.map(function (k) { return cols[k][i]; });
        tr.appendChild(buildCell(heads[c], value, s, total));
      }
      if (classes && classes[i] !== null) { tr.className = s[classes[i]]; }
      frag.appendChild(tr);
    }
    table.tBodies[0].appendChild(frag);
  }

  function box(table) {
    return table.closest(".tbl");
  }

  function totalRows(table) {
    var pending = table.getAttribute("data-loaded") ? 0 : parseInt(table.getAttribute("data-rest-n"), 10) || 0;
    return table.tBodies[0].rows.length + pending;
  }

  /* Show the rows that match the filter: all of them, or the first data-limit when collapsed. */
  function refresh(table) {
    var limit = parseInt(table.getAttribute("data-limit"), 10) || 0;
    var expanded = !limit || table.classList.contains("expanded");
    var wrap = box(table);
    var input = wrap ? wrap.querySelector("input.filter") : null;
    var query = input ? input.value.trim().toLowerCase() : "";
    var rows = table.tBodies[0].rows;
    var shown = 0, matched = 0;
    for (var i = 0; i < rows.length; i++) {
      var tr = rows[i];
      var match = !query || tr.textContent.toLowerCase().indexOf(query) !== -1;
      if (match) { matched++; }
      var visible = match && (expanded || shown < limit);
      tr.hidden = !visible;
      if (visible) { shown++; }
    }
    if (!wrap) { return; }
    var total = totalRows(table);
    var count = wrap.querySelector(".count");
    if (count) {
      count.textContent = query
        ? "showing " + shown + " of " + matched + " matching rows (" + total + " in all)"
        : "showing " + shown + " of " + total + " rows";
    }
    var button = wrap.querySelector("button.show-all");
    if (button) {
      button.hidden = !limit || total <= limit;
      button.textContent = expanded ? "Show top " + limit : "Show all " + total;
      button.setAttribute("aria-expanded", expanded ? "true" : "false");
    }
  }

  function sortBy(table, th) {
    materialise(table);
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var numeric = th.getAttribute("data-sort") === "num";
    var current = th.getAttribute("aria-sort");
    var dir = current === "descending" ? "ascending"
      : current === "ascending" ? "descending" : (numeric ? "descending" : "ascending");
    var heads = th.parentNode.children;
    for (var h = 0; h < heads.length; h++) {
      if (heads[h].hasAttribute("data-sort")) { heads[h].setAttribute("aria-sort", "none"); }
    }
    var tbody = table.tBodies[0];
    var keyed = Array.prototype.map.call(tbody.rows, function (tr, i) {
      var cell = tr.cells[index];
      var key;
      if (numeric) {
        var v = cell ? cell.getAttribute("data-v") : null;
        key = v === null || v === "" ? NaN : parseFloat(v);
      } else {
        key = cell ? cell.textContent.trim().toLowerCase() : "";
      }
      return { tr: tr, key: key, i: i };
    });
    var sign = dir === "ascending" ? 1 : -1;
    keyed.sort(function (a, b) {
      var r;
      if (numeric) {
        var an = isNaN(a.key), bn = isNaN(b.key);
        if (an || bn) { r = an === bn ? 0 : (an ? 1 : -1); } /* empty cells last */
        else { r = sign * (a.key - b.key); }
      } else {
        r = sign * (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
      }
      return r || a.i - b.i;
    });
    var frag = document.createDocumentFragment();
    keyed.forEach(function (k) { frag.appendChild(k.tr); });
    tbody.appendChild(frag);
    th.setAttribute("aria-sort", dir);
    refresh(table);
  }

  function init() {
    var tables = document.querySelectorAll("table.sortable, table[data-limit]");
    Array.prototype.forEach.call(tables, function (table) {
      Array.prototype.forEach.call(table.querySelectorAll("thead th[data-sort]"), function (th) {
        th.setAttribute("tabindex", "0");
        th.setAttribute("role", "button");
        if (!th.hasAttribute("aria-sort")) { th.setAttribute("aria-sort", "none"); }
        th.addEventListener("click", function () { sortBy(table, th); });
        th.addEventListener("keydown", function (e) {
          if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(table, th); }
        });
      });
      var wrap = box(table);
      if (wrap) {
        var button = wrap.querySelector("button.show-all");
        if (button) {
          button.addEventListener("click", function () {
            materialise(table);
            table.classList.toggle("expanded");
            refresh(table);
          });
        }
        var input = wrap.querySelector("input.filter");
        if (input) {
          var timer = null;
          input.addEventListener("input", function () {
            clearTimeout(timer);
            timer = setTimeout(function () { materialise(table); refresh(table); }, 120);
          });
        }
      }
      refresh(table);
    });
    /* Print every collapsed section, then restore. */
    var reopened = [];
    window.addEventListener("beforeprint", function () {
      Array.prototype.forEach.call(document.querySelectorAll("details:not([open])"), function (d) {
        d.setAttribute("open", "");
        reopened.push(d);
      });
    });
    window.addEventListener("afterprint", function () {
      reopened.forEach(function (d) { d.removeAttribute("open"); });
      reopened = [];
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
}());
