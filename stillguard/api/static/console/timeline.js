// Draws the job's timeline (scores over time, thresholds, segments, flash windows, audio events)
// as SVG from /console/jobs/{id}/timeline.json; clicking it seeks the player. Every text goes in
// through textContent, never as HTML.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var W = 760, H = 250, LEFT = 50, RIGHT = 12, TOP = 16, BOTTOM = 52;
  var PALETTE = ["#2f5fb3", "#d1495b", "#2e933c", "#8f5bb8", "#e08e0b", "#00798c", "#6b4226"];
  var figure = document.getElementById("timeline");
  var video = document.getElementById("player");
  if (!figure) return;
  var note = document.getElementById("timeline-note");

  function el(name, attrs, parent) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    if (parent) parent.appendChild(node);
    return node;
  }
  function niceCeiling(v) {
    var power = Math.pow(10, Math.floor(Math.log10(v)));
    var step = [1, 2, 5, 10].find(function (m) { return m * power >= v - 1e-12; });
    return Math.min(1, step * power);
  }
  function titled(node, text) { el("title", {}, node).textContent = text; return node; }

  fetch(figure.dataset.src, { credentials: "same-origin" })
    .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
    .then(draw)
    .catch(function (e) { note.textContent = "The timeline could not be loaded: " + e.message; figure.dataset.state = "error"; });

  function draw(data) {
    var duration = data.duration_s || 1;
    var plotW = W - LEFT - RIGHT, plotH = H - TOP - BOTTOM;
    var x = function (t) { return LEFT + (Math.max(0, Math.min(duration, t)) / duration) * plotW; };
    // The score axis runs to a round number just over the highest score or threshold, so small
    // scores stay readable; it never goes past 1.
    var highest = Math.max.apply(null, [1e-3].concat(
      (data.frame_signals || []).map(function (s) { return s.score; }),
      (data.thresholds || []).map(function (t) { return t.threshold; })));
    var top = niceCeiling(Math.min(1, highest * 1.15));
    var y = function (s) { return TOP + (1 - Math.max(0, Math.min(top, s)) / top) * plotH; };
    var svg = el("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "scores over time" });
    var defs = el("defs", {}, svg);
    var hatch = el("pattern", { id: "hatch", width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" }, defs);
    el("line", { x1: 0, y1: 0, x2: 0, y2: 6, stroke: "#c79a00", "stroke-width": 3 }, hatch);

    // Group the per-frame scores by category, in time order.
    var series = {};
    (data.frame_signals || []).forEach(function (s) {
      if (s.evaluated === false || s.start_s === null || s.start_s === undefined) return;
      (series[s.category] = series[s.category] || []).push(s);
    });
    var categories = Object.keys(series).sort();
    categories.forEach(function (c) { series[c].sort(function (a, b) { return a.start_s - b.start_s; }); });
    var colour = {};
    categories.concat((data.thresholds || []).map(function (t) { return t.category; })).forEach(function (c) {
      if (!(c in colour)) colour[c] = PALETTE[Object.keys(colour).length % PALETTE.length];
    });

    // Stretches where a category's score is at or over its lowest threshold, half a step either side.
    var lowest = {};
    (data.thresholds || []).forEach(function (t) {
      if (!(t.category in lowest) || t.threshold < lowest[t.category]) lowest[t.category] = t.threshold;
    });
    categories.forEach(function (c) {
      if (!(c in lowest)) return;
      var points = series[c];
      var step = points.length > 1 ? (points[points.length - 1].start_s - points[0].start_s) / (points.length - 1) : duration;
      points.forEach(function (p) {
        if (p.score < lowest[c]) return;
        var a = Math.max(0, p.start_s - step / 2), b = Math.min(duration, p.start_s + step / 2);
        titled(el("rect", { "class": "over", "data-category": c, x: x(a), y: TOP, width: Math.max(1, x(b) - x(a)), height: plotH }, svg),
          c + " " + p.score.toFixed(4) + " ≥ " + lowest[c] + " at " + p.start_s.toFixed(2) + " s");
      });
    });
    (data.segments || []).forEach(function (s) {
      titled(el("rect", { "class": "segment", x: x(s.start_s), y: TOP, width: Math.max(1, x(s.end_s) - x(s.start_s)), height: plotH }, svg),
        "segment " + s.category + " " + s.start_s + "–" + s.end_s + " s, peak " + s.peak);
    });
    (data.signals || []).forEach(function (s) {
      if (s.start_s === null || s.end_s === null) return;
      if (s.category.indexOf("flash.") === 0) {
        titled(el("rect", { "class": "flash", x: x(s.start_s), y: H - BOTTOM + 4, width: Math.max(2, x(s.end_s) - x(s.start_s)), height: 8 }, svg),
          s.category + ": " + s.detail);
      } else if (s.category.indexOf("audio.") === 0) {
        var cx = x(s.start_s);
        titled(el("path", { "class": "audio", d: "M" + (cx - 5) + "," + (TOP - 10) + " L" + (cx + 5) + "," + (TOP - 10) + " L" + cx + "," + TOP + " Z" }, svg),
          s.category + ": " + s.detail);
      }
    });

    // Axes and ticks.
    el("line", { "class": "axis", x1: LEFT, y1: TOP + plotH, x2: LEFT + plotW, y2: TOP + plotH }, svg);
    el("line", { "class": "axis", x1: LEFT, y1: TOP, x2: LEFT, y2: TOP + plotH }, svg);
    [0, top / 2, top].forEach(function (v) {
      el("text", { "class": "tick", x: LEFT - 6, y: y(v) + 4, "text-anchor": "end" }, svg).textContent = v === 0 ? "0" : String(Number(v.toPrecision(2)));
    });
    var ticks = Math.min(10, Math.max(1, Math.round(duration)));
    for (var i = 0; i <= ticks; i++) {
      var t = (duration * i) / ticks;
      el("text", { "class": "tick", x: x(t), y: H - BOTTOM + 26, "text-anchor": "middle" }, svg).textContent = t.toFixed(1) + " s";
    }

    // Thresholds, then the score lines on top.
    (data.thresholds || []).forEach(function (t) {
      titled(el("line", { "class": "threshold", x1: LEFT, x2: LEFT + plotW, y1: y(t.threshold), y2: y(t.threshold), stroke: colour[t.category] }, svg),
        t.rule + ": " + t.category + " ≥ " + t.threshold + " → " + t.action);
      el("text", { "class": "tick", x: LEFT + plotW - 2, y: y(t.threshold) - 4, "text-anchor": "end" }, svg).textContent =
        t.rule + " " + t.threshold;
    });
    categories.forEach(function (c) {
      var points = series[c];
      var path = points.map(function (p, i) { return (i ? "L" : "M") + x(p.start_s).toFixed(1) + "," + y(p.score).toFixed(1); }).join(" ");
      el("path", { "class": "series", "data-category": c, d: path, stroke: colour[c] }, svg);
      points.forEach(function (p) {
        titled(el("circle", { cx: x(p.start_s), cy: y(p.score), r: 3, fill: colour[c] }, svg), c + " " + p.score.toFixed(4) + " at " + p.start_s.toFixed(2) + " s");
      });
    });
    var lx = LEFT;
    categories.forEach(function (c) {
      el("rect", { x: lx, y: H - 14, width: 10, height: 10, fill: colour[c] }, svg);
      var label = el("text", { "class": "legend", x: lx + 14, y: H - 5 }, svg);
      label.textContent = c;
      lx += 24 + 7 * c.length;
    });

    var playhead = el("line", { "class": "playhead", x1: x(0), x2: x(0), y1: TOP, y2: TOP + plotH }, svg);
    if (video) {
      video.addEventListener("timeupdate", function () { playhead.setAttribute("x1", x(video.currentTime)); playhead.setAttribute("x2", x(video.currentTime)); });
      svg.addEventListener("click", function (event) {
        var box = svg.getBoundingClientRect();
        var px = ((event.clientX - box.left) / box.width) * W;
        var t = Math.max(0, Math.min(duration, ((px - LEFT) / plotW) * duration));
        video.currentTime = t;
        svg.dataset.seekedTo = t.toFixed(3);
      });
    }
    note.remove();
    figure.appendChild(svg);
    figure.dataset.state = "drawn";
  }
})();
