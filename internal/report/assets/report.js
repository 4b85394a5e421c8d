// Sorting and filtering for the artifact table. Plain DOM, no dependencies,
// so the page works from file:// and offline.
(function () {
  "use strict";
  var table = document.getElementById("artifacts");
  if (!table) { return; }
  var tbody = table.tBodies[0];
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var keys = headers.map(function (th) { return th.getAttribute("data-key"); });
  var rows = Array.prototype.slice.call(tbody.rows);
  rows.forEach(function (tr, i) { tr.setAttribute("data-index", String(i)); });

  function cellValue(tr, col) {
    var td = tr.cells[col];
    var v = td.getAttribute("data-v");
    return v !== null ? v : td.textContent.trim();
  }

  // Sorting: a click on a header sorts by it; another click reverses.
  // Numbers compare as numbers; ties keep the report's own order.
  var sortCol = -1, ascending = true;
  function sortBy(col) {
    ascending = col === sortCol ? !ascending : true;
    sortCol = col;
    var numeric = headers[col].getAttribute("data-type") === "num";
    var sorted = rows.slice().sort(function (a, b) {
      var x = cellValue(a, col), y = cellValue(b, col), d;
      if (numeric) {
        d = (parseFloat(x) || 0) - (parseFloat(y) || 0);
      } else {
        d = x.localeCompare(y, undefined, { numeric: true, sensitivity: "base" });
      }
      if (d === 0) {
        return Number(a.getAttribute("data-index")) - Number(b.getAttribute("data-index"));
      }
      return ascending ? d : -d;
    });
    sorted.forEach(function (tr) { tbody.appendChild(tr); });
    headers.forEach(function (th, i) {
      th.setAttribute("aria-sort", i !== col ? "none" : (ascending ? "ascending" : "descending"));
    });
  }
  headers.forEach(function (th, i) {
    th.querySelector("button").addEventListener("click", function () { sortBy(i); });
  });

  // Filtering: every word must match somewhere in the row; "column:value"
  // must match in that column (arch:aarch64, status:failed).
  var input = document.getElementById("filter");
  var shown = document.getElementById("shown");
  var noMatch = document.getElementById("no-match");
  function applyFilter() {
    var terms = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    var n = 0;
    rows.forEach(function (tr) {
      var text = tr.textContent.toLowerCase();
      var ok = terms.every(function (t) {
        var i = t.indexOf(":");
        if (i > 0) {
          var col = keys.indexOf(t.slice(0, i));
          if (col >= 0) {
            return tr.cells[col].textContent.toLowerCase().indexOf(t.slice(i + 1)) >= 0;
          }
        }
        return text.indexOf(t) >= 0;
      });
      tr.hidden = !ok;
      if (ok) { n++; }
    });
    shown.textContent = n + " of " + rows.length + " artifacts";
    noMatch.hidden = n !== 0;
    try {
      // Keep the filter in the URL so it can be shared; some browsers refuse
      // history changes on file:// pages, which only costs that convenience.
      history.replaceState(null, "", input.value ? "#filter=" + encodeURIComponent(input.value) : location.pathname);
    } catch (e) { /* see above */ }
  }
  input.addEventListener("input", applyFilter);
  // A link to report.html#filter=status:failed opens with the filter applied.
  var m = /^#filter=(.*)$/.exec(location.hash);
  if (m) {
    input.value = decodeURIComponent(m[1]);
    applyFilter();
  }
}());
