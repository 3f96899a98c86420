/* Tessera builder: edits a draft template (plain data) and saves it on every change.
 *
 * The server validates every saved draft and answers with problems ({path, message});
 * each problem is shown next to the element whose data-path is the longest prefix of its
 * path. Field options come from schemas/field.json (boot.field_types), view settings
 * from schemas/view.json (boot.view_types): a new type shows its options without code
 * here. Lists reorder by drag and drop (the ⋮⋮ handle) or with the ↑ ↓ buttons.
 */
(function () {
  "use strict";
  var bootEl = document.getElementById("builder-boot");
  if (!bootEl) return;
  var boot = JSON.parse(bootEl.textContent);
  var T = boot.t, OPS = JSON.parse(T.ops), FT = boot.field_types, VT = boot.view_types;
  var draft = boot.draft, base = boot.base || {};
  var problems = boot.problems || [];
  var root = document.getElementById("builder");
  var statusEl = document.getElementById("b-status");
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var NO_VALUE = ["is_empty", "is_not_empty", "before_today", "after_today"];
  var LIST_OPS = ["in", "not_in"];
  var NUMERIC = ["number", "currency", "percent", "rating", "auto_number"];
  var openFields = new WeakSet();
  var sel = parseHash();
  var focusAfter = null, uidCounter = 0;
  ["record_types", "views", "forms"].forEach(function (k) { if (!Array.isArray(draft[k])) draft[k] = []; });

  /* ------------------------------------------------------------ tiny DOM helpers */
  function h(tag, attrs, kids) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === undefined || v === null || v === false) return;
      if (k === "text") el.textContent = v;
      else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), v);
      else if (k === "value") el.value = v;
      else if (k === "checked") el.checked = !!v;
      else el.setAttribute(k, v === true ? "" : v);
    });
    (kids || []).forEach(function (c) {
      if (c === null || c === undefined || c === false) return;
      el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return el;
  }
  function uid() { uidCounter += 1; return "b-" + uidCounter; }
  function fmt(s, vars) { return s.replace(/\{(\w+)\}/g, function (_, k) { return vars[k]; }); }
  function move(arr, from, to) {
    if (to < 0 || to >= arr.length || from === to) return false;
    arr.splice(to, 0, arr.splice(from, 1)[0]);
    return true;
  }
  function setOpt(obj, name, v) {
    if (v === "" || v === null || v === undefined || (Array.isArray(v) && !v.length)) delete obj[name];
    else obj[name] = v;
  }
  function labelOf(v, fallback) {
    if (typeof v === "string") return v;
    if (v && typeof v === "object") return v[document.documentElement.lang] || v.en || v["zh-CN"] || fallback;
    return fallback;
  }
  function labelPart(v, loc) {
    if (typeof v === "string") return loc === "en" ? v : "";
    return (v && v[loc]) || "";
  }
  function setLabel(obj, prop, loc, text) {
    var cur = obj[prop];
    var map = typeof cur === "string" ? { en: cur } : Object.assign({}, cur || {});
    if (text) map[loc] = text; else delete map[loc];
    setOpt(obj, prop, Object.keys(map).length ? map : "");
  }

  /* ------------------------------------------------------------ inputs */
  function field(label, path, control, extra) {
    var id = control.id || (control.id = uid());
    var lab = h("label", { for: id, text: label });
    return h("div", { class: "field b-input" + (extra ? " " + extra : ""), "data-path": path }, [lab, control]);
  }
  function text(obj, name, label, path, opts) {
    opts = opts || {};
    var input = h(opts.multiline ? "textarea" : "input", {
      value: obj[name] === undefined ? "" : String(obj[name]), type: opts.type, step: opts.step,
      placeholder: opts.placeholder, list: opts.list, rows: opts.multiline ? 2 : null,
      onchange: function () {
        var v = input.value.trim();
        if (opts.type === "number" && v !== "") v = Number(v);
        if (opts.parse) v = opts.parse(v);
        if (opts.set) opts.set(v); else setOpt(obj, name, v);
        changed(opts.structural);
      }
    });
    return field(label, path, input);
  }
  function check(obj, name, label, path) {
    var input = h("input", { type: "checkbox", checked: obj[name] === true,
      onchange: function () { setOpt(obj, name, input.checked ? true : ""); changed(); } });
    return h("div", { class: "field b-input b-check", "data-path": path }, [h("label", { class: "check" }, [input, " " + label])]);
  }
  function choice(obj, name, label, path, options, opts) {
    opts = opts || {};
    var select = h("select", { onchange: function () {
      if (opts.set) opts.set(select.value); else setOpt(obj, name, select.value);
      changed(opts.structural !== false);
    } }, (opts.blank === false ? [] : [h("option", { value: "", text: opts.blank || T.none })]).concat(options.map(function (o) {
      var pair = Array.isArray(o) ? o : [o, o];
      return h("option", { value: pair[0], text: pair[1], selected: String(obj[name]) === String(pair[0]) });
    })));
    return field(label, path, select);
  }
  function labelPair(obj, prop, path, names) {
    return h("div", { class: "b-pair", "data-path": join(path, prop) }, ["en", "zh-CN"].map(function (loc, i) {
      var input = h("input", { value: labelPart(obj[prop], loc), lang: loc,
        onchange: function () { setLabel(obj, prop, loc, input.value.trim()); changed(prop === "label"); } });
      return field(names[i], join(path, prop), input);
    }));
  }
  function buttons(arr, i, path, what, onRemove) {
    var b = function (cls, label, txt, fn) {
      return h("button", { type: "button", class: "icon-button " + cls, title: label, "aria-label": label + " " + what, text: txt, onclick: fn });
    };
    return h("span", { class: "b-buttons" }, [
      b("b-up", T.move_up, "↑", function () { if (move(arr, i, i - 1)) { focusAfter = at(pathAt(path, i - 1), ".b-up"); changed(true); } }),
      b("b-down", T.move_down, "↓", function () { if (move(arr, i, i + 1)) { focusAfter = at(pathAt(path, i + 1), ".b-down"); changed(true); } }),
      b("b-remove", T.remove, "✕", onRemove || function () {
        if (!window.confirm(fmt(T.confirm_remove, { what: what }))) return;
        arr.splice(i, 1); changed(true);
      })
    ]);
  }
  function pathAt(listPath, i) { return listPath + "[" + i + "]"; }
  function join(path, prop) { return path ? path + "." + prop : prop; }
  function at(path, cls) { return '[data-path="' + path + '"] ' + cls + ', [data-nav-path="' + path + '"] ' + cls; }

  /* drag and drop inside one list (the handle starts the drag) */
  var dragging = null;
  function sortable(ul, arr) {
    ul.addEventListener("dragstart", function (e) {
      var li = e.target.closest("li[data-index]");
      if (!li || li.parentNode !== ul) return;
      dragging = { ul: ul, from: +li.dataset.index };
      e.dataTransfer.effectAllowed = "move";
      e.dataTransfer.setData("text/plain", li.dataset.index);
      li.classList.add("dragging");
    });
    ul.addEventListener("dragover", function (e) {
      if (!dragging || dragging.ul !== ul) return;
      e.preventDefault();
      ul.querySelectorAll(".drop-over").forEach(function (x) { x.classList.remove("drop-over"); });
      var li = e.target.closest("li[data-index]");
      if (li) li.classList.add("drop-over");
    });
    ul.addEventListener("drop", function (e) {
      if (!dragging || dragging.ul !== ul) return;
      e.preventDefault();
      var li = e.target.closest("li[data-index]");
      var to = li ? +li.dataset.index : arr.length - 1;
      var from = dragging.from;
      dragging = null;
      if (move(arr, from, to)) changed(true); else render();
    });
    ul.addEventListener("dragend", function () { dragging = null; ul.querySelectorAll(".dragging,.drop-over").forEach(function (x) { x.classList.remove("dragging", "drop-over"); }); });
  }
  function handle(what) { return h("span", { class: "b-handle", draggable: "true", title: T.drag, "aria-hidden": "true", text: "⋮⋮", "data-what": what }); }

  /* ------------------------------------------------------------ lookups */
  function rtByKey(key) { return draft.record_types.filter(function (r) { return r.key === key; })[0]; }
  function fieldsOf(key) { var rt = rtByKey(key); return rt ? (rt.fields || []) : []; }
  function fieldChoices(key, types) {
    return fieldsOf(key).filter(function (f) { return !types || types.indexOf(f.type) >= 0; })
      .map(function (f) { return [f.key, labelOf(f.label, f.key) + " (" + f.key + ")"]; });
  }
  function rtChoices() { return draft.record_types.map(function (r) { return [r.key, labelOf(r.label, r.key)]; }); }
  function fieldDef(rtKey, key) { return fieldsOf(rtKey).filter(function (f) { return f.key === key; })[0]; }
  function unique(prefix, taken) {
    var k = prefix, n = 2;
    while (taken.indexOf(k) >= 0) { k = prefix + "_" + n; n += 1; }
    return k;
  }

  /* ------------------------------------------------------------ renames keep references */
  function renameInCond(c, old, neu) {
    if (Array.isArray(c)) { c.forEach(function (x) { renameInCond(x, old, neu); }); return; }
    if (!c || typeof c !== "object") return;
    if (c.field === old) c.field = neu;
    if (c.value && c.value.field === old) c.value.field = neu;
    ["all", "any", "not"].forEach(function (k) { if (c[k]) renameInCond(c[k], old, neu); });
  }
  function renameField(rt, old, neu) {
    if (rt.title === old) rt.title = neu;
    (rt.indexes || []).forEach(function (ix) { ix.forEach(function (k, i) { if (k === old) ix[i] = neu; }); });
    (rt.validations || []).forEach(function (v) { renameInCond(v.when, old, neu); });
    draft.views.forEach(function (v) {
      if (v.record_type !== rt.key) return;
      if (v.columns) v.columns = v.columns.map(function (k) { return k === old ? neu : k; });
      (v.sort || []).forEach(function (s) { if (s.field === old) s.field = neu; });
      ["group_by", "date_field", "end_field", "x", "value"].forEach(function (k) { if (v[k] === old) v[k] = neu; });
      renameInCond(v.filter, old, neu);
    });
    draft.forms.forEach(function (f) {
      if (f.record_type !== rt.key) return;
      (f.sections || []).forEach(function (s) { s.fields = s.fields.map(function (k) { return k === old ? neu : k; }); });
      var vw = f.visible_when || {};
      if (vw[old] !== undefined) { vw[neu] = vw[old]; delete vw[old]; }
      Object.keys(vw).forEach(function (k) { renameInCond(vw[k], old, neu); });
    });
  }
  function renameRecordType(rt, old, neu) {
    draft.views.concat(draft.forms).forEach(function (x) { if (x.record_type === old) x.record_type = neu; });
    draft.record_types.forEach(function (r) {
      (r.fields || []).forEach(function (f) { if (f.to === old) f.to = neu; if (f.from === old) f.from = neu; });
    });
    var orig = rt.renamed_from || old;
    if (base[orig] && neu !== orig) rt.renamed_from = orig;
    else if (neu === orig) delete rt.renamed_from;
  }
  function baseFields(rt) { return base[rt.renamed_from || rt.key] || []; }

  /* ------------------------------------------------------------ saving */
  var timer = null, pending = null;
  function status(msg, bad) { if (statusEl) { statusEl.textContent = msg; statusEl.classList.toggle("b-bad", !!bad); } }
  function changed(structural) {
    if (structural) render();
    status(T.saving);
    clearTimeout(timer);
    timer = setTimeout(save, 300);
  }
  function save() {
    timer = null;
    pending = fetch(boot.urls.save, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ data: draft })
    }).then(function (r) {
      if (!r.ok) throw new Error(String(r.status));
      return r.json();
    }).then(function (body) {
      problems = body.problems || [];
      showProblems();
      status(problems.length ? fmt(T.problems, { n: problems.length }) : T.saved, problems.length > 0);
    }).catch(function () { status(T.save_failed, true); })
      .finally(function () { pending = null; });
    return pending;
  }
  function flush() {
    if (timer) { clearTimeout(timer); return save(); }
    return pending || Promise.resolve();
  }
  var review = document.getElementById("b-review");
  if (review) review.addEventListener("click", function (e) {
    e.preventDefault();
    flush().then(function () { window.location.href = review.href; });
  });
  window.addEventListener("beforeunload", function (e) { if (timer || pending) { e.preventDefault(); e.returnValue = ""; } });

  /* ------------------------------------------------------------ problems next to their thing */
  function covers(dp, path) { return path === dp || path.indexOf(dp + ".") === 0 || path.indexOf(dp + "[") === 0; }
  function showProblems() {
    root.querySelectorAll(".b-problem").forEach(function (x) { x.remove(); });
    root.querySelectorAll(".b-has-problem").forEach(function (x) { x.classList.remove("b-has-problem"); });
    var box = document.getElementById("b-problems");
    box.innerHTML = "";
    box.hidden = !problems.length;
    if (problems.length) box.appendChild(h("p", { text: fmt(T.problems, { n: problems.length }) }));
    var list = h("ul", {}, []);
    problems.forEach(function (p) {
      list.appendChild(h("li", { class: "b-problem-item" }, [h("strong", { class: "b-where", text: p.where || "" }), ": " + p.message + (p.hint ? " (" + p.hint + ")" : ""),
        p.nav ? " " : null, p.nav ? goButton(p.nav, p.path) : null]));
      root.querySelectorAll("[data-nav-path]").forEach(function (el) { if (covers(el.dataset.navPath, p.path)) el.classList.add("b-has-problem"); });
      var best = null;
      root.querySelectorAll("[data-path]").forEach(function (el) {
        if (covers(el.dataset.path, p.path) && (!best || el.dataset.path.length > best.dataset.path.length)) best = el;
      });
      if (!best) return;
      best.classList.add("b-has-problem");
      var closed = best.closest("details");
      if (closed && !closed.open) closed.open = true;
      var slot = best.querySelector(":scope > .b-slot, :scope > summary > .b-slot") || best;
      slot.appendChild(h("p", { class: "b-problem", role: "alert", text: p.message + (p.hint ? " (" + p.hint + ")" : "") }));
    });
    box.appendChild(list);
  }

  /* a "Go there" button: select the holder, then bring the exact input into view */
  function goButton(nav, path) {
    return h("button", { type: "button", class: "button small b-go", text: T.go_there, onclick: function () {
      var m = /^(app|rt|view|form|wf)-(\d+)$/.exec(nav);
      if (!m) return;
      closeDialog();
      select(m[1], +m[2]);
      var best = null;
      root.querySelectorAll("[data-path]").forEach(function (el) {
        if (path && covers(el.dataset.path, path) && (!best || el.dataset.path.length > best.dataset.path.length)) best = el;
      });
      var target = best || root.querySelector(".b-editor");
      if (target) {
        var d = target.closest("details"); if (d) d.open = true;
        target.scrollIntoView({ block: "center" });
        var input = target.querySelector("input,select,textarea,button");
        if (input) input.focus();
      }
    } });
  }

  /* ------------------------------------------------------------ safe removal */
  function post(url, body) {
    return fetch(url, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body) }).then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); });
  }
  var dialogEl = null;
  function closeDialog() { if (dialogEl) { if (dialogEl.open) dialogEl.close(); dialogEl.remove(); dialogEl = null; } }
  function safeRemove(rtKey, fieldKey, name) {
    var body = { data: draft, record_type: rtKey, field: fieldKey };
    post(boot.urls.usages, body).then(function (ans) {
      closeDialog();
      var uses = ans.usages || [];
      var confirmBtn = h("button", { type: "button", id: "b-remove-confirm", class: "button danger",
        text: uses.length ? T.remove_with_uses : T.remove, onclick: function () {
          confirmBtn.disabled = true;
          post(boot.urls.remove, body).then(function (res) {
            closeDialog();
            draft = res.data;
            ["record_types", "views", "forms"].forEach(function (k) { if (!Array.isArray(draft[k])) draft[k] = []; });
            problems = res.problems || [];
            if (fieldKey === null) sel = { kind: "app", i: 0 };
            render();
            status(problems.length ? fmt(T.problems, { n: problems.length }) : T.saved, problems.length > 0);
          }).catch(function () { status(T.save_failed, true); closeDialog(); });
        } });
      dialogEl = h("dialog", { class: "b-dialog", id: "b-remove-dialog", "aria-labelledby": "b-remove-title" }, [
        h("h2", { id: "b-remove-title", text: fmt(T.confirm_remove, { what: name }) }),
        h("p", { text: uses.length ? fmt(T.used_in, { n: uses.length }) : T.not_used }),
        uses.length ? h("ul", { class: "b-uses" }, uses.map(function (u) {
          return h("li", {}, [h("span", { text: u.sentence }), u.nav ? " " : null, u.nav ? goButton(u.nav, u.path) : null]);
        })) : null,
        h("div", { class: "actions" }, [
          h("button", { type: "button", class: "button", id: "b-remove-cancel", text: T.cancel, onclick: closeDialog }),
          confirmBtn
        ])
      ]);
      document.body.appendChild(dialogEl);
      if (dialogEl.showModal) dialogEl.showModal(); else dialogEl.setAttribute("open", "");
      confirmBtn.focus();
    }).catch(function () { status(T.save_failed, true); });
  }

  /* ------------------------------------------------------------ selection */
  function parseHash() {
    var m = /^#(app|rt|view|form)-(\d+)$/.exec(window.location.hash || "");
    return m ? { kind: m[1], i: +m[2] } : { kind: "app", i: 0 };
  }
  function select(kind, i) {
    sel = { kind: kind, i: i };
    if (window.history.replaceState) window.history.replaceState(null, "", "#" + kind + "-" + i);
    render();
  }
  function current() {
    var list = { rt: draft.record_types, view: draft.views, form: draft.forms }[sel.kind];
    if (!list || !list[sel.i]) { sel = { kind: "app", i: 0 }; return null; }
    return list[sel.i];
  }

  /* ------------------------------------------------------------ navigation column */
  function navList(kind, list, title, addLabel, addFn, path) {
    var ul = h("ul", { class: "b-list" }, list.map(function (item, i) {
      var active = sel.kind === kind && sel.i === i;
      return h("li", { "data-nav-path": pathAt(path, i), "data-path-nav": "", class: active ? "active" : "" }, [
        h("button", { type: "button", class: "b-nav-item", "aria-current": active ? "true" : null,
          onclick: function () { select(kind, i); } }, [labelOf(item.label, item.key || "?"), " ", h("code", { class: "small", text: item.key || "" })]),
        buttons(list, i, path, item.key || "", kind === "rt" ? function () { safeRemove(item.key, null, labelOf(item.label, item.key)); } : null)
      ]);
    }));
    return h("section", { class: "b-nav-section" }, [
      h("h2", { text: title }), ul,
      h("button", { type: "button", class: "button small b-add-" + kind, onclick: addFn, text: "+ " + addLabel })
    ]);
  }
  function renderNav() {
    var active = sel.kind === "app";
    return h("nav", { class: "b-nav", "aria-label": T.record_types }, [
      h("button", { type: "button", class: "b-nav-item b-app-item", "aria-current": active ? "true" : null,
        "data-nav-path": "label", onclick: function () { select("app", 0); }, text: T.app_settings }),
      navList("rt", draft.record_types, T.record_types, T.add_record_type, addRecordType, "record_types"),
      navList("view", draft.views, T.views, T.add_view, addView, "views"),
      navList("form", draft.forms, T.forms, T.add_form, addForm, "forms")
    ]);
  }
  function addRecordType() {
    var key = unique("new_type", draft.record_types.map(function (r) { return r.key; }));
    draft.record_types.push({ key: key, label: { en: "New type" }, title: "name",
      fields: [{ key: "name", type: "text", label: { en: "Name" }, required: true }] });
    focusAfter = '[data-path="record_types[' + (draft.record_types.length - 1) + '].key"] input';
    sel = { kind: "rt", i: draft.record_types.length - 1 };
    changed(true);
  }
  function addView() {
    var rt = draft.record_types[0];
    if (!rt) return;
    var key = unique(rt.key + "_table", draft.views.map(function (v) { return v.key; }));
    draft.views.push({ key: key, type: "table", record_type: rt.key, label: { en: "New view" },
      columns: (rt.fields || []).slice(0, 5).map(function (f) { return f.key; }) });
    sel = { kind: "view", i: draft.views.length - 1 };
    changed(true);
  }
  function addForm() {
    var rt = draft.record_types[0];
    if (!rt) return;
    var key = unique(rt.key + "_form", draft.forms.map(function (f) { return f.key; }));
    draft.forms.push({ key: key, record_type: rt.key, label: { en: "New form" },
      sections: [{ fields: (rt.fields || []).map(function (f) { return f.key; }) }] });
    sel = { kind: "form", i: draft.forms.length - 1 };
    changed(true);
  }

  /* ------------------------------------------------------------ app settings */
  function renderApp() {
    return h("section", { class: "card b-editor", "data-path": "" }, [
      h("h2", { text: T.app_settings }),
      h("div", { class: "b-grid" }, [
        field("id", "id", h("input", { value: draft.id, readonly: true })),
        text(draft, "version", T.version, "version"),
        labelPair(draft, "label", "", [T.label_en, T.label_zh]),
        labelPair(draft, "description", "", [T.help_en, T.help_zh])
      ]),
      draft.record_types.length ? null : h("div", { class: "empty" }, [h("p", { text: T.empty_rts }),
        h("button", { type: "button", class: "button primary", onclick: addRecordType, text: "+ " + T.add_record_type })])
    ]);
  }

  /* ------------------------------------------------------------ record types and fields */
  function renderRecordType(rt, i) {
    var path = "record_types[" + i + "]";
    var keyInput = h("input", { value: rt.key, onchange: function () {
      var old = rt.key, neu = keyInput.value.trim();
      rt.key = neu; renameRecordType(rt, old, neu); changed(true);
    } });
    var fl = rt.fields = rt.fields || [];
    var ul = h("ul", { class: "b-fields" }, fl.map(function (f, j) { return renderFieldRow(rt, f, j, path + ".fields"); }));
    sortable(ul, fl);
    return h("section", { class: "card b-editor", "data-path": path }, [
      h("div", { class: "section-head" }, [h("h2", { text: T.record_type + ": " + labelOf(rt.label, rt.key) })]),
      h("div", { class: "b-grid" }, [
        field(T.key, path + ".key", keyInput),
        labelPair(rt, "label", path, [T.label_en, T.label_zh]),
        choice(rt, "title", T.title_field, path + ".title", fieldChoices(rt.key))
      ]),
      rt.renamed_from ? h("p", { class: "muted small", text: fmt(T.renamed_from, { old: rt.renamed_from }) }) : null,
      h("h3", { text: T.fields }),
      fl.length ? null : h("p", { class: "muted", text: T.empty_fields }),
      h("div", { class: "b-slot", "data-path": path + ".fields" }),
      ul,
      addFieldForm(rt)
    ]);
  }
  function addFieldForm(rt) {
    var key = h("input", { id: "b-new-field-key", placeholder: T.new_key, class: "b-new-field-key" });
    var type = h("select", { id: "b-new-field-type", class: "b-new-field-type" }, Object.keys(FT).map(function (t) { return h("option", { value: t, text: t, selected: t === "text" }); }));
    var add = function () {
      var f = { key: key.value.trim() || unique("field", rt.fields.map(function (x) { return x.key; })), type: type.value };
      f.label = { en: f.key.charAt(0).toUpperCase() + f.key.slice(1).replace(/_/g, " ") };
      initType(f);
      rt.fields.push(f);
      openFields.add(f);
      focusAfter = "#b-new-field-key";
      changed(true);
    };
    key.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); add(); } });
    return h("div", { class: "b-add-field" }, [
      h("label", { for: key.id, text: T.key }), key,
      h("label", { for: type.id, text: T.type }), type,
      h("button", { type: "button", class: "button b-add-field-button", onclick: add, text: "+ " + T.add_field })
    ]);
  }
  function initType(f) {
    var spec = FT[f.type] || { options: {}, required: [] };
    Object.keys(f).forEach(function (k) {
      if (["key", "type", "label", "help", "required", "unique", "renamed_from"].indexOf(k) < 0 && !(k in spec.options)) delete f[k];
    });
    if ((f.type === "select" || f.type === "multi_select") && !f.options) f.options = [{ value: "option_1", label: { en: "Option 1" } }];
    if ((f.type === "link" || f.type === "link_many") && !f.to && draft.record_types[0]) f.to = draft.record_types[0].key;
  }
  function renderFieldRow(rt, f, j, listPath) {
    var path = pathAt(listPath, j);
    var details = h("details", { "data-path": path, open: openFields.has(f),
      ontoggle: function () { if (details.open) openFields.add(f); else openFields.delete(f); } }, [
      h("summary", {}, [
        handle(f.key),
        h("code", { class: "b-fkey", text: f.key }), " ",
        h("span", { class: "chip", text: f.type }), " ",
        h("span", { text: labelOf(f.label, "") }),
        f.required ? h("span", { class: "req", text: "*" }) : null,
        buttons(rt.fields, j, listPath, f.key, function () { safeRemove(rt.key, f.key, labelOf(f.label, f.key)); }),
        h("span", { class: "b-slot" })
      ]),
      h("div", { class: "b-field-body" }, fieldEditor(rt, f, path))
    ]);
    return h("li", { "data-index": j, class: "b-field-row" }, [details]);
  }
  function fieldEditor(rt, f, path) {
    var keyInput = h("input", { value: f.key, onchange: function () {
      var old = f.key, neu = keyInput.value.trim();
      var orig = f.renamed_from || old;
      f.key = neu;
      if (baseFields(rt).indexOf(orig) >= 0 && neu !== orig) f.renamed_from = orig;
      else if (neu === orig) delete f.renamed_from;
      renameField(rt, old, neu);
      changed(true);
    } });
    var typeSel = h("select", { onchange: function () { f.type = typeSel.value; initType(f); changed(true); } },
      Object.keys(FT).map(function (t) { return h("option", { value: t, text: t, selected: t === f.type }); }));
    var spec = FT[f.type] || { options: {}, required: [] };
    var opts = Object.keys(spec.options).map(function (name) {
      var label = name + (spec.required.indexOf(name) >= 0 ? " *" : "");
      return optionInput(f, name, spec.options[name], path + "." + name, label, rt);
    });
    return [
      h("div", { class: "b-grid" }, [
        field(T.key, path + ".key", keyInput),
        field(T.type, path + ".type", typeSel),
        labelPair(f, "label", path, [T.label_en, T.label_zh]),
        labelPair(f, "help", path, [T.help_en, T.help_zh]),
        check(f, "required", T.required, path + ".required"),
        check(f, "unique", T.unique, path + ".unique")
      ]),
      f.renamed_from ? h("p", { class: "muted small b-renamed", text: fmt(T.renamed_from, { old: f.renamed_from }) }) : null,
      opts.length ? h("h4", { text: T.options }) : null,
      h("div", { class: "b-grid b-options" }, opts)
    ];
  }
  function optionInput(obj, name, schema, path, label, rt) {
    var ref = schema.$ref || "";
    if (name === "to" || name === "from") return choice(obj, name, label, path, rtChoices(), { blank: T.choose });
    if (/label\.json$/.test(ref)) return labelPair(obj, name, path.replace(/\.[^.]+$/, ""), [label + " (en)", label + " (中文)"]);
    if (schema.enum) return choice(obj, name, label, path, schema.enum, { structural: false });
    if (schema.type === "boolean") return check(obj, name, label, path);
    if (schema.type === "integer" || schema.type === "number") {
      return text(obj, name, label, path, { type: "number", step: schema.type === "integer" ? "1" : "any" });
    }
    if (schema.type === "array" && schema.items && schema.items.type === "object") return rowsEditor(obj, name, schema.items, path, label);
    if (schema.type === "array") {
      return text(obj, name, label + " (" + T.comma_list + ")", path, {
        set: function (v) { setOpt(obj, name, v ? v.split(",").map(function (s) { return s.trim(); }).filter(Boolean) : ""); }
      });
    }
    var input = text(obj, name, label, path, { multiline: name === "formula", list: /identifier$/.test(ref) ? "b-field-keys" : null,
      placeholder: schema.description || (/iso_date/.test(ref) ? "2026-01-31" : null) });
    var shown = input.querySelector("input,textarea");
    if (Array.isArray(obj[name])) shown.value = obj[name].join(", ");
    return input;
  }
  function rowsEditor(obj, name, items, path, label) {
    var rows = obj[name] = obj[name] || [];
    var props = Object.keys(items.properties || {});
    var ul = h("ul", { class: "b-rows" }, rows.map(function (row, k) {
      var rowPath = pathAt(path, k);
      return h("li", { "data-index": k, "data-path": rowPath }, [handle(name)].concat(props.map(function (p) {
        var ps = items.properties[p];
        if (/label\.json$/.test(ps.$ref || "")) return labelPair(row, p, rowPath, [p + " (en)", p + " (中文)"]);
        return text(row, p, p, rowPath + "." + p, { structural: p === "value" });
      })).concat([buttons(rows, k, path, row.value || String(k)), h("span", { class: "b-slot" })]));
    }));
    sortable(ul, rows);
    return h("fieldset", { class: "b-rows-box", "data-path": path }, [
      h("legend", { text: label }), ul,
      h("span", { class: "b-slot" }),
      h("button", { type: "button", class: "button small", text: "+ " + T.add_option, onclick: function () {
        rows.push({ value: "option_" + (rows.length + 1) }); changed(true);
      } })
    ]);
  }

  /* ------------------------------------------------------------ condition editor */
  function condRoot(holder, prop, rtKey, path) {
    if (!holder[prop]) {
      return h("div", { class: "b-cond-empty", "data-path": path }, [
        h("button", { type: "button", class: "button small b-add-cond", text: "+ " + T.add_condition, onclick: function () {
          holder[prop] = { all: [newLeaf(rtKey)] }; changed(true);
        } })
      ]);
    }
    if (!holder[prop].all && !holder[prop].any) holder[prop] = { all: [holder[prop]] };
    return condGroup(holder[prop], rtKey, path, function () { delete holder[prop]; });
  }
  function newLeaf(rtKey) {
    var f = fieldsOf(rtKey)[0];
    var ops = f ? opsFor(f) : ["eq"];
    return { field: f ? f.key : "", op: ops.indexOf("eq") >= 0 ? "eq" : ops[0] };
  }
  function opsFor(f) { return (FT[f.type] || {}).operators || ["eq", "ne"]; }
  function condGroup(node, rtKey, path, onEmpty) {
    var mode = node.all ? "all" : "any";
    var items = node[mode];
    var modeSel = h("select", { class: "b-cond-mode", "aria-label": T.match, onchange: function () {
      node[modeSel.value] = items; delete node[mode]; changed(true);
    } }, ["all", "any"].map(function (m) { return h("option", { value: m, text: T[m], selected: m === mode }); }));
    var remove = function (k) { return function () { items.splice(k, 1); if (!items.length) onEmpty(); changed(true); }; };
    var kids = items.map(function (item, k) {
      var p = path + "." + mode + "[" + k + "]";
      if (item.all || item.any) return condGroup(item, rtKey, p, remove(k));
      if (item.not) {
        var inner = item.not.all || item.not.any ? item.not : (item.not = { all: [item.not] });
        return h("div", { class: "b-cond-not" }, [h("span", { class: "chip", text: T.not }),
          condGroup(inner, rtKey, p + ".not", remove(k))]);
      }
      return condLeaf(item, rtKey, p, remove(k));
    });
    return h("div", { class: "b-cond-group", "data-path": path }, [
      h("div", { class: "b-cond-head" }, [h("span", { text: T.match + " " }), modeSel, h("span", { class: "b-slot" })])
    ].concat(kids).concat([
      h("div", { class: "b-cond-actions" }, [
        h("button", { type: "button", class: "button small b-add-cond", text: "+ " + T.add_condition, onclick: function () { items.push(newLeaf(rtKey)); changed(true); } }),
        h("button", { type: "button", class: "button small", text: "+ " + T.add_group, onclick: function () { items.push({ any: [newLeaf(rtKey)] }); changed(true); } })
      ])
    ]));
  }
  function condLeaf(leaf, rtKey, path, onRemove) {
    var f = fieldDef(rtKey, leaf.field);
    var ops = f ? opsFor(f) : Object.keys(OPS);
    var fieldSel = h("select", { class: "b-cond-field", "aria-label": T.fields, onchange: function () {
      leaf.field = fieldSel.value;
      var nf = fieldDef(rtKey, leaf.field);
      if (nf && opsFor(nf).indexOf(leaf.op) < 0) leaf.op = opsFor(nf)[0];
      delete leaf.value; changed(true);
    } }, [h("option", { value: "", text: T.choose })].concat(fieldsOf(rtKey).map(function (x) {
      return h("option", { value: x.key, text: labelOf(x.label, x.key), selected: x.key === leaf.field });
    })));
    var opSel = h("select", { class: "b-cond-op", "aria-label": "op", onchange: function () {
      leaf.op = opSel.value;
      if (NO_VALUE.indexOf(leaf.op) >= 0) delete leaf.value;
      changed(true);
    } }, ops.map(function (o) { return h("option", { value: o, text: OPS[o] || o, selected: o === leaf.op }); }));
    return h("div", { class: "b-cond-leaf", "data-path": path }, [
      fieldSel, opSel, valueInput(leaf, f, path),
      h("button", { type: "button", class: "icon-button b-remove", "aria-label": T.remove, title: T.remove, text: "✕", onclick: onRemove }),
      h("span", { class: "b-slot" })
    ]);
  }
  function parseValue(raw, f) {
    if (raw.charAt(0) === "@") return { field: raw.slice(1) };
    if (f && NUMERIC.indexOf(f.type) >= 0 && raw !== "" && !isNaN(Number(raw))) return Number(raw);
    if (f && f.type === "boolean") return raw === "true";
    return raw;
  }
  function showValue(v) {
    if (v === undefined || v === null) return "";
    if (Array.isArray(v)) return v.map(showValue).join(", ");
    if (typeof v === "object") return v.field ? "@" + v.field : JSON.stringify(v);
    return String(v);
  }
  function valueInput(leaf, f, path) {
    if (NO_VALUE.indexOf(leaf.op) >= 0) return h("span", { class: "b-cond-novalue" });
    var opts = f && (f.type === "select" || f.type === "multi_select") ? f.options || [] : null;
    if (opts && LIST_OPS.concat(["between"]).indexOf(leaf.op) < 0) {
      var s = h("select", { class: "b-cond-value", "aria-label": "value", onchange: function () { leaf.value = s.value; changed(); } },
        [h("option", { value: "", text: T.choose })].concat(opts.map(function (o) {
          return h("option", { value: o.value, text: labelOf(o.label, o.value), selected: o.value === leaf.value });
        })));
      return s;
    }
    if (f && f.type === "boolean") {
      var b = h("select", { class: "b-cond-value", "aria-label": "value", onchange: function () { leaf.value = b.value === "true"; changed(); } },
        ["true", "false"].map(function (x) { return h("option", { value: x, text: x, selected: String(leaf.value) === x }); }));
      if (leaf.value === undefined) leaf.value = true;
      return b;
    }
    var input = h("input", { class: "b-cond-value", "aria-label": "value", value: showValue(leaf.value), title: T.value_hint,
      onchange: function () {
        var raw = input.value.trim();
        if (LIST_OPS.indexOf(leaf.op) >= 0 || leaf.op === "between") {
          leaf.value = raw ? raw.split(",").map(function (x) { return parseValue(x.trim(), f); }) : [];
        } else if (leaf.op === "within_last_days" || leaf.op === "within_next_days") {
          leaf.value = Number(raw);
        } else leaf.value = parseValue(raw, f);
        changed();
      } });
    return input;
  }

  /* ------------------------------------------------------------ views */
  var VIEW_FIELD_TYPES = { group_by: null, date_field: ["date", "datetime"], end_field: ["date", "datetime"] };
  function renderView(v, i) {
    var path = "views[" + i + "]";
    var spec = VT[v.type] || { options: {}, required: [] };
    var settings = Object.keys(spec.options).map(function (name) {
      var p = path + "." + name, s = spec.options[name];
      var label = name + (spec.required.indexOf(name) >= 0 ? " *" : "");
      if (name === "columns") return columnsEditor(v, p);
      if (name === "filter") return h("div", { class: "b-block" }, [h("h3", { text: T.filter }), condRoot(v, "filter", v.record_type, p)]);
      if (name === "sort") return sortEditor(v, p);
      if (name === "group_by") return choice(v, name, label, p, fieldChoices(v.record_type, v.type === "kanban" ? ["select"] : null));
      if (name in VIEW_FIELD_TYPES || name === "x" || name === "value") return choice(v, name, label, p, fieldChoices(v.record_type, VIEW_FIELD_TYPES[name]));
      return optionInput(v, name, s, p, label, null);
    });
    var typeSel = choice(v, "type", T.type, path + ".type", Object.keys(VT), { blank: false, set: function (t) {
      v.type = t;
      var opts = (VT[t] || { options: {} }).options;
      Object.keys(v).forEach(function (k) { if (["key", "type", "record_type", "label"].indexOf(k) < 0 && !(k in opts)) delete v[k]; });
      typeDefaults(v);
    } });
    return h("section", { class: "card b-editor", "data-path": path }, [
      h("h2", { text: T.views + ": " + labelOf(v.label, v.key) }),
      h("div", { class: "b-grid" }, [
        text(v, "key", T.key, path + ".key", { structural: true }),
        typeSel,
        choice(v, "record_type", T.record_type, path + ".record_type", rtChoices(), { blank: T.choose, set: function (key) {
          // settings name fields of the old record type: start again from the new one's
          Object.keys(v).forEach(function (k) { if (["key", "type", "record_type", "label"].indexOf(k) < 0) delete v[k]; });
          v.record_type = key;
          v.columns = fieldsOf(key).slice(0, 5).map(function (f) { return f.key; });
          typeDefaults(v);
        } }),
        labelPair(v, "label", path, [T.label_en, T.label_zh])
      ])
    ].concat(settings));
  }
  function typeDefaults(v) {
    var first = function (types) { return (fieldChoices(v.record_type, types)[0] || [""])[0]; };
    if (!(v.columns && v.columns.length) || !("columns" in (VT[v.type] || { options: {} }).options)) delete v.columns;
    if (v.type === "kanban" && !v.group_by) v.group_by = first(["select"]);
    if (v.type === "calendar" && !v.date_field) v.date_field = first(["date", "datetime"]);
    if (v.type === "chart") { v.chart_type = v.chart_type || "bar"; v.x = v.x || first(null); }
  }
  function columnsEditor(v, path) {
    var cols = v.columns = v.columns || [];
    var ul = h("ul", { class: "b-chips" }, cols.map(function (c, k) {
      var f = fieldDef(v.record_type, c);
      return h("li", { "data-index": k, "data-path": pathAt(path, k) }, [handle(c), h("span", { text: f ? labelOf(f.label, c) : c }),
        buttons(cols, k, path, c), h("span", { class: "b-slot" })]);
    }));
    sortable(ul, cols);
    var rest = fieldChoices(v.record_type).filter(function (c) { return cols.indexOf(c[0]) < 0; });
    var add = h("select", { class: "b-add-column", "aria-label": T.add_column }, [h("option", { value: "", text: "+ " + T.add_column })].concat(
      rest.map(function (c) { return h("option", { value: c[0], text: c[1] }); })));
    add.addEventListener("change", function () { if (add.value) { cols.push(add.value); changed(true); } });
    if (!cols.length) delete v.columns;
    return h("div", { class: "b-block", "data-path": path }, [h("h3", { text: T.columns }), h("span", { class: "b-slot" }), ul, add]);
  }
  function sortEditor(v, path) {
    var rows = v.sort || [];
    var kids = rows.map(function (s, k) {
      var p = pathAt(path, k);
      return h("div", { class: "b-sort-row", "data-path": p }, [
        choice(s, "field", T.fields, p + ".field", fieldChoices(v.record_type), { blank: T.choose }),
        choice(s, "dir", "", p + ".dir", [["asc", T.ascending], ["desc", T.descending]], { blank: false }),
        buttons(rows, k, path, s.field || ""), h("span", { class: "b-slot" })
      ]);
    });
    return h("div", { class: "b-block", "data-path": path }, [h("h3", { text: T.sort })].concat(kids).concat([
      h("button", { type: "button", class: "button small", text: "+ " + T.add_sort, onclick: function () {
        v.sort = rows; rows.push({ field: (fieldChoices(v.record_type)[0] || [""])[0], dir: "asc" }); changed(true);
      } })
    ]));
  }

  /* ------------------------------------------------------------ forms */
  function renderForm(fm, i) {
    var path = "forms[" + i + "]";
    var secs = fm.sections = fm.sections || [];
    var used = [];
    secs.forEach(function (s) { used = used.concat(s.fields || []); });
    var sections = secs.map(function (s, k) { return renderSection(fm, s, k, path + ".sections", used); });
    return h("section", { class: "card b-editor", "data-path": path }, [
      h("h2", { text: T.forms + ": " + labelOf(fm.label, fm.key) }),
      h("div", { class: "b-grid" }, [
        text(fm, "key", T.key, path + ".key", { structural: true }),
        choice(fm, "record_type", T.record_type, path + ".record_type", rtChoices(), { blank: T.choose, set: function (key) {
          fm.record_type = key;
          fm.sections = [{ fields: fieldsOf(key).map(function (f) { return f.key; }) }];
          delete fm.visible_when;
        } }),
        labelPair(fm, "label", path, [T.label_en, T.label_zh]),
        check(fm, "public", T.public, path + ".public")
      ]),
      h("h3", { text: T.sections }), h("span", { class: "b-slot" })
    ].concat(sections).concat([
      h("button", { type: "button", class: "button small", text: "+ " + T.add_section, onclick: function () {
        var rest = fieldsOf(fm.record_type).map(function (f) { return f.key; }).filter(function (k) { return used.indexOf(k) < 0; });
        secs.push({ title: { en: "Section " + (secs.length + 1) }, fields: rest.length ? [rest[0]] : [] }); changed(true);
      } }),
      visibilityEditor(fm, path)
    ]));
  }
  function renderSection(fm, s, k, listPath, used) {
    var path = pathAt(listPath, k);
    var fl = s.fields = s.fields || [];
    var ul = h("ul", { class: "b-chips" }, fl.map(function (key, j) {
      var f = fieldDef(fm.record_type, key);
      return h("li", { "data-index": j, "data-path": path + ".fields[" + j + "]" }, [handle(key), h("span", { text: f ? labelOf(f.label, key) : key }),
        buttons(fl, j, path + ".fields", key), h("span", { class: "b-slot" })]);
    }));
    sortable(ul, fl);
    var rest = fieldChoices(fm.record_type).filter(function (c) { return used.indexOf(c[0]) < 0; });
    var add = h("select", { class: "b-add-section-field", "aria-label": T.add_field }, [h("option", { value: "", text: "+ " + T.add_field })].concat(
      rest.map(function (c) { return h("option", { value: c[0], text: c[1] }); })));
    add.addEventListener("change", function () { if (add.value) { fl.push(add.value); changed(true); } });
    return h("fieldset", { class: "section b-section", "data-path": path }, [
      h("legend", {}, [labelOf(s.title, "#" + (k + 1)), " ", buttons(fm.sections, k, listPath, labelOf(s.title, "#" + (k + 1)))]),
      h("div", { class: "b-grid" }, [labelPair(s, "title", path, [T.section_title_en, T.section_title_zh])]),
      h("span", { class: "b-slot" }), ul, add
    ]);
  }
  function visibilityEditor(fm, path) {
    var vw = fm.visible_when || {};
    var p = path + ".visible_when";
    var rules = Object.keys(vw).map(function (key) {
      var f = fieldDef(fm.record_type, key);
      return h("div", { class: "b-rule", "data-path": p + "." + key }, [
        h("p", {}, [h("strong", { text: f ? labelOf(f.label, key) : key }), " " + T.shown_when + " ",
          h("button", { type: "button", class: "icon-button b-remove", text: "✕", "aria-label": T.remove, onclick: function () {
            delete vw[key]; if (!Object.keys(vw).length) delete fm.visible_when; changed(true);
          } })]),
        condRoot(vw, key, fm.record_type, p + "." + key)
      ]);
    });
    var free = fieldChoices(fm.record_type).filter(function (c) { return !(c[0] in vw); });
    var add = h("select", { class: "b-add-rule", "aria-label": T.add_rule }, [h("option", { value: "", text: "+ " + T.add_rule })].concat(
      free.map(function (c) { return h("option", { value: c[0], text: c[1] }); })));
    add.addEventListener("change", function () {
      if (!add.value) return;
      fm.visible_when = vw;
      var other = fieldsOf(fm.record_type).filter(function (f) { return f.key !== add.value; })[0];
      vw[add.value] = { all: [{ field: other ? other.key : add.value, op: "is_not_empty" }] };
      changed(true);
    });
    return h("div", { class: "b-block", "data-path": p }, [h("h3", { text: T.visibility }), h("span", { class: "b-slot" })].concat(rules).concat([add]));
  }

  /* ------------------------------------------------------------ render */
  function renderMain() {
    var item = current();
    if (!item) return renderApp();
    if (sel.kind === "rt") return renderRecordType(item, sel.i);
    if (sel.kind === "view") return renderView(item, sel.i);
    return renderForm(item, sel.i);
  }
  function datalist() {
    var keys = {};
    draft.record_types.forEach(function (r) { (r.fields || []).forEach(function (f) { keys[f.key] = 1; }); });
    return h("datalist", { id: "b-field-keys" }, Object.keys(keys).map(function (k) { return h("option", { value: k }); }));
  }
  function render() {
    var scroll = window.scrollY;
    root.innerHTML = "";
    root.appendChild(h("div", { class: "b-layout" }, [renderNav(), h("div", { class: "b-main" }, [renderMain()]), datalist()]));
    showProblems();
    window.scrollTo(0, scroll);
    if (focusAfter) { var el = root.querySelector(focusAfter); if (el) el.focus(); focusAfter = null; }
  }
  render();
  status(problems.length ? fmt(T.problems, { n: problems.length }) : T.saved, problems.length > 0);
})();
