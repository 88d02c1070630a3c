// Swap in the fresh <main> every few seconds, without reloading the page.
// Without JavaScript the page is the same, and <noscript> reloads it now and then.
(function () {
  "use strict";
  var seconds = Number(document.body.dataset.refresh) || 3;
  var busy = false;

  function update() {
    if (busy || document.hidden) { return; }
    busy = true;
    fetch(window.location.href, { headers: { "X-Kob-Partial": "1" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (html) {
        document.getElementById("main").innerHTML = html;
        var stamp = document.querySelector("#main .stamp");
        document.getElementById("updated").textContent = stamp ? stamp.textContent : "";
        document.body.classList.remove("stale");
      })
      .catch(function (error) {
        document.body.classList.add("stale");
        document.getElementById("updated").textContent = "update failed (" + error.message + "), retrying";
      })
      .finally(function () { busy = false; });
  }

  window.setInterval(update, seconds * 1000);
  document.addEventListener("visibilitychange", update);
})();
