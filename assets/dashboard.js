/*
 * Clientside glue of the live dashboard (no data polling, no server round trips).
 *
 * monitor.apply is the one clientside callback: it is triggered by
 *   - the bot selector  -> (re)opens the WebSocket for that view,
 *   - the socket state  -> "reconnecting" + reconnect with backoff on close,
 *   - a socket message  -> applies a pushed frame to the page.
 * Frames (app/dashboard/broadcaster.py) carry display-ready sections keyed by
 * the id of the element they fill.  Every string coming from a bot is put in
 * a text node by React (component children), never parsed as HTML.
 */
(function () {
  "use strict";
  var OPEN = 1, CLOSED = 3;
  var S = {
    view: null, attempt: 0, nonce: 0, lastSeq: null, lastFrameAt: 0, open: false,
    status: null, timer: null, ticker: null, cfg: null, resyncs: 0, frames: 0
  };
  window.__monitor = S;  // for tests and the latency bench
  S.queue = []; S.socket = null; S.dom = {};

  /* The dash-extensions WebSocket keeps only the latest message in its
   * `message` prop, and Dash runs the callback once for several quick prop
   * changes, so frames would be lost.  We also listen on the socket itself and
   * queue every frame in order; the callback (triggered by `message`) drains
   * the queue, so a skipped invocation loses nothing. */
  var NativeWS = window.WebSocket;
  function MonitorWS(url, protocols) {
    var ws = protocols === undefined ? new NativeWS(url) : new NativeWS(url, protocols);
    if (String(url).indexOf("/ws?bot=") >= 0) {
      S.socket = ws; S.queue = [];
      ws.addEventListener("message", function (e) {
        if (ws === S.socket && typeof e.data === "string") { S.queue.push(e.data); }
      });
    }
    return ws;
  }
  MonitorWS.prototype = NativeWS.prototype;
  ["CONNECTING", "OPEN", "CLOSING", "CLOSED"].forEach(function (k) { MonitorWS[k] = NativeWS[k]; });
  window.WebSocket = MonitorWS;

  function text(cell) {
    if (cell === null || cell === undefined) { return ""; }
    return Array.isArray(cell) ? String(cell[0]) : String(cell);
  }
  function cls(cell) { return Array.isArray(cell) ? String(cell[1] || "") : ""; }

  /* Tables, key/value lists and cards are built with DOM calls (text nodes
   * only, never innerHTML) instead of Dash components: a 100-row table is
   * ~1,000 Dash components, which costs the renderer hundreds of ms per
   * frame; the same DOM costs ~1 ms.  React never touches these containers'
   * children (their `children` prop stays empty); S.dom remembers what was
   * drawn, so a container that React re-mounted is redrawn on the next frame. */
  function node(tag, className, textValue) {
    var e = document.createElement(tag);
    if (className) { e.className = className; }
    if (textValue !== undefined) { e.textContent = String(textValue); }
    return e;
  }
  /* A table cell: "text", [text, class], {lines: [[text, class], ...]} (one line each),
   * or {button: text, cls, action, arg}: a button calling MONITOR_DOM.actions[action](arg). */
  function domCell(c) {
    if (c === null || typeof c !== "object" || Array.isArray(c)) { return node("td", cls(c), text(c)); }
    var td = node("td", c.cls || "");
    if (c.lines) {
      var box = td.appendChild(node("div"));
      c.lines.forEach(function (l) { box.appendChild(node("div", cls(l), text(l))); });
    } else if (c.button) {
      var b = td.appendChild(node("button", c.cls || "", c.button));
      b.type = "button";
      b.addEventListener("click", function () { MONITOR_DOM.actions[c.action](c.arg); });
    } else if (c.note !== undefined) {
      td.appendChild(node("span", "small text-muted", c.note));
    }
    return td;
  }
  /* The page's one table renderer: {head, rows, empty}; a row is a list of cells
   * or {id, cls, cells}. */
  function domTable(sec) {
    var table = node("table", "table table-sm table-hover mb-0 data-table");
    var tr = node("tr");
    sec.head.forEach(function (c) { tr.appendChild(node("th", "", c)); });
    table.appendChild(node("thead")).appendChild(tr);
    var body = table.appendChild(node("tbody"));
    if (!sec.rows.length) {
      var td = node("td", "empty", sec.empty || ""); td.colSpan = sec.head.length;
      body.appendChild(node("tr")).appendChild(td);
    }
    sec.rows.forEach(function (row) {
      var r = body.appendChild(node("tr", Array.isArray(row) ? "" : String(row.cls || "")));
      if (!Array.isArray(row) && row.id) { r.id = String(row.id); }
      (Array.isArray(row) ? row : row.cells).forEach(function (c) { r.appendChild(domCell(c)); });
    });
    return [table];
  }
  function domKV(items) {
    return items.map(function (it) {
      var d = node("div", "kv");
      d.appendChild(node("span", "kv-label", it[0]));
      d.appendChild(node("span", "kv-value " + String(it[2] || ""), it[1]));
      return d;
    });
  }
  function domCards(cards) {
    return cards.map(function (c) {
      var d = node("div", "metric-card");
      d.appendChild(node("div", "metric-label", c[0]));
      d.appendChild(node("div", "metric-value " + String(c[2] || ""), c[1]));
      d.appendChild(node("div", "metric-note", c[3] || ""));
      return d;
    });
  }
  var DOM_RENDER = {"tb-": domTable, "kv-": domKV, "cards-": domCards};
  /* A section the server could not build: a marker in its place (the others keep updating). */
  function domError(sec) {
    var d = node("div", "section-error", "\u26a0 " + String(sec.error));
    d.setAttribute("role", "alert");
    return [d];
  }
  function isError(sec) { return sec !== null && typeof sec === "object" && !Array.isArray(sec) && "error" in sec; }
  /* Draw `sec` into the element `key` with `fn` (by default chosen by the id's prefix). */
  function drawDom(key, sec, fn) {
    fn = isError(sec) ? domError : fn || DOM_RENDER[key.slice(0, key.indexOf("-") + 1)];
    var el = document.getElementById(key);
    S.dom[key] = {sec: sec, fn: fn};
    if (fn && el) { el.replaceChildren.apply(el, fn(sec)); el.__drawn = sec; }
  }
  function redrawLost() {
    Object.keys(S.dom).forEach(function (key) {
      var el = document.getElementById(key), d = S.dom[key];
      if (el && el.__drawn !== d.sec) { drawDom(key, d.sec, d.fn); }
    });
  }
  /* For the other scripts of the page (assets/alerts_tab.js): the same renderer and redraw. */
  var MONITOR_DOM = window.monitorDom = {
    table: function (key, sec) { drawDom(key, sec, domTable); },
    redrawLost: redrawLost,
    actions: {}
  };

  function ageText(seconds) {
    if (seconds < 10) { return seconds.toFixed(1) + " s"; }
    if (seconds < 60) { return Math.floor(seconds) + " s"; }
    return Math.floor(seconds / 60) + " min " + String(Math.floor(seconds % 60)).padStart(2, "0") + " s";
  }

  function clockText(ms) {
    var d = new Date(ms);
    return [d.getHours(), d.getMinutes(), d.getSeconds()].map(function (n) { return String(n).padStart(2, "0"); }).join(":");
  }

  /* The page's own watchdog.  The server sends a frame at least once per refresh_s, even when
   * nothing changed; an open socket that has brought nothing for WATCHDOG x refresh_s means the
   * monitor is stopped, hung or cut off, and the page must not go on saying LIVE. */
  var WATCHDOG = 3;
  function silentMs() {
    var r = S.cfg && S.cfg.refresh_s;
    if (!r || !S.lastFrameAt || !S.open || S.lastSeq === null) { return 0; }
    var silent = Date.now() - S.lastFrameAt;
    return silent > WATCHDOG * r * 1000 ? silent : 0;
  }
  function watchdog() {
    var frozen = silentMs() > 0;
    if (frozen || S.frozen) { statusClass(renderStatus(), null); }  // every check while frozen: the count moves
  }

  /* The bar: the server's view of the bot(s), overridden by our own socket state. */
  function renderStatus() {
    var st = S.status || {label: "", conn: "connecting", text: "connecting…", warn: false, items: []};
    var conn = st.conn, msg = st.text, note = null, warn = st.warn, silent = silentMs();
    S.frozen = silent > 0;
    if (S.frozen) {
      conn = "not-updating";
      note = ageText(silent / 1000) + " old";
      msg = "NOT UPDATING since " + clockText(S.lastFrameAt) + " \u2014 no data from the monitor for " +
        ageText(silent / 1000) + "; the values shown are that old";
      warn = true;
    } else if (!S.open || S.lastSeq === null) {
      if (S.attempt > 0 || S.status) {
        conn = "reconnecting";
        var age = S.lastFrameAt ? (Date.now() - S.lastFrameAt) / 1000 : null;
        note = age === null ? "" : ageText(age) + " old";
        msg = "connection lost — reconnecting" + (S.attempt ? " (attempt " + S.attempt + ")" : "") +
          (age === null ? "" : " · data shown is " + ageText(age) + " old");
        warn = true;
      } else {
        conn = "connecting"; msg = "connecting…";
      }
    }
    var body = document.getElementById("status-body");
    if (body) {  // DOM, not Dash components: it changes with every frame (see node())
      var children = [node("span", "conn conn-" + conn, conn.replace("-", " ").toUpperCase()),
                      node("span", "conn-text", msg), node("span", "view-label", st.label || "")];
      children[0].id = "conn-state"; children[1].id = "conn-text";
      if (S.frozen) { children[1].setAttribute("role", "alert"); }  // announced once, when it appears
      (st.items || []).forEach(function (it, i) {
        var n = note !== null ? note : String(it[3] || "");
        var stat = node("div", "stat" + (n ? " stale" : ""));
        stat.id = "stat-" + i;
        stat.append(node("span", "stat-label", it[0]), node("span", "stat-value " + String(it[2] || ""), it[1]),
                    node("span", "stat-age", n));
        children.push(stat);
      });
      body.replaceChildren.apply(body, children);
    }
    if (!warn) { return "status-bar"; }
    return "status-bar warn " + (conn === "not-updating" ? "warn-frozen" : conn === "reconnecting" ? "warn-conn" : "warn-stale");
  }
  /* Only a changed class goes through Dash: an unchanged output costs the renderer nothing. */
  function statusClass(cls, set) {
    if (cls === S.barClass) { return; }
    S.barClass = cls;
    if (set) { set("status-bar", "className", cls); }
    else { window.dash_clientside.set_props("status-bar", {className: cls}); }
  }

  function wsUrl(view) {
    var proto = window.location.protocol === "https:" ? "wss://" : "ws://";
    S.nonce += 1;
    return proto + window.location.host + S.cfg.ws_path + "?bot=" + encodeURIComponent(view) + "&c=" + S.nonce;
  }

  function scheduleReconnect() {
    if (S.timer) { return; }
    var delay = Math.min(5000, 250 * Math.pow(2, S.attempt)) * (0.75 + Math.random() * 0.5);
    S.attempt += 1;
    S.timer = setTimeout(function () {
      S.timer = null;
      window.dash_clientside.set_props("ws", {url: wsUrl(S.view)});
    }, delay);
    if (!S.ticker) {  // keep the "N s old" of a lost connection moving between attempts
      S.ticker = setInterval(function () {
        if (S.open && S.lastSeq !== null) { clearInterval(S.ticker); S.ticker = null; return; }
        statusClass(renderStatus(), null);
      }, 1000);
    }
  }

  /* Several frames may be applied in one callback: a figure absorbs later
   * extensions, and extensions of the same chart are concatenated. */
  /* Charts live on the Risk tab.  Redrawing Plotly figures nobody can see is
   * the page's largest cost at high event rates, so while another tab is
   * shown their updates are merged into S.pending and applied on return. */
  var CHART_TAB = "tab-risk";
  function mergeExt(target, v) {  // target: {data: [{x, y}...]} (a figure or a pending extension)
    var upd = v.ext[0], idx = v.ext[1], max = v.ext[2];
    idx.forEach(function (t, j) {
      var tr = target.data[t];
      if (!tr) { tr = target.data[t] = {x: [], y: []}; }
      tr.x = tr.x.concat(upd.x[j]).slice(-max); tr.y = tr.y.concat(upd.y[j]).slice(-max);
    });
  }
  function deferChart(key, v) {
    if (v.fig) { S.pending[key] = {fig: v.fig}; return; }
    if (!v.ext) { return; }
    var p = S.pending[key] || (S.pending[key] = {ext: {data: []}});
    p.max = v.ext[2];
    mergeExt(p.fig || p.ext, v);
  }
  function flushCharts(set, get) {
    Object.keys(S.pending).forEach(function (key) {
      var p = S.pending[key];
      if (p.fig) { applyChart(key, {fig: p.fig}, set, get); }
      else {
        var idx = [], upd = {x: [], y: []};
        p.ext.data.forEach(function (tr, t) { if (tr) { idx.push(t); upd.x.push(tr.x); upd.y.push(tr.y); } });
        if (idx.length) { applyChart(key, {ext: [upd, idx, p.max]}, set, get); }
      }
    });
    S.pending = {};
  }
  function applyChart(key, v, set, get) {
    if (S.activeTab !== CHART_TAB) { deferChart(key, v); return; }
    if (v.fig) { set(key, "figure", v.fig); set(key, "extendData", window.dash_clientside.no_update); return; }
    if (!v.ext) { return; }
    var fig = get(key, "figure"), prev = get(key, "extendData"), upd = v.ext[0], idx = v.ext[1], max = v.ext[2];
    if (fig && fig.data) {
      idx.forEach(function (t, j) {
        var tr = fig.data[t]; if (!tr) { return; }
        tr.x = tr.x.concat(upd.x[j]).slice(-max); tr.y = tr.y.concat(upd.y[j]).slice(-max);
      });
      return;
    }
    if (prev && prev[0]) {
      idx.forEach(function (t, j) {
        var k = prev[1].indexOf(t);
        if (k < 0) { prev[1].push(t); prev[0].x.push(upd.x[j]); prev[0].y.push(upd.y[j]); }
        else { prev[0].x[k] = prev[0].x[k].concat(upd.x[j]); prev[0].y[k] = prev[0].y[k].concat(upd.y[j]); }
      });
      return;
    }
    set(key, "extendData", [{x: upd.x.slice(), y: upd.y.slice()}, idx.slice(), max]);
  }

  function applyFrame(frame, set, get) {
    var s = frame.s;
    Object.keys(s).forEach(function (key) {
      var v = s[key];
      if (key === "status") {
        S.status = isError(v) ? {label: "", conn: "error", text: String(v.error), warn: true, items: []} : v;
        return;
      }
      if (key === "bots") {
        if (isError(v)) { return; }
        set("bot-select", "options", [{label: "All bots", value: "__all__"}].concat(
          v.map(function (b) { return {label: String(b), value: String(b)}; })));
        return;
      }
      if (/^(tb|kv|cards)-/.test(key)) { drawDom(key, v); return; }
      if (key.indexOf("ch-") === 0) { applyChart(key, v, set, get); return; }
      if (key.indexOf("at-") === 0) { set(key, "data", v); }  // Alerts tab stores (rendered by its callbacks)
    });
    S.lastSeq = frame.seq;
    S.lastFrameAt = Date.now();
    S.frames += 1;
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    monitor: {
      apply: function (message, state, view, activeTab, cfg) {
        return applyImpl(message, state, view, activeTab, cfg);
      }
    }
  });
  function applyImpl(message, state, view, activeTab, cfg) {
        var nu = window.dash_clientside.no_update;
        S.cfg = cfg;
        if (!S.watchdog) { S.watchdog = setInterval(watchdog, 250); }
        S.pending = S.pending || {};
        var outs = cfg.outputs.map(function () { return nu; });
        var index = {};
        cfg.outputs.forEach(function (o, i) { index[o[0] + "." + o[1]] = i; });
        function set(id, prop, value) { var i = index[id + "." + prop]; if (i !== undefined) { outs[i] = value; } }
        function get(id, prop) { var i = index[id + "." + prop]; return i === undefined || outs[i] === nu ? null : outs[i]; }
        var ctx = window.dash_clientside.callback_context;
        var trig = (ctx && ctx.triggered ? ctx.triggered : []).map(function (t) { return t.prop_id; });
        var statusDirty = false;
        S.activeTab = activeTab;
        if (activeTab === CHART_TAB) { flushCharts(set, get); }

        if (S.view === null || view !== S.view) {  // first call, or another bot chosen
          S.view = view || "__all__"; S.lastSeq = null; S.status = null; S.attempt = 0;
          if (S.timer) { clearTimeout(S.timer); S.timer = null; }
          S.socket = null; S.queue = []; S.pending = {};  // frames in flight on the old socket are not ours
          set("ws", "url", wsUrl(S.view));
          statusDirty = true;
        } else if (trig.indexOf("ws.state") >= 0 && state) {
          if (state.readyState === OPEN) { S.open = true; S.attempt = 0; S.resyncAt = 0; }
          if (state.readyState === CLOSED) { S.open = false; S.lastSeq = null; scheduleReconnect(); }
          statusDirty = true;
        }
        var frames = S.queue; S.queue = [];
        var lastFull = -1;
        frames = frames.map(function (raw) { return JSON.parse(raw); });
        frames.forEach(function (f, i) { if (f.full) { lastFull = i; } });
        if (lastFull > 0) { frames = frames.slice(lastFull); }  // a snapshot supersedes what came before
        for (var i = 0; i < frames.length; i++) {
          var frame = frames[i];
          if (!frame.full && S.lastSeq === null) { continue; }  // a full snapshot is on its way
          if (!frame.full && frame.base !== S.lastSeq) {
            // A frame is missing (should not happen with the queue): ask once for a snapshot.
            var ready = S.socket && S.socket.readyState === OPEN;
            if (ready && (!S.resyncAt || Date.now() - S.resyncAt > 2000)) {
              S.resyncs += 1; S.resyncAt = Date.now();
              set("ws", "send", JSON.stringify({op: "resync", n: S.resyncs}));
            }
            break;
          }
          S.resyncAt = 0;
          S.open = true;
          applyFrame(frame, set, get);
          statusDirty = true;
        }
        redrawLost();
        if (statusDirty) {
          statusClass(renderStatus(), set);
        }
        return outs;
  }
})();
