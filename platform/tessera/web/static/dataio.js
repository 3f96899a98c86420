// Import wizard: poll the job's progress and reload the page when its step changes.
(function () {
  var box = document.querySelector("[data-import-progress]");
  if (!box) return;
  var bar = box.querySelector("progress");
  var count = box.querySelector(".import-count");
  var template = count.textContent.replace(/\d+/, "{n}");
  function poll() {
    fetch(box.getAttribute("data-import-progress"), { headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (p) {
        if (p.status !== "checking" && p.status !== "running") { window.location.reload(); return; }
        if (p.percent !== null) bar.value = p.percent;
        count.textContent = template.replace("{n}", p.processed);
        setTimeout(poll, 500);
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 300);
})();
