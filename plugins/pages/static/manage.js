/* The organiser's dashboard: refresh the door counts every few seconds without reloading the page, from the
   dashboard's own `doors` address (the same server-rendered table, in the page's language; same origin, the staff
   session's cookie). Without JavaScript the page's Refresh link reloads it. Reads only; never writes. */
(function () {
  "use strict";
  var section = document.getElementById("doors");
  var board = document.getElementById("door-board");
  if (!section || !board || !window.fetch) { return; }
  var url = section.getAttribute("data-url");
  var seconds = parseInt(section.getAttribute("data-refresh"), 10) || 5;

  /* Swap the table only when a count changed (the region is announced to screen readers), the time always. */
  function show(html) {
    var fresh = document.createElement("template");
    fresh.innerHTML = html;
    var table = fresh.content.getElementById("door-counts");
    var stamp = fresh.content.getElementById("doors-updated");
    var current = document.getElementById("door-counts");
    if (!table || !stamp || !current) { return; }
    if (table.tBodies[0].innerHTML !== current.tBodies[0].innerHTML) {
      current.replaceWith(table);
    } else {
      current.setAttribute("data-generated-at", table.getAttribute("data-generated-at"));
    }
    document.getElementById("doors-updated").textContent = stamp.textContent;
  }

  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) { if (html) { show(html); } })
      .catch(function () { /* offline for a moment: the next poll tries again */ })
      .then(function () { window.setTimeout(poll, seconds * 1000); });
  }

  window.setTimeout(poll, seconds * 1000);
}());
