/* Tessera charts: draws every .echart element from its JSON payload (web/charts.py) with the
   locally served ECharts. A click on a bar, point, slice or funnel stage opens the records
   behind it. Without script the numbers table under each chart still reads. */
(function () {
  "use strict";
  if (!window.echarts) return;
  var PALETTE = ["#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2",
                 "#db2777", "#65a30d", "#ea580c", "#475569", "#4f46e5", "#0d9488"];
  var quiet = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  function formatter(data, compact) {
    var f = data.number || {}, opts = { maximumFractionDigits: f.decimals || 0, minimumFractionDigits: compact ? 0 : (f.decimals || 0) };
    if (compact) { opts.notation = "compact"; opts.maximumFractionDigits = 1; }
    if (f.style === "currency") { opts.style = "currency"; opts.currency = f.currency; }
    var nf;
    try { nf = new Intl.NumberFormat(data.locale, opts); } catch (e) { nf = new Intl.NumberFormat(data.locale); }
    return function (v) {
      if (v === null || v === undefined || v === "-") return "–";
      return nf.format(v) + (f.style === "percent" ? "%" : "");
    };
  }

  function axisOption(data, full, short, stacked, line) {
    var labels = data.categories.map(function (c) { return c.label; });
    var many = data.series.length > 1;
    return {
      color: PALETTE,
      grid: { left: 8, right: 16, top: many ? 36 : 16, bottom: 8, containLabel: true },
      legend: many ? { type: "scroll", top: 0 } : undefined,
      tooltip: { trigger: "axis", renderMode: "richText", valueFormatter: full },
      xAxis: { type: "category", data: labels, axisLabel: { hideOverlap: true } },
      yAxis: { type: "value", axisLabel: { formatter: short } },
      series: data.series.map(function (s) {
        return {
          name: s.name, type: line ? "line" : "bar", data: s.values,
          stack: stacked ? "total" : undefined, emphasis: { focus: "series" },
          barMaxWidth: 48, showSymbol: true, symbolSize: 6,
          connectNulls: false, cursor: "pointer"
        };
      })
    };
  }

  function pieOption(data, full, kind) {
    var s = data.series[0];
    var items = data.categories.map(function (c, i) { return { name: c.label, value: s.values[i] }; });
    var base = {
      color: PALETTE,
      tooltip: { trigger: "item", renderMode: "richText", valueFormatter: full },
      legend: { type: "scroll", bottom: 0 }
    };
    if (kind === "funnel") {
      base.series = [{
        type: "funnel", data: items, sort: "none", left: "8%", right: "8%", top: 8, bottom: 36,
        minSize: "12%", gap: 2, cursor: "pointer",
        label: { show: true, position: "inside", formatter: function (p) { return p.name + "\n" + full(p.value); } }
      }];
    } else {
      base.series = [{
        type: "pie", data: items, radius: kind === "donut" ? ["38%", "72%"] : [0, "72%"],
        center: ["50%", "45%"], cursor: "pointer", avoidLabelOverlap: true, percentPrecision: 0,
        label: { position: "inside", formatter: "{d}%", color: "#fff", fontWeight: "bold" },
        labelLayout: { hideOverlap: true }
      }];
    }
    return base;
  }

  function draw(el) {
    var source = document.getElementById(el.getAttribute("data-chart"));
    if (!source) return;
    var data = JSON.parse(source.textContent);
    var full = formatter(data, false), short = formatter(data, true);
    var kind = data.type, option;
    if (kind === "pie" || kind === "donut" || kind === "funnel") option = pieOption(data, full, kind);
    else option = axisOption(data, full, short, kind === "stacked_bar", kind === "line");
    option.animation = !quiet;
    option.aria = { enabled: true };
    var chart = window.echarts.init(el, null, { renderer: "canvas", locale: data.locale === "zh-CN" ? "ZH" : "EN" });
    chart.setOption(option);
    chart.on("click", function (p) {
      var s = data.series[p.seriesIndex] || data.series[0];
      var href = s && s.hrefs[p.dataIndex];
      if (href) window.location.href = href;
    });
    el.setAttribute("data-drawn", "true");
    if (window.ResizeObserver) new ResizeObserver(function () { chart.resize(); }).observe(el);
  }

  document.querySelectorAll(".echart[data-chart]").forEach(draw);
})();
