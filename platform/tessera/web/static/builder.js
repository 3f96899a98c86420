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
  var VW = T.view_words ? JSON.parse(T.view_words) : { types: {}, settings: {}, chart_settings: {}, enums: {} };
  function typeName(t) { var p = (boot.palette || []).filter(function (x) { return x.type === t; })[0]; return p ? p.icon + " " + p.name : t; }
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
    renameFieldElsewhere(rt, old, neu);
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
  function renameInSteps(steps, rtKey, ownerRt, old, neu, word) {
    (steps || []).forEach(function (st) {
      if (!st || typeof st !== "object") return;
      var target = st.record_type || ownerRt;
      if (target === rtKey) {
        if (st.values && old in st.values) { st.values[neu] = st.values[old]; delete st.values[old]; }
        if (st.field === old) st.field = neu;
        if (st.fields && typeof st.fields === "object" && !Array.isArray(st.fields) && old in st.fields) { st.fields[neu] = st.fields[old]; delete st.fields[old]; }
      }
      if (ownerRt === rtKey) {
        if (st.condition) renameInCond(st.condition, old, neu);
        Object.keys(st).forEach(function (k) { if (typeof st[k] === "string") st[k] = st[k].replace(word, "record." + neu); });
      }
      renameInSteps(st.then, rtKey, ownerRt, old, neu, word);
      renameInSteps(st["else"], rtKey, ownerRt, old, neu, word);
    });
  }
  /* renames reach workflows, roles and computed fields too (the YAML validator would flag them) */
  function renameFieldElsewhere(rt, old, neu) {
    var inFormula = new RegExp("(^|[^A-Za-z0-9_.])" + old + "(?![A-Za-z0-9_])", "g");
    var word = new RegExp("record\\." + old + "(?![A-Za-z0-9_])", "g");
    draft.record_types.forEach(function (r) {
      (r.fields || []).forEach(function (f) {
        if (r === rt && f.type === "formula" && f.formula) f.formula = f.formula.replace(inFormula, function (m, pre) { return pre + neu; });
        if (r === rt && f.type === "lookup" && f.link === old) f.link = neu;
        if (f.type === "lookup") { var link = (r.fields || []).filter(function (x) { return x.key === f.link; })[0]; if (link && link.to === rt.key && f.field === old) f.field = neu; }
        if (f.type === "rollup" && f.from === rt.key) { if (f.via === old) f.via = neu; if (f.field === old) f.field = neu; }
      });
    });
    (draft.workflows || []).forEach(function (wf) {
      var tr = wf.trigger || {};
      if (wf.record_type === rt.key) {
        if (tr.field === old) tr.field = neu;
        if (Array.isArray(tr.fields)) tr.fields = tr.fields.map(function (k) { return k === old ? neu : k; });
        if (wf.when) renameInCond(wf.when, old, neu);
      }
      renameInSteps(wf.actions, rt.key, wf.record_type, old, neu, word);
    });
    (draft.roles || []).forEach(function (role) {
      var perm = (role.permissions || {})[rt.key];
      if (!perm || typeof perm !== "object") return;
      if (perm.fields && old in perm.fields) { perm.fields[neu] = perm.fields[old]; delete perm.fields[old]; }
      ["create", "read", "update", "delete"].forEach(function (op) { if (perm[op] && typeof perm[op] === "object") renameInCond(perm[op], old, neu); });
    });
  }
  function renameRecordType(rt, old, neu) {
    draft.views.concat(draft.forms).forEach(function (x) { if (x.record_type === old) x.record_type = neu; });
    (draft.workflows || []).forEach(function (wf) {
      if (wf.record_type === old) wf.record_type = neu;
      (function walk(steps) { (steps || []).forEach(function (st) { if (st && st.record_type === old) st.record_type = neu; if (st) { walk(st.then); walk(st["else"]); } }); })(wf.actions);
    });
    (draft.roles || []).forEach(function (role) {
      var p = role.permissions || {};
      if (old in p) { p[neu] = p[old]; delete p[old]; }
    });
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
  /* saves run one after the other: two requests in flight could be stored out of order */
  function save() {
    timer = null;
    var body = JSON.stringify({ data: draft });
    var send = function () {
      return fetch(boot.urls.save, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
        body: body
      }).then(function (r) {
        if (!r.ok) throw new Error(String(r.status));
        return r.json();
      });
    };
    var mine = (pending ? pending.then(send, send) : send()).then(function (answer) {
      if (pending !== mine || timer) return;  // a newer save follows: it reports
      problems = answer.problems || [];
      showProblems();
      status(problems.length ? fmt(T.problems, { n: problems.length }) : T.saved, problems.length > 0);
    }).catch(function () { if (pending === mine) status(T.save_failed, true); })
      .finally(function () { if (pending === mine) pending = null; });
    pending = mine;
    return mine;
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
    var m = /^#(app|rt|view|form|wf)-(\d+)$/.exec(window.location.hash || "");
    return m ? { kind: m[1], i: +m[2] } : { kind: "app", i: 0 };
  }
  function select(kind, i) {
    sel = { kind: kind, i: i };
    if (window.history.replaceState) window.history.replaceState(null, "", "#" + kind + "-" + i);
    render();
  }
  function current() {
    var list = { rt: draft.record_types, view: draft.views, form: draft.forms, wf: draft.workflows || [] }[sel.kind];
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
      navList("form", draft.forms, T.forms, T.add_form, addForm, "forms"),
      navList("wf", draft.workflows = draft.workflows || [], T.workflows, T.add_workflow, addWorkflow, "workflows")
    ]);
  }
  function addRecordType() {
    // a new type comes with a table and a form, and opens in the form designer
    var key = unique("new_type", draft.record_types.map(function (r) { return r.key; }));
    var rt = { key: key, label: {}, title: "name", fields: [{ key: "name", type: "text", label: {}, required: true }] };
    rt.label[LOC] = T.new_type;
    rt.fields[0].label[LOC] = T.name;
    draft.record_types.push(rt);
    autoKeys.add(rt);
    draft.views.push({ key: unique(key + "_table", draft.views.map(function (v) { return v.key; })), type: "table", record_type: key,
      label: Object.assign({}, rt.label), columns: ["name"] });
    draft.forms.push({ key: unique(key + "_form", draft.forms.map(function (f) { return f.key; })), record_type: key,
      label: Object.assign({}, rt.label), sections: [{ fields: ["name"] }] });
    designer.sel = null;
    focusAfter = "#b-rt-label";
    sel = { kind: "form", i: draft.forms.length - 1 };
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
      addFieldForm(rt),
      validationsEditor(rt, path),
      indexesEditor(rt, path)
    ]);
  }
  function addFieldForm(rt) {
    var key = h("input", { id: "b-new-field-key", placeholder: T.new_key, class: "b-new-field-key" });
    var type = h("select", { id: "b-new-field-type", class: "b-new-field-type" }, Object.keys(FT).map(function (t) { return h("option", { value: t, text: typeName(t), selected: t === "text" }); }));
    var add = function () {
      var f = { key: key.value.trim() || unique("field", rt.fields.map(function (x) { return x.key; })), type: type.value };
      f.label = { en: f.key.charAt(0).toUpperCase() + f.key.slice(1).replace(/_/g, " ") };
      initType(f);
      rt.fields.push(f);
      openFields.add(f);
      placeNewField(rt, f.key);
      focusAfter = "#b-new-field-key";
      changed(true);
    };
    key.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); add(); } });
    var tick = h("input", { type: "checkbox", checked: designer.addToTable, onchange: function () { designer.addToTable = tick.checked; } });
    return h("div", { class: "b-add-field" }, [
      h("label", { class: "check small" }, [tick, " " + T.add_to_form_table]),
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
        h("span", { class: "chip", title: f.type, text: typeName(f.type) }), " ",
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
      Object.keys(FT).map(function (t) { return h("option", { value: t, text: typeName(t), selected: t === f.type }); }));
    var spec = FT[f.type] || { options: {}, required: [] };
    var opts = Object.keys(spec.options).map(function (name) {
      var label = name + (spec.required.indexOf(name) >= 0 ? " *" : "");
      // the settings a business user meets most, in plain words (see the form designer)
      if (name === "options") return optionsEditor(f, path);
      if (name === "scale" && f.type === "number") return numberKind(f, path);
      if (name === "precision") return null;
      if (name === "currency") return choice(f, name, T.currency, path + "." + name, CURRENCIES.indexOf(f.currency || "CNY") >= 0 ? CURRENCIES : CURRENCIES.concat([f.currency]), { blank: T.none });
      if (name === "to") return linkTargets(f, path);
      if (name === "max_length") return text(f, name, T.max_chars, path + "." + name, { type: "number", step: "1" });
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
  var wfOps = null;  // workflow conditions may also test what changed
  function opsFor(f) { return ((FT[f.type] || {}).operators || ["eq", "ne"]).concat(wfOps || []); }
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
    var ORDER = ["chart_type", "x", "aggregate", "value", "group_by", "date_field", "end_field", "columns", "sort", "filter", "page_size", "description"];
    var rank = function (n) { var r = ORDER.indexOf(n); return r < 0 ? ORDER.length : r; };
    var settings = Object.keys(spec.options).sort(function (a, b) { return rank(a) - rank(b); }).map(function (name) {
      var p = path + "." + name, s = spec.options[name];
      var words = (v.type === "chart" && VW.chart_settings[name]) || VW.settings[name] || name;
      var label = words + (spec.required.indexOf(name) >= 0 ? " *" : "");
      if (s.enum) return choice(v, name, label, p, s.enum.map(function (e) { return [e, (VW.enums[name] || {})[e] || e]; }), { structural: true, blank: spec.required.indexOf(name) >= 0 ? false : T.none });
      if (name === "value" && v.type === "chart" && (v.aggregate || "count") === "count") return null;
      if (name === "columns") return columnsEditor(v, p);
      if (name === "filter") return h("div", { class: "b-block" }, [h("h3", { text: T.filter }), condRoot(v, "filter", v.record_type, p)]);
      if (name === "sort") return sortEditor(v, p);
      if (name === "group_by") return choice(v, name, label, p, fieldChoices(v.record_type, v.type === "kanban" ? ["select"] : null));
      if (name in VIEW_FIELD_TYPES || name === "x" || name === "value") return choice(v, name, label, p, fieldChoices(v.record_type, VIEW_FIELD_TYPES[name]));
      return optionInput(v, name, s, p, label, null);
    });
    var typeSel = choice(v, "type", T.type, path + ".type", Object.keys(VT).map(function (t) { return [t, VW.types[t] || t]; }), { blank: false, set: function (t) {
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


  /* ------------------------------------------------------------ form designer
   * A live preview of the form as users will see it: a palette of field types (named and
   * described in the user's language) to click or drag into sections; clicking a field in
   * the preview opens its settings in plain words on the right. A new field also goes onto
   * the record type's main table unless "Also show in the table" is unticked.
   */
  var LOC = document.documentElement.lang === "zh-CN" ? "zh-CN" : "en";
  var OTHER = LOC === "en" ? "zh-CN" : "en";
  var PAL = boot.palette || [];
  var COLORS = ["gray", "blue", "green", "orange", "red", "purple"];
  var autoKeys = new WeakSet(), placeholders = new WeakSet();
  var designer = { sel: null, addToTable: true };
  function palEntry(type) { return PAL.filter(function (p) { return p.type === type; })[0] || { type: type, icon: "▫", name: type, desc: "" }; }
  function slug(text) {
    var s = String(text || "").toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "").slice(0, 40);
    return /^[a-z][a-z0-9_]*$/.test(s) ? s : "";
  }
  function mainTable(rtKey) { return draft.views.filter(function (v) { return v.type === "table" && v.record_type === rtKey; })[0]; }
  function formKeys(fm) { var out = []; (fm.sections || []).forEach(function (s) { out = out.concat(s.fields || []); }); return out; }
  /* a field added on the record type page goes onto its form and main table too (unless unticked) */
  function placeNewField(rt, key) {
    if (!designer.addToTable) return;
    var fm = draft.forms.filter(function (x) { return x.record_type === rt.key; })[0];
    if (fm && fm.sections && fm.sections.length && formKeys(fm).indexOf(key) < 0) {
      var last = fm.sections[fm.sections.length - 1];
      last.fields = (last.fields || []).concat([key]);
    }
    var table = mainTable(rt.key);
    if (table && Array.isArray(table.columns) && table.columns.indexOf(key) < 0) table.columns.push(key);
  }
  function addFromPalette(fm, type, secIndex, pos) {
    var rt = rtByKey(fm.record_type);
    if (!rt) return;
    rt.fields = rt.fields || [];
    var keys = rt.fields.map(function (x) { return x.key; });
    var name = palEntry(type).name;
    var f = { key: unique(slug(name) || type, keys), type: type, label: {} };
    f.label[LOC] = name;
    initType(f);
    if (f.options) { f.options = [{ value: "option_1", label: {} }]; f.options[0].label[LOC] = T.option + " 1"; placeholders.add(f.options[0]); }
    if (f.type === "link" || f.type === "link_many") { var other = draft.record_types.filter(function (r) { return r.key !== rt.key; })[0]; f.to = (other || rt).key; }
    rt.fields.push(f);
    autoKeys.add(f);
    var secs = fm.sections = fm.sections && fm.sections.length ? fm.sections : [{ fields: [] }];
    var s = secs[secIndex === undefined ? secs.length - 1 : secIndex] || secs[secs.length - 1];
    s.fields = s.fields || [];
    s.fields.splice(pos === undefined ? s.fields.length : pos, 0, f.key);
    var table = mainTable(rt.key);
    if (designer.addToTable && table && Array.isArray(table.columns) && table.columns.indexOf(f.key) < 0) table.columns.push(f.key);
    designer.sel = f.key;
    focusAfter = "#b-f-label";
    changed(true);
  }
  function relabelField(rt, f, text) {
    setLabel(f, "label", LOC, text);
    // a field made here keeps following its (English) name until the app is installed
    if (autoKeys.has(f) && baseFields(rt).indexOf(f.key) < 0) {
      var s = slug(LOC === "en" ? text : (f.label && f.label.en) || "");
      if (s && s !== f.key) {
        var keys = rt.fields.filter(function (x) { return x !== f; }).map(function (x) { return x.key; });
        var neu = unique(s, keys), old = f.key;
        f.key = neu;
        renameField(rt, old, neu);
        if (designer.sel === old) designer.sel = neu;
      }
    }
  }
  function moveInForm(fm, key, secIndex, pos) {
    var from = null, fromPos = -1;
    fm.sections.forEach(function (s, k) { var j = (s.fields || []).indexOf(key); if (j >= 0) { from = k; fromPos = j; } });
    if (from !== null) {
      fm.sections[from].fields.splice(fromPos, 1);
      if (from === secIndex && fromPos < pos) pos -= 1;
    }
    var fl = fm.sections[secIndex].fields = fm.sections[secIndex].fields || [];
    fl.splice(Math.max(0, Math.min(pos, fl.length)), 0, key);
    changed(true);
  }

  function renderPalette(fm) {
    var tick = h("input", { type: "checkbox", id: "b-add-to-table", checked: designer.addToTable,
      onchange: function () { designer.addToTable = tick.checked; } });
    return h("aside", { class: "b-palette", "aria-label": T.palette }, [
      h("h3", { text: T.palette }),
      h("p", { class: "muted small", text: T.palette_hint }),
      h("ul", { class: "b-pal-list" }, PAL.map(function (p) {
        var li = h("li", {}, [h("button", { type: "button", class: "b-pal-item", draggable: "true", "data-type": p.type,
          title: p.desc, "aria-label": T.add_field + ": " + p.name,
          onclick: function () { addFromPalette(fm, p.type); },
          ondragstart: function (e) { e.dataTransfer.setData("text/plain", "new:" + p.type); e.dataTransfer.effectAllowed = "copy"; }
        }, [h("span", { class: "b-pal-icon", "aria-hidden": "true", text: p.icon }),
          h("span", { class: "b-pal-text" }, [h("strong", { text: p.name }), h("span", { class: "b-pal-desc", text: p.desc })])])]);
        return li;
      })),
      h("label", { class: "check small b-add-to-table" }, [tick, " " + T.add_to_table])
    ]);
  }

  function previewControl(f) {
    var t = f.type, d = { disabled: true, tabindex: "-1" };
    var opts = (f.options || []).map(function (o) { return labelOf(o.label, o.value); });
    if (t === "long_text") return h("textarea", Object.assign({ rows: 2 }, d));
    if (t === "select") return h("select", d, [h("option", { text: T.choose })].concat(opts.map(function (x) { return h("option", { text: x }); })));
    if (t === "multi_select") return h("div", { class: "b-pv-chips" }, (f.options || []).map(function (o) {
      return h("span", { class: "chip", "data-color": o.color || null, text: labelOf(o.label, o.value) }); }));
    if (t === "boolean") return h("input", Object.assign({ type: "checkbox" }, d));
    if (t === "date") return h("input", Object.assign({ type: "date" }, d));
    if (t === "datetime") return h("input", Object.assign({ type: "datetime-local" }, d));
    if (t === "rating") return h("span", { class: "b-pv-stars", text: new Array((f.max || 5) + 1).join("☆") });
    if (t === "attachment") return h("span", { class: "b-pv-file", text: "📎 " + T.choose_file });
    if (t === "link" || t === "link_many" || t === "user") return h("input", Object.assign({ placeholder: "🔍 " + T.search }, d));
    if (t === "formula" || t === "rollup" || t === "lookup" || t === "auto_number") return h("span", { class: "muted small", text: "= " + T.computed });
    var ph = t === "currency" ? (f.currency || "CNY") + " 0.00" : t === "percent" ? "0 %" : t === "email" ? "name@example.com" : t === "url" ? "https://" : "";
    return h("input", Object.assign({ type: t === "number" ? "number" : "text", placeholder: ph }, d));
  }
  function dropTarget(section, fm, k) {
    function position(e) {
      var items = Array.prototype.slice.call(section.querySelectorAll(".b-pv-field"));
      for (var n = 0; n < items.length; n++) {
        var r = items[n].getBoundingClientRect();
        if (e.clientY < r.top + r.height / 2) return n;
      }
      return items.length;
    }
    section.addEventListener("dragover", function (e) { e.preventDefault(); section.classList.add("drop-over"); });
    section.addEventListener("dragleave", function () { section.classList.remove("drop-over"); });
    section.addEventListener("drop", function (e) {
      e.preventDefault();
      section.classList.remove("drop-over");
      var what = e.dataTransfer.getData("text/plain") || "";
      if (what.indexOf("new:") === 0) addFromPalette(fm, what.slice(4), k, position(e));
      else if (what.indexOf("field:") === 0) moveInForm(fm, what.slice(6), k, position(e));
    });
  }
  function renderPreview(fm, path) {
    var rt = rtByKey(fm.record_type);
    var vw = fm.visible_when || {};
    var secs = fm.sections = fm.sections || [];
    var sections = secs.map(function (s, k) {
      var spath = path + ".sections[" + k + "]";
      var items = (s.fields || []).map(function (key, j) {
        var f = fieldDef(fm.record_type, key);
        var active = designer.sel === key;
        return h("div", { class: "b-pv-field" + (active ? " active" : ""), draggable: "true", tabindex: "0", role: "button",
          "data-key": key, "data-path": spath + ".fields[" + j + "]", "aria-pressed": active ? "true" : "false",
          onclick: function () { designer.sel = key; render(); },
          onkeydown: function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); designer.sel = key; render(); } },
          ondragstart: function (e) { e.dataTransfer.setData("text/plain", "field:" + key); e.dataTransfer.effectAllowed = "move"; }
        }, [
          h("div", { class: "b-pv-label" }, [f && f.type === "boolean" ? null : h("span", { text: f ? labelOf(f.label, key) : key }),
            f && f.type === "boolean" ? h("span", {}, [previewControl(f), " " + labelOf(f.label, key)]) : null,
            f && f.required ? h("span", { class: "req", text: "*" }) : null,
            vw[key] ? h("span", { class: "chip b-pv-rule", title: T.visibility, text: "👁 " + T.conditional }) : null,
            h("span", { class: "b-pv-type muted small", text: f ? palEntry(f.type).icon + " " + palEntry(f.type).name : T.missing_field })]),
          f && f.type !== "boolean" ? previewControl(f) : null,
          f && f.help ? h("p", { class: "help", text: labelOf(f.help, "") }) : null,
          h("span", { class: "b-slot" })
        ]);
      });
      var title = h("input", { class: "b-pv-title", value: labelPart(s.title, LOC), placeholder: T.section_title, "aria-label": T.section_title,
        onchange: function () { setLabel(s, "title", LOC, title.value.trim()); changed(); } });
      // columns and tabs, when the installed form language has them (schemas/form.json)
      var secOpts = boot.section_options || [];
      var cols = secOpts.indexOf("columns") >= 0 ? h("select", { class: "b-pv-columns", "aria-label": fmt(T.n_columns, { n: "" }), onchange: function () {
        if (cols.value === "1") delete s.columns; else s.columns = Number(cols.value); changed(true);
      } }, [1, 2, 3, 4].map(function (n) { return h("option", { value: String(n), text: fmt(T.n_columns, { n: n }), selected: (s.columns || 1) === n }); })) : null;
      var tab = secOpts.indexOf("tab") >= 0 ? h("input", { class: "b-pv-tab", value: labelPart(s.tab, LOC), placeholder: T.tab, "aria-label": T.tab,
        onchange: function () { setLabel(s, "tab", LOC, tab.value.trim()); changed(); } }) : null;
      var box = h("fieldset", { class: "b-pv-section" + (s.columns > 1 ? " b-cols-" + s.columns : ""), "data-path": spath }, [
        h("legend", {}, [title, cols, tab, secs.length > 1 ? h("button", { type: "button", class: "icon-button b-remove", title: T.remove, "aria-label": T.remove, text: "✕",
          onclick: function () {
            var target = secs[k === 0 ? 1 : k - 1];
            target.fields = (target.fields || []).concat(s.fields || []);
            secs.splice(k, 1); changed(true);
          } }) : null]),
        h("span", { class: "b-slot" }),
        items.length ? null : h("p", { class: "muted small b-pv-empty", text: T.drop_here })
      ].concat(items));
      dropTarget(box, fm, k);
      return box;
    });
    var off = rt ? (rt.fields || []).filter(function (f) { return formKeys(fm).indexOf(f.key) < 0; }) : [];
    return h("div", { class: "b-preview", "aria-label": T.preview }, [
      h("div", { class: "b-pv-head" }, [h("span", { class: "chip", text: T.preview }),
        h("h2", { text: labelOf(fm.label, fm.key) }), fm.public ? h("span", { class: "chip", "data-color": "green", text: T.public_short }) : null]),
      fm.description ? h("p", { class: "muted", text: labelOf(fm.description, "") }) : null
    ].concat(sections).concat([
      h("button", { type: "button", class: "button small b-add-section", text: "+ " + T.add_section, onclick: function () {
        secs.push({ title: {}, fields: [] }); secs[secs.length - 1].title[LOC] = T.section + " " + secs.length; changed(true);
      } }),
      off.length ? h("div", { class: "b-pv-off" }, [h("p", { class: "muted small", text: T.not_on_form })].concat(off.map(function (f) {
        return h("button", { type: "button", class: "button small b-put-back", text: "+ " + labelOf(f.label, f.key), onclick: function () {
          if (!secs.length) secs.push({ fields: [] });
          secs[secs.length - 1].fields = (secs[secs.length - 1].fields || []).concat([f.key]);
          designer.sel = f.key; changed(true);
        } });
      }))) : null,
      h("div", { class: "b-pv-submit" }, [h("button", { type: "button", class: "button primary", disabled: true, text: labelOf(fm.submit_label, T.submit) })])
    ]));
  }

  /* plain-word settings of one field */
  function numberKind(f, path) {
    var id = uid();
    var whole = !(f.scale > 0);
    var places = h("input", { type: "number", min: "1", max: "10", value: whole ? 2 : f.scale, class: "b-places", "aria-label": T.decimal_places,
      onchange: function () { f.scale = Math.max(1, Math.min(10, Number(places.value) || 2)); changed(true); } });
    function radio(val, label, extra) {
      return h("label", { class: "check" }, [h("input", { type: "radio", name: id, value: val, checked: (val === "whole") === whole,
        onchange: function () { if (val === "whole") delete f.scale; else f.scale = Number(places.value) || 2; delete f.precision; changed(true); } }), " " + label].concat(extra || []));
    }
    return h("div", { class: "field b-input b-number-kind", "data-path": path + ".scale" }, [
      h("span", { class: "b-label", text: T.number_kind }),
      radio("whole", T.whole_numbers), radio("decimal", T.decimals_with, [" ", places, " " + T.places]), h("span", { class: "b-slot" })
    ]);
  }
  function optionsEditor(f, path) {
    var rows = f.options = f.options || [];
    var list = h("ul", { class: "b-opt-list" }, rows.map(function (o, k) {
      var input = h("input", { value: labelPart(o.label, LOC) || (LOC === "en" ? o.value : ""), "aria-label": T.option + " " + (k + 1), class: "b-opt-label",
        onchange: function () {
          setLabel(o, "label", LOC, input.value.trim());
          placeholders.delete(o);
          // the stored value is made once from the first label and then kept (records hold it)
          if (/^option_\d+$/.test(o.value) && !isInstalledOption(f, o.value)) {
            var s = slug(LOC === "en" ? input.value : (o.label && o.label.en) || "");
            if (s) o.value = unique(s, rows.filter(function (x) { return x !== o; }).map(function (x) { return x.value; }));
          }
          changed();
        } });
      var swatches = h("span", { class: "b-swatches", role: "radiogroup", "aria-label": T.colour }, COLORS.map(function (c) {
        return h("button", { type: "button", class: "b-swatch" + (o.color === c ? " on" : ""), "data-color": c, title: T["c_" + c] || c, "aria-label": T["c_" + c] || c,
          "aria-checked": o.color === c ? "true" : "false", role: "radio",
          onclick: function () { if (o.color === c) delete o.color; else o.color = c; changed(true); } });
      }));
      return h("li", { "data-path": path + ".options[" + k + "]" }, [input, swatches,
        h("button", { type: "button", class: "icon-button b-remove", text: "✕", title: T.remove, "aria-label": T.remove, onclick: function () { rows.splice(k, 1); changed(true); } }),
        h("span", { class: "b-slot" })]);
    }));
    var bulk = h("textarea", { rows: 3, class: "b-opt-bulk", placeholder: T.options_bulk_hint, "aria-label": T.options_bulk,
      onchange: function () {
        var lines = bulk.value.split(/\n+/).map(function (x) { return x.trim(); }).filter(Boolean);
        if (!lines.length) return;
        var keep = rows.filter(function (o) { return !placeholders.has(o); });
        lines.forEach(function (line) {
          var o = { value: unique(slug(line) || "option_" + (keep.length + 1), keep.map(function (x) { return x.value; })), label: {} };
          o.label[LOC] = line;
          keep.push(o);
        });
        f.options = keep;
        changed(true);
      } });
    return h("div", { class: "b-block", "data-path": path + ".options" }, [h("span", { class: "b-label", text: T.options }), h("span", { class: "b-slot" }), list,
      h("button", { type: "button", class: "button small", text: "+ " + T.add_option, onclick: function () {
        var o = { value: unique("option_" + (rows.length + 1), rows.map(function (x) { return x.value; })), label: {} };
        o.label[LOC] = T.option + " " + (rows.length + 1);
        rows.push(o); changed(true);
      } }),
      field(T.options_bulk, path + ".options", bulk)]);
  }
  /* what a link points at: one type, or (a link) several — one record of any of them */
  function linkTargets(f, path) {
    if (f.type !== "link" || !(FT.link && FT.link.options && FT.link.options.to && FT.link.options.to.oneOf)) {
      if (!Array.isArray(f.to)) return choice(f, "to", T.links_to, path + ".to", rtChoices(), { blank: T.choose });
    }
    var chosen = Array.isArray(f.to) ? f.to.slice() : f.to ? [f.to] : [];
    return h("fieldset", { class: "b-block b-link-targets", "data-path": path + ".to" }, [h("legend", { text: T.links_to })].concat(rtChoices().map(function (c) {
      var box = h("input", { type: "checkbox", checked: chosen.indexOf(c[0]) >= 0, onchange: function () {
        if (box.checked) chosen.push(c[0]); else chosen.splice(chosen.indexOf(c[0]), 1);
        if (!chosen.length) delete f.to; else f.to = chosen.length === 1 ? chosen[0] : chosen.slice();
        changed(true);
      } });
      return h("label", { class: "check" }, [box, " " + c[1]]);
    })).concat([h("span", { class: "b-slot" })]));
  }
  function isInstalledOption(f, value) { return !!boot.installed_options && (boot.installed_options[f.key] || []).indexOf(value) >= 0; }
  var CURRENCIES = ["CNY", "USD", "EUR", "HKD", "JPY", "GBP"];
  var PLAIN = {  // the settings each type shows in words; anything else sits under "More settings"
    text: ["max_length", "default"], long_text: ["max_length"], number: ["scale", "precision", "min", "max", "default"],
    currency: ["currency", "min", "max", "default"], percent: ["min", "max", "default"], rating: ["max", "default"],
    boolean: ["default"], select: ["options", "default"], multi_select: ["options", "default"],
    link: ["to"], link_many: ["to"], attachment: ["multiple"], auto_number: ["prefix", "padding"]
  };
  function fieldSettings(fm, rt, f) {
    var ri = draft.record_types.indexOf(rt), j = rt.fields.indexOf(f);
    var path = "record_types[" + ri + "].fields[" + j + "]";
    var pal = palEntry(f.type);
    var labelIn = h("input", { id: "b-f-label", value: labelPart(f.label, LOC), lang: LOC,
      onchange: function () { relabelField(rt, f, labelIn.value.trim()); changed(true); } });
    var other = h("input", { value: labelPart(f.label, OTHER), lang: OTHER,
      onchange: function () { setLabel(f, "label", OTHER, other.value.trim()); changed(); } });
    var help = h("input", { value: labelPart(f.help, LOC), lang: LOC, onchange: function () { setLabel(f, "help", LOC, help.value.trim()); changed(true); } });
    var req = h("input", { type: "checkbox", id: "b-f-required", checked: f.required === true,
      onchange: function () { setOpt(f, "required", req.checked ? true : ""); changed(true); } });
    var spec = FT[f.type] || { options: {} };
    var plain = [];
    if (f.type === "number") plain.push(numberKind(f, path));
    if (f.options) plain.push(optionsEditor(f, path));
    if (f.type === "currency") plain.push(choice(f, "currency", T.currency, path + ".currency", CURRENCIES, { blank: false, structural: true }));
    if (f.type === "link" || f.type === "link_many") plain.push(linkTargets(f, path));
    if (f.type === "text" || f.type === "long_text") plain.push(text(f, "max_length", T.max_chars, path + ".max_length", { type: "number", step: "1" }));
    if ("min" in spec.options) plain.push(text(f, "min", T.at_least, path + ".min", { type: "number", step: "any" }));
    if ("max" in spec.options) plain.push(text(f, "max", f.type === "rating" ? T.stars : T.at_most, path + ".max", { type: "number", step: f.type === "rating" ? "1" : "any" }));
    if (f.type === "attachment") plain.push(check(f, "multiple", T.several_files, path + ".multiple"));
    if (f.type === "auto_number") { plain.push(text(f, "prefix", T.prefix, path + ".prefix")); plain.push(text(f, "padding", T.digits, path + ".padding", { type: "number", step: "1" })); }
    if ("default" in spec.options) {
      if (f.options) plain.push(choice(f, "default", T.default_value, path + ".default", (f.options || []).map(function (o) { return [o.value, labelOf(o.label, o.value)]; }), { blank: T.none }));
      else if (f.type === "boolean") plain.push(check(f, "default", T.ticked_default, path + ".default"));
      else plain.push(text(f, "default", T.default_value, path + ".default", { type: ["number", "currency", "percent", "rating"].indexOf(f.type) >= 0 ? "number" : null, step: "any" }));
    }
    var shown = PLAIN[f.type] || [];
    var more = Object.keys(spec.options).filter(function (n) { return shown.indexOf(n) < 0 && ["required", "unique", "help"].indexOf(n) < 0; })
      .map(function (n) { return optionInput(f, n, spec.options[n], path + "." + n, n + ((spec.required || []).indexOf(n) >= 0 ? " *" : ""), rt); });
    var vw = fm.visible_when || {};
    var fi = draft.forms.indexOf(fm);
    var rule = vw[f.key] ? h("div", { class: "b-block" }, [condRoot(vw, f.key, fm.record_type, "forms[" + fi + "].visible_when." + f.key)])
      : h("button", { type: "button", class: "button small b-add-visibility", text: "+ " + T.show_only_when, onclick: function () {
          var other = fieldsOf(fm.record_type).filter(function (x) { return x.key !== f.key; })[0];
          fm.visible_when = vw; vw[f.key] = { all: [{ field: other ? other.key : f.key, op: "is_not_empty" }] }; changed(true);
        } });
    return h("section", { class: "b-settings", "data-path": path, "aria-label": T.field_settings }, [
      h("div", { class: "b-settings-head" }, [h("span", { class: "b-pal-icon", "aria-hidden": "true", text: pal.icon }),
        h("div", {}, [h("h3", { text: pal.name }), h("p", { class: "muted small", text: pal.desc })])]),
      field(T.field_name, path + ".label", labelIn),
      field(LOC === "en" ? T.label_zh : T.label_en, path + ".label", other, "b-other-lang"),
      field(T.help_text, path + ".help", help),
      h("div", { class: "field b-input b-check", "data-path": path + ".required" }, [h("label", { class: "check" }, [req, " " + (f.type === "boolean" ? T.must_be_ticked : T.required)])]),
      h("div", { class: "b-grid b-plain" }, plain),
      h("h4", { text: T.visibility_one }), rule,
      more.length ? h("details", { class: "b-more" }, [h("summary", { text: T.more_settings }), h("div", { class: "b-grid" }, more)]) : null,
      h("details", { class: "b-more" }, [h("summary", { text: T.identifier }), h("p", { class: "muted small", text: T.identifier_hint }),
        fieldEditor(rt, f, path)[0]]),
      h("p", {}, [h("button", { type: "button", class: "button danger small b-remove-field", text: T.remove_field, onclick: function () {
        safeRemove(rt.key, f.key, labelOf(f.label, f.key));
      } })])
    ]);
  }
  function formSettings(fm, path) {
    var rt = rtByKey(fm.record_type);
    var ri = draft.record_types.indexOf(rt);
    var rtLabel = rt ? h("input", { id: "b-rt-label", value: labelPart(rt.label, LOC), lang: LOC, onchange: function () {
      var was = labelPart(rt.label, LOC);
      setLabel(rt, "label", LOC, rtLabel.value.trim());
      // the type's own table and form were named after it: they follow the new name
      draft.views.concat(draft.forms).forEach(function (x) {
        if (x.record_type === rt.key && (!labelPart(x.label, LOC) || labelPart(x.label, LOC) === was)) setLabel(x, "label", LOC, rtLabel.value.trim());
      });
      var s = slug(LOC === "en" ? rtLabel.value : (rt.label && rt.label.en) || "");
      if (s && autoKeys.has(rt) && !base[rt.key] && s !== rt.key && !rtByKey(s)) {
        var old = rt.key; rt.key = s; renameRecordType(rt, old, s);
        draft.views.concat(draft.forms).forEach(function (x) { if (x.key && x.key.indexOf(old + "_") === 0) x.key = s + x.key.slice(old.length); });
      }
      changed(true);
    } }) : null;
    var formLabel = h("input", { value: labelPart(fm.label, LOC), lang: LOC, onchange: function () { setLabel(fm, "label", LOC, formLabel.value.trim()); changed(true); } });
    var pub = h("input", { type: "checkbox", id: "b-form-public", checked: fm.public === true, onchange: function () { setOpt(fm, "public", pub.checked ? true : ""); changed(true); } });
    var done = h("input", { value: labelPart(fm.success_message, LOC), lang: LOC, onchange: function () { setLabel(fm, "success_message", LOC, done.value.trim()); changed(); } });
    return h("section", { class: "b-settings", "aria-label": T.form_settings }, [
      h("h3", { text: T.form_settings }),
      rt ? field(T.rt_name, "record_types[" + ri + "].label", rtLabel) : null,
      field(T.form_title, path + ".label", formLabel),
      h("div", { class: "field b-input b-check", "data-path": path + ".public" }, [h("label", { class: "check" }, [pub, " " + T.public])]),
      field(T.success_message, path + ".success_message", done),
      h("p", { class: "muted small", text: T.click_a_field })
    ]);
  }
  function classicForm(fm, i) {
    var el = renderForm(fm, i);
    el.classList.remove("b-editor", "card");  // one editor per page: this is a part of it
    return el;
  }
  function renderDesigner(fm, i) {
    var path = "forms[" + i + "]";
    var rt = rtByKey(fm.record_type);
    var f = rt && designer.sel ? fieldDef(fm.record_type, designer.sel) : null;
    if (!f) designer.sel = null;
    return h("section", { class: "card b-editor b-designer", "data-path": path }, [
      h("div", { class: "section-head" }, [h("h2", { text: T.form_designer + ": " + labelOf(fm.label, fm.key) }),
        h("button", { type: "button", class: "button small b-form-settings", text: T.form_settings, onclick: function () { designer.sel = null; render(); } })]),
      rt ? h("div", { class: "b-design" }, [renderPalette(fm), renderPreview(fm, path), f ? fieldSettings(fm, rt, f) : formSettings(fm, path)])
        : h("div", { class: "b-grid" }, [choice(fm, "record_type", T.record_type, path + ".record_type", rtChoices(), { blank: T.choose })]),
      // the open state is noted on click (toggle events come later, maybe after a re-render)
      h("details", { class: "b-more b-classic", open: designer.classicOpen },
        [h("summary", { text: T.form_as_list, onclick: function (e) { designer.classicOpen = !e.target.parentNode.open; } }), classicForm(fm, i)])
    ]);
  }


  /* ------------------------------------------------------------ workflow builder
   * Trigger (every kind), condition (the visual editor, with changed / changed to / from),
   * steps (every registered action; fields of the target record type offered), test mode
   * against a record (a dry run: what each step would do, texts rendered from the record)
   * and the run log one click away. The draft validator checks workflows like YAML.
   */
  var FL = boot.flows || { triggers: [], actions: {}, action_names: {}, trigger_names: {}, params: {}, long_text: [] };
  var WF_OPS = ["changed", "changed_to", "changed_from"];
  var RECORD_TRIGGERS = ["record.created", "record.updated", "record.deleted", "field.changed", "date", "manual"];
  var testResults = {};
  function addWorkflow() {
    var rt = draft.record_types[0];
    draft.workflows = draft.workflows || [];
    var key = unique("workflow", draft.workflows.map(function (w) { return w.key; }));
    var wf = { key: key, label: {}, record_type: rt ? rt.key : undefined, trigger: { on: "record.created" },
      actions: [{ do: "notify", to: "admins", message: "" }] };
    wf.label[LOC] = T.new_workflow;
    autoKeys.add(wf);
    draft.workflows.push(wf);
    sel = { kind: "wf", i: draft.workflows.length - 1 };
    focusAfter = "#b-wf-label";
    changed(true);
  }
  function insertField(input, rtKey) {
    var keys = fieldsOf(rtKey);
    var s = h("select", { class: "b-insert-field", "aria-label": T.insert_field, onchange: function () {
      if (!s.value) return;
      var token = "{{ record." + s.value + " }}";
      var at = input.selectionStart === undefined || input.selectionStart === null ? input.value.length : input.selectionStart;
      input.value = input.value.slice(0, at) + token + input.value.slice(at);
      input.dispatchEvent(new Event("change"));
      s.value = "";
    } }, [h("option", { value: "", text: "{ } " + T.insert_field })].concat(keys.map(function (f) {
      return h("option", { value: f.key, text: labelOf(f.label, f.key) });
    })));
    return s;
  }
  function valuesEditor(step, rtKey, path) {
    var vals = step.values = step.values || {};
    var rows = Object.keys(vals).map(function (k) {
      var f = fieldDef(rtKey, k);
      var input = h("input", { value: typeof vals[k] === "string" ? vals[k] : JSON.stringify(vals[k]), class: "b-value-input", "aria-label": f ? labelOf(f.label, k) : k,
        onchange: function () { var v = input.value; vals[k] = f && NUMERIC.indexOf(f.type) >= 0 && v !== "" && !isNaN(Number(v)) ? Number(v) : f && f.type === "boolean" ? v === "true" : v; changed(); } });
      if (f && f.options) {
        input = h("select", { class: "b-value-input", "aria-label": labelOf(f.label, k), onchange: function () { vals[k] = input.value; changed(); } },
          f.options.map(function (o) { return h("option", { value: o.value, text: labelOf(o.label, o.value), selected: vals[k] === o.value }); }));
      }
      return h("div", { class: "b-value-row", "data-path": path + ".values." + k }, [h("span", { class: "b-value-name", text: (f ? labelOf(f.label, k) : k) + " =" }), input,
        h("button", { type: "button", class: "icon-button b-remove", text: "✕", "aria-label": T.remove, onclick: function () { delete vals[k]; changed(true); } }), h("span", { class: "b-slot" })]);
    });
    var free = fieldsOf(rtKey).filter(function (f) { return !(f.key in vals) && ["formula", "rollup", "lookup", "auto_number"].indexOf(f.type) < 0; });
    var add = h("select", { class: "b-add-value", "aria-label": T.set_field }, [h("option", { value: "", text: "+ " + T.set_field })].concat(free.map(function (f) {
      return h("option", { value: f.key, text: labelOf(f.label, f.key) }); })));
    add.addEventListener("change", function () { if (!add.value) return; var f = fieldDef(rtKey, add.value); vals[add.value] = f && f.options && f.options[0] ? f.options[0].value : ""; changed(true); });
    return h("div", { class: "b-block", "data-path": path + ".values" }, [h("span", { class: "b-label", text: FL.params.values }), h("span", { class: "b-slot" })].concat(rows).concat([add]));
  }
  function stepEditor(wf, steps, k, path, rtKey) {
    var step = steps[k];
    var spec = FL.actions[step.do] || { required: [], optional: [], raw: [] };
    var p = path + "[" + k + "]";
    var doSel = h("select", { class: "b-step-do", "aria-label": T.step_kind, onchange: function () {
      var keep = { do: doSel.value };
      if (step.label) keep.label = step.label;
      steps[k] = keep;
      (FL.actions[doSel.value] || { required: [] }).required.forEach(function (n) {
        keep[n] = n === "values" || n === "fields" ? {} : n === "then" ? [] : n === "condition" ? { all: [newLeaf(rtKey)] } : "";
      });
      changed(true);
    } }, Object.keys(FL.actions).map(function (a) { return h("option", { value: a, text: FL.action_names[a] || a, selected: a === step.do }); }));
    var target = step.record_type || rtKey;
    var params = spec.required.concat(spec.optional).concat(spec.raw.filter(function (n) { return spec.required.indexOf(n) < 0 && spec.optional.indexOf(n) < 0; }));
    var shownOptional = spec.optional.filter(function (n) { return n in step; });
    var kids = params.map(function (n) {
      var req = spec.required.indexOf(n) >= 0;
      if (!req && !(n in step)) return null;
      var label = (FL.params[n] || n) + (req ? " *" : "");
      var pp = p + "." + n;
      if (n === "values" || (n === "fields" && typeof step.fields === "object" && !Array.isArray(step.fields))) return n === "values" ? valuesEditor(step, target, p) : optionInput(step, n, { type: "string" }, pp, label, null);
      if (n === "record_type") return choice(step, n, label, pp, rtChoices(), { blank: T.this_record });
      if (n === "condition") return h("div", { class: "b-block" }, [h("span", { class: "b-label", text: label }), condRoot(step, "condition", rtKey, pp)]);
      if (n === "then" || n === "else") { step[n] = step[n] || []; return stepsEditor(wf, step[n], pp, rtKey, label); }
      if (n === "field") return choice(step, n, label, pp, fieldChoices(target, NUMERIC), { blank: T.choose });
      if (n === "role") return text(step, n, label, pp);
      var long = FL.long_text.indexOf(n) >= 0;
      var box = text(step, n, label, pp, { multiline: long });
      var input = box.querySelector("input,textarea");
      box.appendChild(insertField(input, rtKey));
      return box;
    });
    var optional = spec.optional.filter(function (n) { return !(n in step); });
    var addOpt = optional.length ? h("select", { class: "b-add-param", "aria-label": T.more_settings }, [h("option", { value: "", text: "+ " + T.more_settings })].concat(
      optional.map(function (n) { return h("option", { value: n, text: FL.params[n] || n }); }))) : null;
    if (addOpt) addOpt.addEventListener("change", function () { if (!addOpt.value) return; step[addOpt.value] = addOpt.value === "values" ? {} : ""; changed(true); });
    var result = (testResults[wf.key] && testResults[wf.key].byPath || {})[p.replace(/^workflows\[\d+\]\.actions\[?/, "").replace(/\]$/, "")];
    return h("li", { class: "b-step", "data-path": p, "data-index": k }, [
      h("div", { class: "b-step-head" }, [h("span", { class: "b-step-n", text: String(k + 1) }), doSel, buttons(steps, k, path, FL.action_names[step.do] || step.do), h("span", { class: "b-slot" })]),
      h("div", { class: "b-grid b-step-params" }, kids.concat([addOpt])),
      result ? stepResult(result) : null
    ].concat(shownOptional.length ? [] : []));
  }
  function stepsEditor(wf, steps, path, rtKey, title) {
    var ul = h("ol", { class: "b-steps" }, steps.map(function (s, k) { return stepEditor(wf, steps, k, path, rtKey); }));
    sortable(ul, steps);
    return h("div", { class: "b-block", "data-path": path }, [h("h3", { text: title }), h("span", { class: "b-slot" }), ul,
      h("button", { type: "button", class: "button small b-add-step", text: "+ " + T.add_step, onclick: function () {
        steps.push({ do: "notify", to: "admins", message: "" }); changed(true);
      } })]);
  }
  function triggerEditor(wf, path) {
    var trig = wf.trigger = wf.trigger || { on: "record.created" };
    var p = path + ".trigger";
    var kind = h("select", { id: "b-wf-trigger", class: "b-trigger-kind", "aria-label": T.trigger, onchange: function () {
      wf.trigger = { on: kind.value };
      if (kind.value === "schedule") wf.trigger.cron = "0 9 * * *";
      if (kind.value === "date") { var d = fieldChoices(wf.record_type, ["date", "datetime"])[0]; wf.trigger.field = d ? d[0] : "created_at"; wf.trigger.offset = "-1d"; wf.trigger.at = "09:00"; }
      if (kind.value === "field.changed") { var f0 = fieldsOf(wf.record_type)[0]; wf.trigger.fields = f0 ? [f0.key] : []; }
      if (kind.value === "form.submitted") { var fm0 = draft.forms[0]; wf.trigger.form = fm0 ? fm0.key : ""; if (fm0) wf.record_type = fm0.record_type; }
      if (kind.value === "webhook") wf.trigger.secret = randomSecret();
      if (kind.value === "schedule" || kind.value === "webhook") delete wf.when;
      changed(true);
    } }, FL.triggers.map(function (t) { return h("option", { value: t, text: FL.trigger_names[t] || t, selected: t === trig.on }); }));
    var kids = [field(T.trigger, p + ".on", kind)];
    if (RECORD_TRIGGERS.indexOf(trig.on) >= 0 || trig.on === "schedule") {
      kids.push(choice(wf, "record_type", T.of_type, path + ".record_type", rtChoices(), { blank: trig.on === "schedule" ? T.none : T.choose }));
    }
    if (trig.on === "field.changed") {
      var chosen = trig.fields = trig.fields || [];
      kids.push(h("fieldset", { class: "b-block b-watch", "data-path": p + ".fields" }, [h("legend", { text: T.watched_fields })].concat(fieldsOf(wf.record_type).map(function (f) {
        var c = h("input", { type: "checkbox", checked: chosen.indexOf(f.key) >= 0, onchange: function () {
          if (c.checked) chosen.push(f.key); else chosen.splice(chosen.indexOf(f.key), 1); changed();
        } });
        return h("label", { class: "check" }, [c, " " + labelOf(f.label, f.key)]);
      })).concat([h("span", { class: "b-slot" })])));
    }
    if (trig.on === "date") {
      kids.push(choice(trig, "field", T.date_field, p + ".field", fieldChoices(wf.record_type, ["date", "datetime"]).concat([["created_at", T.created_at]]), { blank: false }));
      kids.push(text(trig, "offset", T.offset, p + ".offset", { placeholder: "-1d, +2h, 30m" }));
      kids.push(text(trig, "at", T.at_time, p + ".at", { type: "time" }));
    }
    if (trig.on === "schedule") {
      var presets = [["0 9 * * *", T.every_day_9], ["0 9 * * 1", T.every_monday_9], ["0 9 1 * *", T.every_month_9], ["0 * * * *", T.every_hour]];
      kids.push(choice(trig, "cron", T.when_runs, p + ".cron", presets.concat(presets.some(function (x) { return x[0] === trig.cron; }) ? [] : [[trig.cron, trig.cron]]), { blank: false }));
      kids.push(text(trig, "cron", T.cron_custom, p + ".cron", { placeholder: "0 9 * * 1-5", structural: true }));
      kids.push(text(trig, "timezone", T.timezone, p + ".timezone", { placeholder: "Asia/Shanghai" }));
    }
    if (trig.on === "form.submitted") {
      kids.push(choice(trig, "form", T.which_form, p + ".form", draft.forms.map(function (f) { return [f.key, labelOf(f.label, f.key)]; }), { blank: T.choose, set: function (v) {
        trig.form = v; var fm = draft.forms.filter(function (f) { return f.key === v; })[0]; if (fm) wf.record_type = fm.record_type;
      } }));
    }
    if (trig.on === "webhook") kids.push(text(trig, "secret", T.secret, p + ".secret"));
    return h("div", { class: "b-block", "data-path": p }, [h("h3", { text: T.when_starts }), h("div", { class: "b-grid" }, kids), h("span", { class: "b-slot" })]);
  }
  function randomSecret() {
    var a = new Uint8Array(12); (window.crypto || window.msCrypto).getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function testPanel(wf, i) {
    var rid = h("input", { id: "b-wf-record", type: "number", min: "1", placeholder: T.newest_record, "aria-label": T.test_record, value: (testResults[wf.key] || {}).record_id || "" });
    var out = testResults[wf.key];
    var run = h("button", { type: "button", id: "b-wf-test", class: "button", text: "▶ " + T.test_run, onclick: function () {
      run.disabled = true;
      flush().then(function () { return fetch(boot.urls.test, { method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ data: draft, workflow: wf.key, record_id: rid.value }) }); })
        .then(function (r) { return r.json(); })
        .then(function (body) {
          var res = body.error ? { error: body.error } : body;
          res.byPath = {};
          (body.steps || []).forEach(function (s) { res.byPath[s.path] = s; });
          testResults[wf.key] = res; render();
        }).catch(function () { status(T.save_failed, true); run.disabled = false; });
    } });
    var summary = null;
    if (out && out.error) summary = h("p", { class: "alert alert-error b-test-result", role: "alert", text: out.error });
    else if (out) {
      summary = h("div", { class: "b-test-result", role: "status" }, [
        h("p", { text: fmt(T.tested_on, { id: out.record_id === null || out.record_id === undefined ? "—" : "#" + out.record_id }) + " " +
          (out.condition === false ? T.cond_false : out.condition === true ? T.cond_true : T.cond_none) }),
        h("ol", {}, (out.steps || []).map(function (s) {
          // the details (texts rendered from the record) sit under each step above
          return h("li", {}, [h("strong", { text: FL.action_names[s.action] || s.action })]);
        }))
      ]);
    }
    return h("div", { class: "b-block b-test" }, [h("h3", { text: T.test_mode }),
      FL.installed ? h("div", { class: "b-test-row" }, [rid, run, h("a", { class: "button", id: "b-wf-runs", href: FL.runs_url + "&workflow=" + encodeURIComponent(wf.key), text: T.run_log })])
        : h("p", { class: "muted", text: T.install_to_test }),
      summary]);
  }
  /* what a step would do, parameter by parameter, in words (texts rendered from the record) */
  function stepResult(result) {
    var out = result.output || result.input || {};
    var rows = typeof out === "object" ? Object.keys(out).filter(function (k) { return k !== "would"; }) : [];
    return h("div", { class: "b-step-result" }, [h("strong", { text: T.would }),
      h("dl", {}, rows.reduce(function (acc, k) {
        var v = out[k];
        return acc.concat([h("dt", { text: FL.params[k] || k }), h("dd", { text: Array.isArray(v) ? v.join(", ") : typeof v === "object" && v !== null ? summarize(v) : String(v) })]);
      }, []))]);
  }
  function summarize(v) {
    if (v === null || v === undefined) return "";
    if (typeof v !== "object") return String(v);
    return Object.keys(v).map(function (k) { return k + ": " + (typeof v[k] === "object" ? JSON.stringify(v[k]) : v[k]); }).join(" · ");
  }
  function renderWorkflow(wf, i) {
    var path = "workflows[" + i + "]";
    var labelIn = h("input", { id: "b-wf-label", value: labelPart(wf.label, LOC), lang: LOC, onchange: function () {
      setLabel(wf, "label", LOC, labelIn.value.trim());
      var s = slug(LOC === "en" ? labelIn.value : (wf.label && wf.label.en) || "");
      if (s && autoKeys.has(wf) && !draft.workflows.some(function (w) { return w !== wf && w.key === s; })) wf.key = s;
      changed(true);
    } });
    var on = h("input", { type: "checkbox", id: "b-wf-enabled", checked: wf.enabled !== false, onchange: function () {
      if (on.checked) delete wf.enabled; else wf.enabled = false; changed(true);
    } });
    var extra = WF_OPS;
    wfOps = extra;
    var cond = condRoot(wf, "when", wf.record_type, path + ".when");
    wfOps = null;
    return h("section", { class: "card b-editor b-workflow", "data-path": path }, [
      h("h2", { text: T.workflow + ": " + labelOf(wf.label, wf.key) }),
      h("div", { class: "b-grid" }, [field(T.field_name, path + ".label", labelIn),
        h("div", { class: "field b-input b-check", "data-path": path + ".enabled" }, [h("label", { class: "check" }, [on, " " + T.enabled])])]),
      triggerEditor(wf, path),
      wf.trigger && (wf.trigger.on === "schedule" && !wf.record_type || wf.trigger.on === "webhook") ? null
        : h("div", { class: "b-block" }, [h("h3", { text: T.only_when }), cond]),
      stepsEditor(wf, wf.actions = wf.actions || [], path + ".actions", wf.record_type, T.steps),
      testPanel(wf, i)
    ]);
  }

  /* ------------------------------------------------------------ validation rules and indexes */
  function validationsEditor(rt, path) {
    var rules = rt.validations || [];
    var kids = rules.map(function (v, k) {
      var p = path + ".validations[" + k + "]";
      var msg = h("input", { value: labelPart(v.message, LOC), lang: LOC, onchange: function () { setLabel(v, "message", LOC, msg.value.trim()); changed(); } });
      var target = h("select", { "aria-label": T.show_message_at, onchange: function () { if (target.value) v.fields = [target.value]; else delete v.fields; changed(); } },
        [h("option", { value: "", text: T.whole_record })].concat(fieldsOf(rt.key).map(function (f) {
          return h("option", { value: f.key, text: labelOf(f.label, f.key), selected: (v.fields || [])[0] === f.key }); })));
      return h("div", { class: "b-rule b-validation", "data-path": p }, [
        h("p", {}, [h("strong", { text: T.rule + " " + (k + 1) }), " ", buttons(rules, k, path + ".validations", T.rule + " " + (k + 1)), h("span", { class: "b-slot" })]),
        h("p", { class: "muted small", text: T.rule_hint }),
        condRoot(v, "when", rt.key, p + ".when"),
        h("div", { class: "b-grid" }, [field(T.rule_message, p + ".message", msg), field(T.show_message_at, p + ".fields", target)])
      ]);
    });
    return h("div", { class: "b-block", "data-path": path + ".validations" }, [h("h3", { text: T.validations }), h("span", { class: "b-slot" })].concat(kids).concat([
      h("button", { type: "button", class: "button small b-add-validation", text: "+ " + T.add_rule, onclick: function () {
        // starts as "<first field> is filled in": valid at once, then the admin changes it
        var f0 = fieldsOf(rt.key)[0];
        var v = { when: { all: [{ field: f0 ? f0.key : "", op: "is_not_empty" }] }, message: {} }; v.message[LOC] = T.rule_default;
        rt.validations = rules; rules.push(v); changed(true);
      } })]));
  }
  function indexesEditor(rt, path) {
    var ixs = rt.indexes || [];
    var kids = ixs.map(function (ix, k) {
      var p = path + ".indexes[" + k + "]";
      var cols = Array.isArray(ix) ? ix : ix.fields || [];
      var add = h("select", { "aria-label": T.add_column }, [h("option", { value: "", text: "+ " + T.add_column })].concat(fieldsOf(rt.key).filter(function (f) { return cols.indexOf(f.key) < 0; })
        .map(function (f) { return h("option", { value: f.key, text: labelOf(f.label, f.key) }); })));
      add.addEventListener("change", function () { if (add.value) { cols.push(add.value); changed(true); } });
      return h("li", { "data-path": p }, [h("span", { text: cols.map(function (c) { var f = fieldDef(rt.key, c); return f ? labelOf(f.label, c) : c; }).join(" + ") }), " ", add,
        buttons(ixs, k, path + ".indexes", String(k + 1)), h("span", { class: "b-slot" })]);
    });
    return h("div", { class: "b-block", "data-path": path + ".indexes" }, [h("h3", { text: T.indexes }), h("p", { class: "muted small", text: T.index_hint }), h("span", { class: "b-slot" }),
      h("ul", { class: "b-indexes" }, kids),
      h("button", { type: "button", class: "button small b-add-index", text: "+ " + T.add_index, onclick: function () {
        var f0 = fieldsOf(rt.key)[0]; rt.indexes = ixs; ixs.push(f0 ? [f0.key] : []); changed(true);
      } })]);
  }

  /* ------------------------------------------------------------ render */
  function renderMain() {
    var item = current();
    if (!item) return renderApp();
    if (sel.kind === "rt") return renderRecordType(item, sel.i);
    if (sel.kind === "wf") return renderWorkflow(item, sel.i);
    if (sel.kind === "view") return renderView(item, sel.i);
    return renderDesigner(item, sel.i);
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
