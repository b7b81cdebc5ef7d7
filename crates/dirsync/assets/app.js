// dirsync: live progress for a running sync. The pages work without it.
(function () {
  "use strict";
  var panel = document.getElementById("progress");
  if (!panel) return;
  var text = document.getElementById("progress-text");
  var bar = document.getElementById("progress-bar");
  var done = document.getElementById("progress-done");
  var lastRun = panel.getAttribute("data-last-run") || "";
  var wasRunning = !panel.hidden;
  function tick() {
    fetch("/api/status", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        if (s.running) {
          wasRunning = true;
          panel.hidden = false;
          var word = document.getElementById("status-word");
          if (word) word.textContent = "Syncing";
          var r = s.running;
          text.textContent = (r.full ? "Full" : "Incremental") + " sync running: " + r.phase + " " + r.done + "/" + r.total;
          bar.max = Math.max(r.total, 1);
          bar.value = r.done;
          document.querySelectorAll("#sync-now, #full-sync").forEach(function (b) { b.disabled = true; });
          setTimeout(tick, 700);
        } else {
          panel.hidden = true;
          var word = document.getElementById("status-word");
          if (word) word.textContent = "Idle";
          var id = s.last_run_id === null ? "" : String(s.last_run_id);
          if (wasRunning && id !== lastRun && id !== "") {
            done.hidden = false;
            done.innerHTML = "";
            done.appendChild(document.createTextNode("Run #" + id + " finished. "));
            var a = document.createElement("a");
            a.href = "/history/" + id;
            a.textContent = "Open run #" + id;
            done.appendChild(a);
            // Refresh the page's figures once, so counts, chart and history show the new run.
            setTimeout(function () { window.location.replace(window.location.pathname); }, 1500);
          } else if (wasRunning && s.last_error) {
            done.hidden = false;
            done.textContent = "The sync failed: " + s.last_error;
          }
          document.querySelectorAll("#sync-now, #full-sync").forEach(function (b) { b.disabled = false; });
          wasRunning = false;
        }
      })
      .catch(function () { setTimeout(tick, 2000); });
  }
  if (wasRunning || /[?&]started=1/.test(window.location.search)) tick();
})();
