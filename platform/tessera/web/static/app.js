/* Tessera: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var progress = document.getElementById("progress");

  function busy(on) { if (progress) progress.hidden = !on; }

  function send(url, body) {
    busy(true);
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) { return { ok: r.ok, data: data }; });
    }).finally(function () { busy(false); });
  }

  // After the first sign-in: tell the server the browser's time zone (kept on the user).
  var probe = document.body.getAttribute("data-tz-probe");
  if (probe && window.Intl && Intl.DateTimeFormat) {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone) send(probe, { timezone: zone });
  }

  function flash(message, kind) {
    var main = document.getElementById("main");
    var box = main.querySelector(".flashes");
    if (!box) { box = document.createElement("div"); box.className = "flashes"; box.setAttribute("role", "status"); main.prepend(box); }
    var item = document.createElement("div");
    item.className = "flash flash-" + (kind || "ok");
    item.textContent = message;
    box.appendChild(item);
  }

  /* Menu toggle on phones. */
  document.addEventListener("click", function (e) {
    var t = e.target.closest("[data-toggle]");
    if (!t) return;
    var target = document.querySelector(t.getAttribute("data-toggle"));
    if (!target) return;
    var open = target.classList.toggle("open");
    t.setAttribute("aria-expanded", open ? "true" : "false");
  });

  /* Confirmations and progress on submit. */
  document.addEventListener("submit", function (e) {
    var form = e.target;
    var btn = e.submitter;
    var ask = (btn && btn.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (ask && !window.confirm(ask)) { e.preventDefault(); return; }
    if (form.hasAttribute("data-busy")) {
      busy(true);
      form.querySelectorAll('button[type="submit"]').forEach(function (b) { b.setAttribute("aria-busy", "true"); });
    }
  }, true);

  /* Filters submit as soon as they change. */
  document.querySelectorAll("form[data-autosubmit] select").forEach(function (s) {
    s.addEventListener("change", function () { s.form.requestSubmit ? s.form.requestSubmit() : s.form.submit(); });
  });

  /* Row click opens the record; clicks on links and checkboxes keep their meaning. */
  document.addEventListener("click", function (e) {
    var row = e.target.closest("tr[data-href]");
    if (!row || e.target.closest("a, input, button, select, label")) return;
    window.location.href = row.getAttribute("data-href");
  });

  /* Calendar: click on the empty part of a day to add a record on it. */
  document.addEventListener("click", function (e) {
    var day = e.target.closest(".cal-day[data-new]");
    if (!day || e.target.closest("a")) return;
    window.location.href = day.getAttribute("data-new");
  });

  /* Bulk selection. */
  var bulk = document.querySelector("form[data-bulk]");
  if (bulk) {
    var boxes = function () { return document.querySelectorAll('input[name="ids"][form="bulk"]'); };
    var counter = bulk.querySelector(".bulk-count");
    var initial = counter.textContent;
    var update = function () {
      var n = 0;
      boxes().forEach(function (b) { b.closest("tr").classList.toggle("selected", b.checked); if (b.checked) n++; });
      counter.textContent = n ? n + " ✓" : initial;
      if (n) bulk.removeAttribute("data-empty"); else bulk.setAttribute("data-empty", "");
    };
    document.addEventListener("change", function (e) {
      if (e.target.matches("[data-select-all]")) boxes().forEach(function (b) { b.checked = e.target.checked; });
      if (e.target.matches("[data-select-all], input[name=ids]")) update();
    });
    update();
  }

  /* Kanban: drag a card to another lane. */
  var board = document.querySelector(".board[data-move-url]");
  if (board) {
    var dragged = null;
    board.addEventListener("dragstart", function (e) {
      dragged = e.target.closest(".kcard");
      if (!dragged) return;
      dragged.classList.add("dragging");
      e.dataTransfer.effectAllowed = "move";
      e.dataTransfer.setData("text/plain", dragged.getAttribute("data-id"));
    });
    board.addEventListener("dragend", function () { if (dragged) dragged.classList.remove("dragging"); });
    board.addEventListener("dragover", function (e) {
      var zone = e.target.closest("[data-dropzone]");
      if (!zone || !dragged) return;
      e.preventDefault();
      board.querySelectorAll(".drop-over").forEach(function (z) { if (z !== zone) z.classList.remove("drop-over"); });
      zone.classList.add("drop-over");
    });
    board.addEventListener("dragleave", function (e) {
      var zone = e.target.closest("[data-dropzone]");
      if (zone && !zone.contains(e.relatedTarget)) zone.classList.remove("drop-over");
    });
    board.addEventListener("drop", function (e) {
      var zone = e.target.closest("[data-dropzone]");
      if (!zone || !dragged) return;
      e.preventDefault();
      zone.classList.remove("drop-over");
      moveCard(dragged, zone.closest(".lane"));
    });
    board.addEventListener("change", function (e) {
      if (!e.target.matches(".move-form select")) return;
      var card = e.target.closest(".kcard");
      var lane = board.querySelector('.lane[data-value="' + CSS.escape(e.target.value) + '"]');
      if (lane) moveCard(card, lane);
    });
  }

  function moveCard(card, lane) {
    var from = card.closest(".lane");
    if (!lane || lane === from) return;
    var list = lane.querySelector("[data-dropzone]");
    var placeholder = list.querySelector(".lane-empty");
    if (placeholder) placeholder.remove();
    list.prepend(card);
    count(from, -1); count(lane, 1);
    send(board.getAttribute("data-move-url"), {
      id: card.getAttribute("data-id"), version: card.getAttribute("data-version"), value: lane.getAttribute("data-value"),
      args: window.location.search
    }).then(function (res) {
      if (res.ok) {
        laneNumbers(res.data.lanes || []);
        card.setAttribute("data-version", res.data.version);
        card.querySelector('input[name="version"]').value = res.data.version;
        card.querySelector(".move-form select").value = lane.getAttribute("data-value");
      } else {
        from.querySelector("[data-dropzone]").prepend(card);
        count(from, 1); count(lane, -1);
        card.querySelector(".move-form select").value = from.getAttribute("data-value");
        flash((res.data.error && res.data.error.message) || "Could not move the card.", "error");
      }
    });
  }

  /* Lane headers after a move: the server's fresh counts and totals (formulas included). */
  function laneNumbers(lanes) {
    lanes.forEach(function (numbers) {
      var lane = board.querySelector('.lane[data-value="' + CSS.escape(numbers.value) + '"]');
      if (!lane) return;
      var el = lane.querySelector("[data-count]");
      if (el) el.textContent = numbers.count;
      (numbers.sums || []).forEach(function (text, i) {
        var sum = lane.querySelector('[data-sum="' + i + '"] [data-sum-value]');
        if (sum) sum.textContent = text;
      });
    });
  }

  /* Wide boards: arrows and "columns 1–4 of 7" when lanes overflow the screen. */
  document.querySelectorAll("[data-board-wrap]").forEach(function (wrap) {
    var scroller = wrap.querySelector(".board"), nav = wrap.querySelector("[data-board-nav]");
    var status = wrap.querySelector("[data-board-status]");
    function update() {
      var lanes = scroller.querySelectorAll(".lane"), box = scroller.getBoundingClientRect();
      var first = 0, last = 0;
      lanes.forEach(function (lane, i) {
        var r = lane.getBoundingClientRect();
        if (r.right > box.left + 1 && r.left < box.right - 1) { if (!first) first = i + 1; }
        if (r.left < box.right - 1 && r.right <= box.right + 1) last = i + 1;
      });
      var overflow = scroller.scrollWidth > scroller.clientWidth + 1;
      nav.hidden = !overflow;
      wrap.classList.toggle("more-left", scroller.scrollLeft > 1);
      wrap.classList.toggle("more-right", scroller.scrollLeft + scroller.clientWidth < scroller.scrollWidth - 1);
      status.textContent = status.getAttribute("data-text").replace("{first}", first || 1)
        .replace("{last}", Math.max(last, first || 1)).replace("{total}", lanes.length);
      nav.querySelector('[data-scroll="-1"]').disabled = scroller.scrollLeft <= 1;
      nav.querySelector('[data-scroll="1"]').disabled = !wrap.classList.contains("more-right");
    }
    nav.addEventListener("click", function (e) {
      var button = e.target.closest("[data-scroll]");
      if (button) scroller.scrollBy({ left: parseInt(button.getAttribute("data-scroll"), 10) * scroller.clientWidth * 0.8, behavior: "smooth" });
    });
    scroller.addEventListener("scroll", update);
    window.addEventListener("resize", update);
    update();
  });

  function count(lane, delta) {
    var el = lane.querySelector("[data-count]");
    if (el) el.textContent = Math.max(0, parseInt(el.textContent || "0", 10) + delta);
  }

  /* Polymorphic links: pick the record type, then search records of that type. */
  document.querySelectorAll("[data-poly]").forEach(function (box) {
    var kind = box.querySelector("[data-poly-type]"), select = box.querySelector("[data-poly-value]");
    kind.addEventListener("change", function () {
      var chosen = kind.options[kind.selectedIndex];
      select.setAttribute("data-picker", chosen.getAttribute("data-lookup"));
      select.setAttribute("data-value-prefix", kind.value + ":");
      select.value = "";
      var input = box.querySelector("input[data-picker-for]");
      if (input) { input.value = ""; input.focus(); }
      select.dispatchEvent(new Event("change", { bubbles: true }));
    });
  });

  /* Link pickers: search-as-you-type over the lookup endpoint (single links). */
  document.querySelectorAll("select[data-picker]:not([multiple])").forEach(function (select) {
    var wrap = document.createElement("div");
    wrap.className = "picker";
    var input = document.createElement("input");
    input.type = "search";
    input.autocomplete = "off";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.id = select.id;
    select.removeAttribute("id");
    input.setAttribute("data-picker-for", select.name);
    if (select.getAttribute("aria-describedby")) input.setAttribute("aria-describedby", select.getAttribute("aria-describedby"));
    var chosen = select.options[select.selectedIndex];
    input.value = chosen && chosen.value ? chosen.text : "";
    input.placeholder = "…";
    var list = document.createElement("ul");
    list.className = "picker-list";
    list.setAttribute("role", "listbox");
    list.id = input.id + "-list";
    list.hidden = true;
    input.setAttribute("aria-controls", list.id);
    select.hidden = true;
    select.parentNode.insertBefore(wrap, select);
    wrap.appendChild(input); wrap.appendChild(list); wrap.appendChild(select);
    var timer = null, active = -1, items = [];

    function choose(item) {
      // a polymorphic link's value is "<type>:<id>" (the prefix follows its type chooser)
      var value = (select.getAttribute("data-value-prefix") || "") + item.id;
      var opt = Array.prototype.find.call(select.options, function (o) { return o.value === value; });
      if (!opt) { opt = new Option(item.title, value); select.add(opt); }
      select.value = value;
      input.value = item.title;
      close();
      select.dispatchEvent(new Event("change", { bubbles: true }));
    }
    function close() { list.hidden = true; input.setAttribute("aria-expanded", "false"); active = -1; }
    function render() {
      list.innerHTML = "";
      items.forEach(function (item, i) {
        var li = document.createElement("li");
        li.setAttribute("role", "option");
        li.id = list.id + "-" + i;
        li.textContent = item.title;
        li.setAttribute("aria-selected", i === active ? "true" : "false");
        li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(item); });
        list.appendChild(li);
      });
      list.hidden = !items.length;
      input.setAttribute("aria-expanded", items.length ? "true" : "false");
      if (active >= 0) input.setAttribute("aria-activedescendant", list.id + "-" + active);
    }
    function search() {
      var url = select.getAttribute("data-picker") + "?q=" + encodeURIComponent(input.value);
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (data) { items = data.results || []; active = items.length ? 0 : -1; render(); });
    }
    input.addEventListener("input", function () {
      if (!input.value) { select.value = ""; select.dispatchEvent(new Event("change", { bubbles: true })); }
      clearTimeout(timer); timer = setTimeout(search, 150);
    });
    input.addEventListener("focus", function () { if (!items.length) search(); });
    input.addEventListener("blur", function () { setTimeout(close, 100); });
    input.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        if (list.hidden) { search(); return; }
        active = (active + (e.key === "ArrowDown" ? 1 : -1) + items.length) % items.length;
        render();
      } else if (e.key === "Enter" && !list.hidden && active >= 0) {
        e.preventDefault(); choose(items[active]);
      } else if (e.key === "Escape") { close(); }
    });
  });

  /* visible_when: show a field only while its condition holds (the server checks again). */
  document.querySelectorAll("form[data-visibility]").forEach(function (form) {
    var script = form.querySelector("script.visibility-rules");
    var rules = script ? JSON.parse(script.textContent || "{}") : {};
    if (!Object.keys(rules).length) return;
    var apply = function () {
      Object.keys(rules).forEach(function (key) {
        var box = form.querySelector('.field[data-field="' + key + '"]');
        if (box) box.hidden = !holds(rules[key], values(form));
      });
    };
    form.addEventListener("change", apply);
    form.addEventListener("input", apply);
    apply();
  });

  function values(form) {
    var out = {};
    new FormData(form).forEach(function (v, k) {
      if (typeof v !== "string") return;
      if (k in out) { out[k] = [].concat(out[k], v); } else { out[k] = v; }
    });
    Object.keys(out).forEach(function (k) {
      // a boolean checkbox posts "false" (hidden) and "true" (checked)
      if (Array.isArray(out[k]) && out[k][0] === "false" && out[k].length === 2) out[k] = "true";
    });
    return out;
  }

  function empty(v) { return v === undefined || v === null || v === "" || (Array.isArray(v) && !v.length); }
  function num(v) { var n = parseFloat(v); return isNaN(n) ? v : n; }
  function holds(c, rec) {
    if (!c || typeof c !== "object") return true;
    if (c.all) return c.all.every(function (x) { return holds(x, rec); });
    if (c.any) return c.any.some(function (x) { return holds(x, rec); });
    if (c.not) return !holds(c.not, rec);
    var v = rec[c.field], want = c.value;
    if (want && typeof want === "object" && !Array.isArray(want) && want.field) want = rec[want.field];
    var list = Array.isArray(v) ? v : (empty(v) ? [] : [v]);
    switch (c.op) {
      case "is_empty": return empty(v);
      case "is_not_empty": return !empty(v);
      case "eq": return !empty(v) && String(v).toLowerCase() === String(want).toLowerCase();
      case "ne": return empty(v) || String(v).toLowerCase() !== String(want).toLowerCase();
      case "in": return [].concat(want).some(function (w) { return list.indexOf(String(w)) >= 0; });
      case "not_in": return ![].concat(want).some(function (w) { return list.indexOf(String(w)) >= 0; });
      case "contains": return Array.isArray(v) ? [].concat(want).every(function (w) { return v.indexOf(String(w)) >= 0; })
        : !empty(v) && String(v).toLowerCase().indexOf(String(want).toLowerCase()) >= 0;
      case "not_contains": return !holds({ field: c.field, op: "contains", value: c.value }, rec);
      case "starts_with": return !empty(v) && String(v).toLowerCase().indexOf(String(want).toLowerCase()) === 0;
      case "gt": return !empty(v) && num(v) > num(want);
      case "gte": return !empty(v) && num(v) >= num(want);
      case "lt": return !empty(v) && num(v) < num(want);
      case "lte": return !empty(v) && num(v) <= num(want);
      case "between": return !empty(v) && num(v) >= num(want[0]) && num(v) <= num(want[1]);
      default: return true; // relative dates and the rest: decided by the server on save
    }
  }
})();
