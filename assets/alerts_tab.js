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
        return ((data && data.bots) || []).map(function (b) { return {label: String(b), value: String(b)}; });
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
