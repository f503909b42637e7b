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

  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) { if (html) { board.innerHTML = html; } })
      .catch(function () { /* offline for a moment: the next poll tries again */ })
      .then(function () { window.setTimeout(poll, seconds * 1000); });
  }

  window.setTimeout(poll, seconds * 1000);
}());
