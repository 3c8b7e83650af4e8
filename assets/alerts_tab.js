/*
 * Clientside callbacks of the Alerts tab (app/dashboard/alerts_tab.py registers them by name).
 *
 * The broadcaster pushes the tab's sections (at-active, at-history, at-rules)
 * into dcc.Stores; these functions turn a section into a table spec and draw
 * it with the page's one table renderer (window.monitorDom, assets/dashboard.js):
 * DOM built from text nodes, never parsed as HTML.  Acknowledge buttons are
 * plain DOM buttons that hand the alert id to the server callback through the
 * atab-ack-req store.
 */
(function () {
  "use strict";
  var acks = 0;

  function dom() {
    var d = window.monitorDom;
    d.actions.ack = d.actions.ack || function (id) {
      acks += 1;  // a new value each press: the same alert acknowledged twice still triggers
      window.dash_clientside.set_props("atab-ack-req", {data: {id: String(id), n: acks}});
    };
    return d;
  }

  function str(x) { return x === null || x === undefined ? "" : String(x); }

  function sevClass(sev) { return sev === "critical" ? "neg" : (sev === "warning" ? "warn" : ""); }

  /* The severity as a word (colour is never the only signal), the bot, the rule's name, the
   * fact once (the server words it: "drawdown 12.4 % > limit 10 %"), since when (in the
   * configured zone), status, escalation, where it was delivered, and Acknowledge. */
  function activeRow(r) {
    var last = r.ackable
      ? {button: "Acknowledge", cls: "btn btn-sm btn-outline-warning", action: "ack", arg: r.id}
      : {note: str(r.acked)};
    return {id: "atab-row-" + r.id, cls: "sev-" + r.sev, cells: [
      [str(r.sev).toUpperCase(), sevClass(r.sev)], str(r.who || r.bot), str(r.rule), str(r.what),
      str(r.since), [str(r.status), "atab-status"], str(r.esc), str(r.delivered), last]};
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    alerts: {
      /* Showing the tab asks for the form once, decided in the browser: switching tabs
       * costs no server round trip, and unsaved edits survive a look at another tab. */
      askForm: function (active, asked) {
        if (active !== "tab-alerts" || asked) { return window.dash_clientside.no_update; }
        return 1;
      },
      active: function (data) {
        var rows = (data && data.rows) || [];
        dom().table("atab-active", {
          head: ["Severity", "Bot", "Rule", "What", "Since", "Status", "Escalation",
                 "Delivered by", "Acknowledge"],
          rows: rows.map(activeRow), empty: "No active alert."});
      },
      history: function (data, sev, bot) {
        var rows = ((data && data.rows) || []).filter(function (r) {
          return (!sev || r.sev === sev) && (!bot || r.bot === bot);
        });
        dom().table("atab-history", {
          head: ["Time", "Severity", "Bot", "Rule", "Kind", "What", "Channels"],
          rows: rows.map(function (r) {
            return [str(r.t), [str(r.sev).toUpperCase(), sevClass(r.sev)], str(r.who || r.bot), str(r.rule),
                    str(r.kind), str(r.what), {lines: r.ch}];
          }),
          empty: "No notification yet."});
        return ((data && data.bots) || []).map(function (b) { return {label: String(b[1]), value: String(b[0])}; });
      },
      rules: function (data) {
        var rows = (data && data.rows) || [];
        dom().table("atab-rules", {
          head: ["Rule", "Condition", "For", "Severity", "Enabled", "Current value"],
          rows: rows.map(function (r) {
            return r.map(function (c, i) { return [str(c), i === 4 ? (c === "on" ? "pos" : "muted") : ""]; });
          }),
          empty: "No rule."});
      }
    }
  });
})();

/*
 * alertsForm (registered by app/dashboard/alerts_tab.py): every switch of the settings form
 * says "on" or "off" next to it, and a threshold typed into a rule that is off switches the
 * rule on, with a note under the field saying so; a value left in a rule switched off says
 * that it is kept but not checked.  Saved as shown: Save reads these same switches.
 */
(function () {
  "use strict";
  function nu() { return window.dash_clientside.no_update; }

  /* Form state: values seen per threshold field, and the rules switched on for a typed value.
   * Both are forgotten when the form is rebuilt (after a save). */
  var F = {version: null, seen: {}, auto: {}};
  var OFF_NOTE = "rule off: this value is kept but not checked";
  var AUTO_NOTE = "rule switched on because a value was typed: it is checked once saved";

  function typedKeys() {
    var ctx = window.dash_clientside.callback_context, keys = {};
    ((ctx && ctx.triggered) || []).forEach(function (t) {
      var p = String(t.prop_id || ""), dot = p.lastIndexOf(".");
      if (p.charAt(0) !== "{" || dot < 0) { return; }
      try {
        var id = JSON.parse(p.slice(0, dot));
        if (id && id.type === "af") { keys[id.key] = true; }
      } catch (e) { /* not a pattern id */ }
    });
    return keys;
  }
  function text(v) { return v === null || v === undefined ? "" : String(v).trim(); }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    alertsForm: {
      switches: function (fvals, svals, fids, sids, nids, version) {
        if (version !== F.version) { F.version = version; F.seen = {}; F.auto = {}; }
        var typed = typedKeys(), at = {}, value = {}, out = svals.slice(), flipped = false;
        sids.forEach(function (id, j) { at[id.key] = j; });
        fids.forEach(function (id, i) {
          var m = /^thr\.(.+)\.value$/.exec(id.key);
          if (!m) { return; }
          var v = text(fvals[i]), sw = "thr." + m[1] + ".enabled", j = at[sw], before = F.seen[id.key];
          value[id.key] = v; F.seen[id.key] = v;
          if (j === undefined || !typed[id.key] || before === undefined || before === v) { return; }
          if (v !== "" && !out[j]) { out[j] = true; F.auto[sw] = true; flipped = true; }
        });
        sids.forEach(function (id, j) { if (!out[j]) { delete F.auto[id.key]; } });
        var words = out.map(function (on) { return on ? "on" : "off"; });
        var classes = out.map(function (on) { return "switch-state small ms-1 " + (on ? "pos" : "text-muted"); });
        var notes = nids.map(function (id) {
          var sw = id.key.replace(/\.value$/, ".enabled"), on = !!out[at[sw]];
          if (value[id.key] && !on) { return OFF_NOTE; }
          return on && F.auto[sw] ? AUTO_NOTE : "";
        });
        return [flipped ? out : out.map(nu), words, classes, notes];
      }
    }
  });
})();
