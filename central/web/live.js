// The overview, live without reload (design 5.15): every data-poll-s seconds it asks /api/stations (same
// filters as the page) and writes each station's cells and the totals as text. Words come worded by the
// server ("text"), so nothing here speaks to staff. A station added or gone reloads the page once.
(function () {
  "use strict";
  var table = document.getElementById("stations");
  if (!table) { return; }
  var every = Math.max(1, Number(table.getAttribute("data-poll-s")) || 30) * 1000;

  function apply(data) {
    var rows = table.querySelectorAll("tr[data-device]");
    var shown = Array.prototype.map.call(rows, function (tr) { return tr.getAttribute("data-device"); });
    var got = data.stations.map(function (s) { return s.device; });
    if (shown.slice().sort().join("\n") !== got.slice().sort().join("\n")) { location.reload(); return; }
    data.stations.forEach(function (s) {
      var tr = table.querySelector('tr[data-device="' + CSS.escape(s.device) + '"]');
      tr.className = s.red ? "red" : "";
      Object.keys(s.text).forEach(function (cls) {
        var td = tr.querySelector("td." + cls);
        if (td) { td.textContent = s.text[cls]; }
      });
    });
    var boxes = document.querySelectorAll("#totals > div");
    data.totals.text.forEach(function (t, i) { if (boxes[i]) { boxes[i].textContent = t; } });
    table.setAttribute("data-updated", String(Date.now()));
  }

  function refresh() {
    return fetch("/api/stations" + location.search, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(apply)
      .catch(function () { table.setAttribute("data-stale", "1"); });  // a missed poll: the next one tries again
  }
  window.sohoaLive = {refresh: refresh};
  setInterval(refresh, every);
}());
