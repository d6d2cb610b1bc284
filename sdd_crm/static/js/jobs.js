/* Live progress on a job page: polls the job's status and reloads the page when it is done,
   so the result and the download links appear. Without this script a link refreshes the page. */
(function () {
  "use strict";
  var box = document.querySelector("[data-job-status-url]");
  if (!box || box.getAttribute("data-job-done") === "true" || !window.fetch) { return; }
  var url = box.getAttribute("data-job-status-url");
  var bar = box.querySelector("progress");
  function field(name) { return box.querySelector("[data-job-field='" + name + "']"); }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { window.setTimeout(poll, 3000); return; }
        bar.value = data.progress;
        bar.textContent = data.progress + "%";
        field("percent").textContent = data.progress + "%";
        if (data.status_label) { field("status").textContent = data.status_label; }
        if (data.message && field("message").textContent !== data.message) {
          field("message").textContent = data.message;
        }
        if (data.done) { window.location.reload(); return; }
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
})();
