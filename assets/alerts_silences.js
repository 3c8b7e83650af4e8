/*
 * The Alerts tab's Silences list (app/dashboard/alerts_silences.py registers it by name).
 *
 * The list arrives with the active alerts (the at-active section's "silences", active
 * first, then those ended within 5 days) and is drawn with the page's one table renderer
 * (window.monitorDom, assets/dashboard.js): DOM from text nodes, never parsed as HTML.
 * Each active silence has an Expire button that hands its id to the server callback
 * through the atab-unsilence-req store; an ended one is listed greyed, saying who ended it.
 */
(function () {
  "use strict";
  var expires = 0;

  function dom() {
    var d = window.monitorDom;
    d.actions.unsilence = d.actions.unsilence || function (id) {
      expires += 1;  // a new value each press
      window.dash_clientside.set_props("atab-unsilence-req", {data: {id: String(id), n: expires}});
    };
    return d;
  }

  function str(x) { return x === null || x === undefined ? "" : String(x); }

  /* "in 1 h 05 min", "in 42 s": how long a silence still mutes, counted by the browser now. */
  function endsIn(endsAt) {
    var s = Math.max(0, Math.round(Number(endsAt) - Date.now() / 1000));
    if (s < 60) { return "in " + s + " s"; }
    var m = Math.floor(s / 60), h = Math.floor(m / 60), d = Math.floor(h / 24);
    if (d >= 1) { return "in " + d + " d " + (h % 24) + " h"; }
    if (h >= 1) { return "in " + h + " h " + String(m % 60).padStart(2, "0") + " min"; }
    return "in " + m + " min";
  }

  function row(r) {
    var last = r.active
      ? {button: "Expire", cls: "btn btn-sm btn-outline-secondary", action: "unsilence", arg: r.id}
      : {note: str(r.ended)};
    return {id: "atab-sil-row-" + r.id, cls: r.active ? "silence-active" : "silence-ended text-muted",
      cells: [str(r.bot), str(r.rule), str(r.sev), str(r.until), r.active ? endsIn(r.ends_at) : "ended",
              str(r.by), str(r.comment), last]};
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    silences: {
      list: function (data) {
        var rows = (data && data.silences) || [];
        dom().table("atab-silences", {
          head: ["Bot", "Rule", "Severity", "Until", "Ends", "By", "Comment", "Expire"],
          rows: rows.map(row), empty: "No silence."});
        return rows.length;
      }
    }
  });
})();
