/* Form layout and rich text: tabs over form panels, a small rich-text editor.
   Without this file every panel shows one after another and rich text is an HTML
   textarea; the server sanitises whatever arrives either way. */
(function () {
  "use strict";

  function initTabs(form) {
    var bar = form.querySelector(".form-tabs");
    if (!bar) return;
    var tabs = Array.prototype.slice.call(bar.querySelectorAll("[role=tab]"));
    var panels = tabs.map(function (t) { return document.getElementById(t.getAttribute("aria-controls")); });
    function show(i) {
      tabs.forEach(function (t, j) {
        t.setAttribute("aria-selected", i === j ? "true" : "false");
        t.tabIndex = i === j ? 0 : -1;
        panels[j].hidden = i !== j;
      });
    }
    tabs.forEach(function (t, i) {
      t.addEventListener("click", function () { show(i); });
      t.addEventListener("keydown", function (e) {
        var step = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
        if (!step) return;
        var next = (i + step + tabs.length) % tabs.length;
        show(next); tabs[next].focus(); e.preventDefault();
      });
    });
    panels.forEach(function (p) { p.classList.add("tabbed"); });
    bar.hidden = false;
    // open the first tab holding an error, so a refused save shows why
    var first = panels.findIndex(function (p) { return p.querySelector(".has-error"); });
    show(first >= 0 ? first : 0);
  }

  function initRich(box) {
    var source = box.querySelector(".rich-source");
    var area = box.querySelector(".rich-area");
    var bar = box.querySelector(".rich-toolbar");
    area.innerHTML = source.value;  // the server sent sanitised HTML only
    source.hidden = true; area.hidden = false; bar.hidden = false;
    function sync() { source.value = area.innerHTML; }
    area.addEventListener("input", sync);
    bar.addEventListener("click", function (e) {
      var button = e.target.closest("button[data-cmd]");
      if (!button) return;
      var cmd = button.getAttribute("data-cmd"), arg = null;
      if (cmd === "createLink") {
        arg = window.prompt(button.getAttribute("data-prompt") || "URL", "https://");
        if (!arg) return;
      }
      area.focus();
      document.execCommand(cmd, false, arg);
      sync();
    });
    var form = box.closest("form");
    if (form) form.addEventListener("submit", sync);
  }

  document.querySelectorAll("form.record-form").forEach(initTabs);
  document.querySelectorAll("[data-rich]").forEach(initRich);
})();
