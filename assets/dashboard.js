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
   * or {button: text, cls, action, arg}: a button calling MONITOR_DOM.actions[action](arg).
   * `label` is the cell's column header: narrow screens show the row as a card of
   * "label value" lines (assets/dashboard.css), so each cell carries it as data-label. */
  var WRAP_CHARS = 28;  // longer texts are prose (messages, conditions): they wrap, short values never do
  function domCell(c, label) {
    var td;
    if (c === null || typeof c !== "object" || Array.isArray(c)) {
      td = node("td", cls(c), text(c));
      if (text(c).length > WRAP_CHARS) { td.classList.add("wrap"); }
    } else {
      td = node("td", c.button ? "" : c.cls || "");  // a button's classes style the button only
      if (c.lines) {
        var box = td.appendChild(node("div"));
        c.lines.forEach(function (l) { box.appendChild(node("div", cls(l), text(l))); });
        td.classList.add("wrap");
      } else if (c.button) {
        var b = td.appendChild(node("button", c.cls || "", c.button));
        b.type = "button";
        b.setAttribute("data-focus", "btn:" + c.action + ":" + c.arg);
        b.addEventListener("click", function () { MONITOR_DOM.actions[c.action](c.arg); });
        td.classList.add("action");
      } else if (c.note !== undefined) {
        td.appendChild(node("span", "small text-muted", c.note));
        td.classList.add("wrap");
      }
    }
    td.setAttribute("role", "cell");
    if (label && !td.classList.contains("action")) { td.setAttribute("data-label", label); }  // a button names itself
    return td;
  }

  /* No table hides rows silently: the first ROWS[...] rows are drawn, then a button says how
   * many more there are and shows them ("Show fewer" folds them again).  The choice is kept
   * per table id in S.expanded, so the next frames (which redraw the table) keep it.  Open
   * positions and active alerts are what a trader must see: they get a longer first page. */
  var PHONE = window.matchMedia ? window.matchMedia("(max-width: 576px)") : {matches: false};
  var ROWS = {phone: 5, wide: 10};
  var ROWS_FIRST = {phone: 10, wide: 25};
  var SHOW_FIRST = {"tb-positions": true, "atab-active": true};
  S.expanded = {};
  function rowLimit(key) {
    var rows = SHOW_FIRST[key] ? ROWS_FIRST : ROWS;
    return PHONE.matches ? rows.phone : rows.wide;
  }
  function moreButton(key, hidden) {
    var open = !!S.expanded[key];
    var b = node("button", "btn btn-sm btn-outline-secondary table-more",
                 open ? "Show fewer" : "Show " + hidden + " more");
    b.type = "button";
    b.setAttribute("aria-expanded", open ? "true" : "false");
    b.setAttribute("aria-controls", key);
    b.setAttribute("data-focus", "more");
    b.addEventListener("click", function () {
      S.expanded[key] = !open;
      var d = S.dom[key];
      if (d) { drawDom(key, d.sec, d.fn, true); }
    });
    return b;
  }

  /* The page's one table renderer: {head, rows, empty}; a row is a list of cells
   * or {id, cls, cells}.  Explicit ARIA roles keep it a table for screen readers when the
   * narrow-screen CSS turns its rows into blocks (browsers drop the table semantics then). */
  function domTable(sec, key) {
    var table = node("table", "table table-sm table-hover mb-0 data-table");
    table.setAttribute("role", "table");
    var tr = node("tr");
    tr.setAttribute("role", "row");
    sec.head.forEach(function (c) {
      var th = tr.appendChild(node("th", "", c));
      th.setAttribute("role", "columnheader"); th.scope = "col";
    });
    var head = table.appendChild(node("thead"));
    head.setAttribute("role", "rowgroup");
    head.appendChild(tr);
    var body = table.appendChild(node("tbody"));
    body.setAttribute("role", "rowgroup");
    if (!sec.rows.length) {
      var td = node("td", "empty", sec.empty || ""); td.colSpan = sec.head.length;
      td.setAttribute("role", "cell");
      var er = body.appendChild(node("tr"));
      er.setAttribute("role", "row");
      er.appendChild(td);
    }
    var limit = key ? rowLimit(key) : sec.rows.length;
    var hidden = sec.rows.length - limit;
    // one row over the limit is shown rather than folded behind a button
    var rows = hidden > 1 && !S.expanded[key] ? sec.rows.slice(0, limit) : sec.rows;
    rows.forEach(function (row) {
      var r = body.appendChild(node("tr", Array.isArray(row) ? "" : String(row.cls || "")));
      r.setAttribute("role", "row");
      if (!Array.isArray(row) && row.id) { r.id = String(row.id); }
      (Array.isArray(row) ? row : row.cells).forEach(function (c, i) {
        r.appendChild(domCell(c, sec.head[i] === undefined ? "" : String(sec.head[i])));
      });
    });
    return hidden > 1 ? [table, moreButton(key, hidden)] : [table];
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
  /* Draw `sec` into the element `key` with `fn` (by default chosen by the id's prefix).
   * A keyboard user's focus inside it (an Acknowledge or "Show more" button) is put back on
   * the same control of the new drawing, so a frame never throws it out of the table;
   * `keepFocus` does the same for the button that caused the redraw. */
  function drawDom(key, sec, fn, keepFocus) {
    fn = isError(sec) ? domError : fn || DOM_RENDER[key.slice(0, key.indexOf("-") + 1)];
    var el = document.getElementById(key);
    S.dom[key] = {sec: sec, fn: fn};
    if (!fn || !el) { return; }
    var focused = document.activeElement;
    var fkey = focused && el.contains(focused) ? focused.getAttribute("data-focus") : null;
    el.replaceChildren.apply(el, fn(sec, key));
    el.__drawn = sec;
    if (fkey || keepFocus) {
      var again = Array.prototype.find.call(el.querySelectorAll("[data-focus]"), function (e) {
        return e.getAttribute("data-focus") === (fkey || "more");
      });
      if (again) { again.focus({preventScroll: true}); }
    }
  }
  function redrawAll() {
    Object.keys(S.dom).forEach(function (key) { drawDom(key, S.dom[key].sec, S.dom[key].fn); });
  }
  // crossing the phone breakpoint (rotation, a resized window) changes how many rows are shown
  if (PHONE.addEventListener) { PHONE.addEventListener("change", redrawAll); }
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

  /* A time of the page's own (the watchdog's "since") in the monitor's zone, like every
   * time the server formats (metrics.timezone), with the zone's name; the browser's own zone
   * only if the zone is unknown to it. */
  function clockText(ms) {
    var zone = S.status && S.status.zone;
    if (zone) {
      try {
        return new Intl.DateTimeFormat("en-GB", {timeZone: String(zone), hour: "2-digit", minute: "2-digit",
          second: "2-digit", hourCycle: "h23", timeZoneName: "short"}).format(new Date(ms));
      } catch (e) { /* an unknown zone: the browser's own time below */ }
    }
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

  var CONN_WORDS = {"not-updating": "NOT UPDATING"};
  /* On a phone the bar is one compact block: state, bot selector, these figures and a
   * toggle; everything else (.status-detail) shows when the toggle is open. */
  var COMPACT = /daily|^alerts/i;
  /* The bar's body: .status-main is redrawn with every frame; the toggle is made once and
   * kept, so a keyboard user's focus on it survives the frames. */
  function statusParts(body) {
    var main = body.querySelector(".status-main"), toggle = document.getElementById("status-toggle");
    if (!main || !toggle || toggle.parentNode !== body) {
      main = node("div", "status-main");
      toggle = node("button", "btn btn-sm btn-outline-light status-toggle");
      toggle.id = "status-toggle"; toggle.type = "button";
      toggle.setAttribute("aria-controls", "status-body");
      toggle.addEventListener("click", function () {
        S.statusOpen = !S.statusOpen;
        statusClass(renderStatus(), null);
      });
      body.replaceChildren(main, toggle);
    }
    toggle.setAttribute("aria-expanded", S.statusOpen ? "true" : "false");
    toggle.textContent = S.statusOpen ? "Less \u25b4" : "More \u25be";
    toggle.setAttribute("aria-label", S.statusOpen ? "Hide status details" : "Show all status details");
    main.className = "status-main" + (S.statusOpen ? " open" : "");
    return main;
  }
  /* The connection state for screen readers: the polite live region (layout.py, #conn-live)
   * is written only when the state changes, never with every frame. */
  function announce(conn, msg, staleBots) {
    if (conn === S.announced || conn === "connecting") { return; }
    var region = document.getElementById("conn-live");
    if (!region) { return; }
    S.announced = conn;
    var word = CONN_WORDS[conn] || conn.toUpperCase();
    region.textContent = "Connection " + word + (staleBots ? ": " + staleBots : msg ? ": " + msg : "");
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
      var main = statusParts(body);
      var children = [node("span", "conn conn-" + conn, CONN_WORDS[conn] || conn.toUpperCase()),
                      node("span", "conn-text status-detail", msg),
                      node("span", "view-label status-detail", st.label || "")];
      children[0].id = "conn-state"; children[1].id = "conn-text"; children[2].id = "view-label";
      if (st.stale_bots) {  // which bots are stale, for the phone's compact line (conn-text says it in full)
        var sb = node("span", "stale-bots phone-only", st.stale_bots);
        sb.id = "stale-bots";
        children.push(sb);
      }
      (st.items || []).forEach(function (it, i) {
        var n = note !== null ? note : String(it[3] || "");
        var key = COMPACT.test(String(it[0]));
        var stat = node("div", "stat" + (n ? " stale" : "") + (key ? " stat-key" : " status-detail"));
        stat.id = "stat-" + i;
        stat.append(node("span", "stat-label", it[0]), node("span", "stat-value " + String(it[2] || ""), it[1]),
                    node("span", "stat-age", n));
        children.push(stat);
      });
      main.replaceChildren.apply(main, children);
    }
    announce(conn, msg, st.stale_bots);
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

  /* Keyboard access to the tabs (the WAI-ARIA tabs pattern).  dbc.Tabs draws role="tab" links
   * that all have tabindex=-1, no aria-selected and one shared id, so Tab never reached them.
   * Here the shown tab is the tab list's one stop of the Tab key (roving tabindex), Left/Right,
   * Home and End move to a tab and show it, Enter and Space show the focused one.  The
   * attributes are put back whenever React redraws the tabs (a MutationObserver). */
  function tabLinks() { return Array.prototype.slice.call(document.querySelectorAll("#tabs [role=tab]")); }
  function setAttr(e, name, value) { if (e.getAttribute(name) !== value) { e.setAttribute(name, value); } }
  function fixTabs() {
    var list = document.getElementById("tabs");
    if (!list) { return; }
    setAttr(list, "aria-label", "Dashboard sections");
    var panes = document.querySelectorAll(".tab-content > .tab-pane");
    tabLinks().forEach(function (a, i) {
      var on = a.classList.contains("active"), pane = panes[i];
      setAttr(a, "tabindex", on ? "0" : "-1");
      setAttr(a, "aria-selected", on ? "true" : "false");
      if (pane && pane.id) {
        setAttr(a, "aria-controls", pane.id);
        var own = pane.getAttribute("aria-labelledby");
        if (own) { setAttr(a, "id", own); }  // the id the panel names as its label
      }
    });
  }
  function watchTabs() {
    var list = document.getElementById("tabs");
    if (!list || list === S.tabsWatched || !window.MutationObserver) { return; }
    S.tabsWatched = list;
    new MutationObserver(fixTabs).observe(list, {subtree: true, childList: true, attributes: true,
                                                 attributeFilter: ["class", "tabindex"]});
    fixTabs();
  }
  var TAB_KEYS = {ArrowRight: 1, ArrowLeft: -1, Home: "first", End: "last", Enter: 0, " ": 0, Spacebar: 0};
  document.addEventListener("keydown", function (e) {
    var a = e.target;
    if (!a || !a.closest || a.getAttribute("role") !== "tab" || !a.closest("#tabs")) { return; }
    if (!(e.key in TAB_KEYS) || e.altKey || e.ctrlKey || e.metaKey) { return; }
    var links = tabLinks(), i = links.indexOf(a), k = TAB_KEYS[e.key], to;
    if (k === "first") { to = links[0]; }
    else if (k === "last") { to = links[links.length - 1]; }
    else { to = links[(i + k + links.length) % links.length]; }
    e.preventDefault();  // Space would scroll the page, Enter would follow href="#"
    to.focus();
    to.click();
  });

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
        watchTabs();
        if (activeTab === CHART_TAB) { flushCharts(set, get); }

        var chosen = view || "__all__";  // a cleared selector means all bots, not a new view per call
        if (S.view === null || chosen !== S.view) {  // first call, or another bot chosen
          S.view = chosen; S.lastSeq = null; S.status = null; S.attempt = 0;
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
