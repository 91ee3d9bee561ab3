// Draws the store page's charts with uPlot from the JSON block the server wrote (#chart-data).
// Without JavaScript the tables under each chart carry the same figures.
(function () {
  "use strict";
  function ready(fn) { if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn); }
  var charts = [];
  function width(el) { return Math.max(280, el.clientWidth); }
  function draw() {
    charts.forEach(function (c) { c.destroy(); });
    charts = [];
    var block = document.getElementById("chart-data");
    if (!block || typeof uPlot === "undefined") return;
    var d = JSON.parse(block.textContent);
    var line = { stroke: "#1f5faf", width: 2, spanGaps: false, points: { size: 5, fill: "#1f5faf" } };
    var target = { label: "target", stroke: "#b42318", dash: [6, 4], width: 1.5, points: { show: false } };
    var yScale = { range: d.range };
    function trend(id, labels, values, isTime) {
      var el = document.getElementById(id);
      if (!el) return;
      var xs = labels.map(function (l, i) { return isTime ? Date.parse(l + "T12:00:00Z") / 1000 : i; });
      var data = [xs, values];
      var series = [{}, Object.assign({ label: d.index }, line)];
      if (d.target !== null) { data.push(values.map(function () { return d.target; })); series.push(target); }
      var axes = [{}, {}];
      if (!isTime) axes[0] = { splits: function () { return xs; }, values: function (u, splits) { return splits.map(function (s) { return labels[s] || ""; }); } };
      charts.push(new uPlot({ width: width(el), height: 220, legend: { live: false }, scales: { x: { time: isTime }, y: yScale }, series: series, axes: axes }, data, el));
    }
    trend("daily-chart", d.days, d.daily, true);
    trend("weekly-chart", d.weeks, d.weekly, false);
    var dist = document.getElementById("dist-chart");
    if (dist) {
      var keys = Object.keys(d.distribution);
      var xs = keys.map(function (_, i) { return i; });
      var bars = uPlot.paths.bars({ size: [0.7, 60] });
      charts.push(new uPlot({
        width: width(dist), height: 220, legend: { live: false }, scales: { x: { time: false, range: [-0.5, keys.length - 0.5] } },
        series: [{}, { label: "answers", fill: "#93b6e3", stroke: "#1f5faf", paths: bars, points: { show: false } }],
        axes: [{ splits: function () { return xs; }, values: function (u, splits) { return splits.map(function (s) { return keys[s] !== undefined ? keys[s] : ""; }); } }, {}]
      }, [xs, keys.map(function (k) { return d.distribution[k]; })], dist));
    }
  }
  ready(draw);
  document.addEventListener("htmx:afterSettle", draw);
  var t; window.addEventListener("resize", function () { clearTimeout(t); t = setTimeout(draw, 200); });
})();
