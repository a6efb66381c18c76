// bootscope report: table sorting and filtering, and the per-phone ladder diagrams
// drawn from the embedded data (src/report/html/ladder.rs decides what they show).
// Data reaches the page only through textContent and setAttribute, never as markup.
(function () {
  "use strict";
  var root = document.documentElement;
  window.addEventListener("error", function (e) {
    root.setAttribute("data-js-error", String(e.message));
  });
  var data = JSON.parse(document.getElementById("bootscope-data").textContent);
  var SVG = "http://www.w3.org/2000/svg";
  var FLAG_BOTH = data.flags[0], FLAG_ERR = data.flags[1], FLAG_WARN = data.flags[2];

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function sv(parent, tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }

  // ---- the phone table ----------------------------------------------------------
  var table = document.getElementById("phone-table");
  var tbody = table.tBodies[0];
  var rows = Array.prototype.slice.call(tbody.rows);
  var haystack = rows.map(function (r) { return r.textContent.toLowerCase(); });
  var filters = Array.prototype.slice.call(document.querySelectorAll("[data-filter]"));
  var search = document.getElementById("q");
  var shown = document.getElementById("shown");

  // A big fleet shows its matching rows a page at a time: layout stays cheap.
  var PAGE = data.page, limit = PAGE;
  var more = document.getElementById("more"), all = document.getElementById("all");
  function applyFilters(keepLimit) {
    if (keepLimit !== true) limit = PAGE;
    var want = {};
    filters.forEach(function (f) { want[f.getAttribute("data-filter")] = f.value; });
    var q = search ? search.value.trim().toLowerCase() : "";
    var n = 0, visible = 0, order = [];
    rows.forEach(function (r, i) {
      var ok = (!want.status || r.getAttribute("data-status") === want.status) &&
        (!want.stage || r.getAttribute("data-stage") === want.stage) &&
        (!want.vlan || r.getAttribute("data-vlan") === want.vlan) &&
        (!want.model || r.getAttribute("data-model") === want.model) &&
        (!q || haystack[i].indexOf(q) >= 0);
      if (ok) n++;
      var show = ok && n <= limit;
      if (show) { visible++; order.push(r); }
      if (r.hidden === show) r.hidden = !show;
    });
    // Only the rows shown need to be in order: move those, not all 10 000.
    var frag = document.createDocumentFragment();
    order.forEach(function (r) { frag.appendChild(r); });
    tbody.appendChild(frag);
    if (shown) {
      shown.textContent = n + " of " + rows.length + " phone(s)" +
        (visible < n ? ", the first " + visible + " shown" : "");
    }
    if (more) more.hidden = visible >= n;
    if (all) all.hidden = visible >= n;
  }
  filters.forEach(function (f) { f.addEventListener("change", applyFilters); });
  if (search) search.addEventListener("input", applyFilters);
  if (more) more.addEventListener("click", function () { limit += PAGE; applyFilters(true); });
  if (all) all.addEventListener("click", function () { limit = Infinity; applyFilters(true); });
  applyFilters();
  table.classList.remove("paged");

  function setFilter(key, value) {
    filters.forEach(function (f) {
      if (f.getAttribute("data-filter") !== key) return;
      var has = Array.prototype.some.call(f.options, function (o) { return o.value === value; });
      f.value = has ? value : "";
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll("[data-filter-stage]"), function (a) {
    a.addEventListener("click", function (ev) {
      ev.preventDefault();
      setFilter("status", "stalled");
      setFilter("stage", a.getAttribute("data-filter-stage"));
      applyFilters();
      table.scrollIntoView();
    });
  });

  function ipKey(s) {
    var m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
    return m ? ((+m[1] * 256 + +m[2]) * 256 + +m[3]) * 256 + +m[4] : null;
  }
  Array.prototype.forEach.call(table.tHead ? table.tHead.rows[0].cells : [], function (th, col) {
    th.addEventListener("click", function () {
      var kind = th.getAttribute("data-sort");
      var dir = th.classList.contains("asc") ? -1 : 1;
      Array.prototype.forEach.call(th.parentNode.cells, function (c) { c.classList.remove("asc", "desc"); });
      th.classList.add(dir > 0 ? "asc" : "desc");
      var keyed = rows.map(function (r, i) {
        var cell = r.cells[col];
        var raw = cell.hasAttribute("data-v") ? cell.getAttribute("data-v") : cell.textContent;
        var k;
        if (kind === "num" || kind === "stage") k = raw === "" || raw === "-" ? null : parseFloat(raw);
        else if (kind === "ip") k = ipKey(raw);
        else k = raw === "-" ? null : raw.toLowerCase();
        return { r: r, k: k, i: i, h: haystack[i] };
      });
      keyed.sort(function (a, b) {
        // Empty cells last whichever the direction; ties keep their order.
        if (a.k === null || b.k === null) return a.k === b.k ? a.i - b.i : a.k === null ? 1 : -1;
        if (a.k < b.k) return -dir;
        if (a.k > b.k) return dir;
        return a.i - b.i;
      });
      rows = keyed.map(function (x) { return x.r; });
      haystack = keyed.map(function (x) { return x.h; });
      applyFilters(true);
    });
  });

  // ---- one phone -------------------------------------------------------------------
  var LANE0 = 262, LANE_W = 185, TOP = 62, ROW_H = 27, GROUP_H = 16, STALL_H = 44, BOOT_H = 24;
  var TIME_X = 72, FRAME_X = 146;

  function fmtTime(t) { return t.toFixed(3); }

  function arrow(g, x1, x2, y, cls, both) {
    sv(g, "line", { x1: x1, y1: y, x2: x2, y2: y, "class": cls || "" });
    var d = x2 > x1 ? -1 : 1;
    sv(g, "path", { d: "M" + x2 + " " + y + "l" + (9 * d) + " -4.5v9z", "class": "head " + (cls || "") });
    if (both) sv(g, "path", { d: "M" + x1 + " " + y + "l" + (-9 * d) + " -4.5v9z", "class": "head " + (cls || "") });
  }

  // The ladder of phone `i`; `frames` receives frame number -> row element.
  function ladder(i, v, frames) {
    var nl = v.lanes.length;
    var laneX = function (k) { return LANE0 + k * LANE_W; };
    // Wide enough for the lanes and the longest label (about 7 px a character at
    // 12 px; labels start just right of the phone's lane).
    var longest = v.stall ? v.stall.label.length * 7.2 : 0;
    v.rows.forEach(function (r) { longest = Math.max(longest, r[6].length * (r[7] ? 7 : 6.5)); });
    var width = Math.ceil(Math.max(laneX(nl - 1) + LANE_W / 2 + 20, LANE0 + 24 + longest, 900));
    var groups = {};
    v.groups.forEach(function (g) { groups[g[0]] = g[1]; });
    // Vertical layout first: rows, group notes, the boot separator, the stall.
    var y = TOP + 26, plan = [];
    v.rows.forEach(function (r, k) {
      if (v.boot_row === k) { plan.push({ boot: true, y: y + 8 }); y += BOOT_H; }
      plan.push({ row: k, y: y });
      y += ROW_H + (groups[k] ? GROUP_H : 0);
      if (v.stall && v.stall.after_row === k) { plan.push({ stall: true, y: y + 12 }); y += STALL_H; }
    });
    if (v.stall && !v.rows.length) { plan.push({ stall: true, y: y + 12 }); y += STALL_H; }
    var height = y + 10;
    var svg = sv(null, "svg", {
      "class": "ladder", width: width, height: height, viewBox: "0 0 " + width + " " + height,
      role: "img", "aria-label": "ladder diagram of " + v.name
    });
    sv(svg, "text", { x: TIME_X, y: TOP - 8, "class": "gutter", "text-anchor": "end" }, "time (s)");
    sv(svg, "text", { x: FRAME_X, y: TOP - 8, "class": "gutter", "text-anchor": "end" }, "frame");
    v.lanes.forEach(function (l, k) {
      var x = laneX(k), g = sv(svg, "g", { "class": "lane", "data-role": l.role });
      sv(g, "rect", { x: x - LANE_W / 2 + 10, y: 8, width: LANE_W - 20, height: 44, rx: 6,
        "class": "lane-box " + l.role });
      sv(g, "text", { x: x, y: 26, "text-anchor": "middle", "class": "lane-role" }, l.label);
      if (l.addr) sv(g, "text", { x: x, y: 43, "text-anchor": "middle", "class": "lane-addr" }, l.addr);
      sv(g, "line", { x1: x, y1: 52, x2: x, y2: height - 6, "class": "lifeline" });
    });
    plan.forEach(function (p) {
      if (p.boot) {
        var b = sv(svg, "g", { "class": "boot" });
        sv(b, "line", { x1: 8, y1: p.y, x2: width - 8, y2: p.y, "class": "boot-line" });
        sv(b, "text", { x: LANE0 + 8, y: p.y - 4, "class": "boot-text" },
          "the last boot (of " + v.boots + " seen) starts here");
        return;
      }
      if (p.stall) { drawStall(svg, v, p.y, width, laneX); return; }
      var r = v.rows[p.row], t = r[0], f = r[1], from = r[2], to = r[3];
      var stage = data.stages[r[5]] || "", type = data.types[r[4]] || "", flags = r[7];
      var cls = "msg st-" + stage + " t-" + type +
        (flags & FLAG_ERR ? " ev-error" : flags & FLAG_WARN ? " ev-warning" : "");
      var g = sv(svg, "g", { "class": cls, id: "p" + i + "-f" + f, "data-frame": f });
      frames[f] = g;
      var reps = groups[p.row];
      var bgAttrs = { x: 4, y: p.y - 17, width: width - 8, height: ROW_H - 4 + (reps ? GROUP_H : 0),
        "class": reps ? "group-bg" : "row-bg" };
      if (!reps) bgAttrs.fill = "transparent";
      sv(g, "rect", bgAttrs);
      sv(g, "title", {}, fmtTime(t) + " s, frame " + f + ", " + stage + ": " + r[6]);
      sv(g, "text", { x: TIME_X, y: p.y + 4, "class": "gutter", "text-anchor": "end" }, fmtTime(t));
      sv(g, "text", { x: FRAME_X, y: p.y + 4, "class": "gutter", "text-anchor": "end" }, "#" + f);
      if (from === to) {
        sv(g, "circle", { cx: laneX(from), cy: p.y, r: 4, "class": "note-dot" });
        sv(g, "text", { x: laneX(from) + 10, y: p.y + 4, "class": "label" }, r[6]);
      } else {
        var x1 = laneX(from), x2 = laneX(to);
        if (reps) {
          // Retransmissions: faint copies under the first arrow, and a note.
          for (var e = Math.min(reps.length, 3); e >= 1; e--) {
            var ge = sv(g, "g", { "class": "echo" });
            arrow(ge, x1, x2, p.y + 4 * e, "echo", flags & FLAG_BOTH);
          }
        }
        arrow(g, x1, x2, p.y, "", flags & FLAG_BOTH);
        sv(g, "text", { x: Math.min(x1, x2) + 12, y: p.y - 6, "class": "label" }, r[6]);
        if (reps) {
          var last = reps[reps.length - 1];
          var list = reps.slice(0, 8).map(function (m) { return m[1]; }).join(", ") +
            (reps.length > 8 ? ", …" : "");
          var what = type === "dhcp_discover" || type === "dhcp_request" || type === "file_request" ||
            type === "cm_syn" || type === "register" ? "retransmitted" : "repeated";
          sv(g, "text", { x: Math.min(x1, x2) + 12, y: p.y + ROW_H - 4, "class": "group-note" },
            "×" + (reps.length + 1) + ": " + what + " " + reps.length + " time(s) until " +
            fmtTime(last[0]) + " s (frames " + list + ")");
          reps.forEach(function (m) { frames[m[1]] = g; });
        }
      }
    });
    return svg;
  }

  function drawStall(svg, v, y, width, laneX) {
    var s = v.stall;
    var g = sv(svg, "g", { "class": "stall " + s.kind, "data-kind": s.kind });
    sv(g, "rect", { x: 4, y: y - 22, width: width - 8, height: STALL_H - 6, "class": "stall-band" });
    sv(g, "text", { x: FRAME_X, y: y + 4, "text-anchor": "end" }, s.kind === "stalled" ? "STALL" : "capture end");
    var x0 = LANE0 + 12;
    if (s.from !== null && s.to !== null) {
      var x1 = laneX(s.from), x2 = laneX(s.to);
      sv(g, "line", { x1: x1, y1: y, x2: x2, y2: y, "class": "stall-arrow" });
      // The message never came: a cross where it should have arrived.
      sv(g, "path", { d: "M" + (x2 - 7) + " " + (y - 7) + "l14 14m0 -14l-14 14", "class": "stall-x" });
      x0 = Math.min(x1, x2) + 12;
    }
    sv(g, "text", { x: x0, y: y - 7 }, s.label);
    sv(g, "text", { x: x0, y: y + 13, "class": "waited" }, s.waited);
  }

  function phoneSection(i) {
    var v = data.phones[i];
    var sec = el("section", { id: "p" + i, "class": "phone st-" + v.status });
    var h = el("h2", {}, v.name);
    h.appendChild(el("span", { "class": "badge s-" + v.status }, v.status.replace("_", " ")));
    h.appendChild(el("a", { href: "#r" + i, "class": "back" }, "back to the table"));
    sec.appendChild(h);
    var facts = el("div", { "class": "facts" });
    v.facts.forEach(function (kv) {
      var s = el("span", {}, kv[0] + " ");
      s.appendChild(el("b", {}, kv[1]));
      facts.appendChild(s);
    });
    sec.appendChild(facts);
    var frames = {};
    var wrap = el("div", { "class": "ladder-wrap" });
    wrap.appendChild(ladder(i, v, frames));
    sec.appendChild(wrap);
    sec._frames = frames;
    if (v.dropped > 0) {
      sec.appendChild(el("p", { "class": "note" },
        "… " + v.dropped + " more timeline entries were not kept (bound per device)."));
    }
    if (v.expected.length) {
      var x = el("div", { "class": "expected" + (v.status === "stalled" ? "" : " pending") });
      x.appendChild(el("h3", {}, v.status === "stalled" ? "Expected next, never came" : "Expected next"));
      v.expected.forEach(function (line) { x.appendChild(el("p", {}, line)); });
      sec.appendChild(x);
    }
    sec.appendChild(el("h3", {}, "Findings"));
    if (!v.findings.length) sec.appendChild(el("p", { "class": "ok" }, "None."));
    else {
      var ul = el("ul", { "class": "findings" });
      v.findings.forEach(function (f) {
        var li = el("li", { "class": "finding", "data-severity": f[0], "data-code": f[1] });
        li.appendChild(el("span", { "class": "badge sev-" + f[0] }, f[0]));
        li.appendChild(document.createTextNode(" "));
        li.appendChild(el("code", {}, f[1]));
        li.appendChild(document.createTextNode(" (" + f[2] + "): " + f[3]));
        if (f[4].length) {
          var ev = el("span", { "class": "ev" }, " — evidence: frame(s) ");
          f[4].forEach(function (fr, k) {
            if (k) ev.appendChild(document.createTextNode(", "));
            ev.appendChild(el("a", { href: "#p" + i + "-f" + fr }, String(fr)));
          });
          li.appendChild(ev);
        }
        ul.appendChild(li);
      });
      sec.appendChild(ul);
    }
    if (v.checks.length) {
      sec.appendChild(el("h3", {}, "Next checks"));
      var ol = el("ol", { "class": "checks" });
      v.checks.forEach(function (c) { ol.appendChild(el("li", {}, c)); });
      sec.appendChild(ol);
    }
    return sec;
  }

  // ---- routing: #p<i> opens a phone, #p<i>-f<frame> points at one of its messages ---
  var detail = document.getElementById("detail");
  var highlighted = null, currentRow = null;
  function route() {
    var m = /^#p(\d+)(?:-f(\d+))?$/.exec(location.hash);
    if (!m) return;
    var i = +m[1];
    if (!(i < data.phones.length)) return;
    var sec = document.getElementById("p" + i);
    if (!sec) {
      while (detail.firstChild) detail.removeChild(detail.firstChild);
      sec = phoneSection(i);
      detail.appendChild(sec);
    }
    if (currentRow) currentRow.classList.remove("current");
    currentRow = document.getElementById("r" + i);
    if (currentRow) currentRow.classList.add("current");
    var target = sec;
    if (highlighted) { highlighted.remove(); highlighted = null; }
    if (m[2] && sec._frames[m[2]]) {
      target = sec._frames[m[2]];
      var bg = target.querySelector("rect");
      if (bg) {
        highlighted = sv(null, "rect", { x: bg.getAttribute("x"), y: bg.getAttribute("y"),
          width: bg.getAttribute("width"), height: bg.getAttribute("height"), "class": "hl-bg" });
        target.insertBefore(highlighted, target.firstChild);
      }
    }
    target.scrollIntoView({ block: m[2] ? "center" : "start" });
  }
  if (data.inline) {
    // The phones that need a look first: stalled, then still booting, then the rest.
    var rank = { stalled: 0, in_progress: 1 };
    data.phones.map(function (v, i) { return { i: i, k: v.status in rank ? rank[v.status] : 2 }; })
      .sort(function (a, b) { return a.k - b.k || a.i - b.i; })
      .forEach(function (x) { detail.appendChild(phoneSection(x.i)); });
  }
  window.addEventListener("hashchange", route);
  route();
  root.setAttribute("data-ready", String(data.phones.length));
})();
