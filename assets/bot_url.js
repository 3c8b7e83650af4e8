/*
 * The page's chosen bot in its URL.
 *
 * botUrl (registered by app/dashboard/__init__.py): the bot selector (#bot-select) and the
 * URL's ?bot= follow each other.  On load and on Back/Forward the URL's bot becomes the
 * selector's value (assets/dashboard.js then opens the WebSocket for that view); choosing a
 * bot writes it to the URL with history.pushState, without reloading, so a per-bot view can
 * be bookmarked and survives a reload.  A bot the monitor has not heard of yet stays chosen:
 * the server lists it among the selector's options until it reports.  The URL's value is
 * only ever compared with a strict pattern and used as a value, never put into the page as HTML.
 */
(function () {
  "use strict";
  var BOT = /^[A-Za-z0-9_.-]{1,64}$/;
  var ALL = "__all__";
  var U = {ready: false, pushes: 0};
  window.__botUrl = U;  // for tests

  function nu() { return window.dash_clientside.no_update; }

  /* The URL's bot when it is a valid bot id, else null (all bots). */
  function urlBot() {
    var raw = new URLSearchParams(window.location.search).get("bot");
    return raw !== null && raw !== ALL && BOT.test(raw) ? raw : null;
  }
  function urlWith(bot) {
    var params = new URLSearchParams(window.location.search);
    if (bot) { params.set("bot", bot); } else { params.delete("bot"); }
    var q = params.toString();
    return window.location.pathname + (q ? "?" + q : "") + window.location.hash;
  }

  /* Back/Forward: the URL changed under the page (dcc.Location may not notice, its last
   * search being this same one): the selector follows.  A mounted selector keeps a value
   * missing from its options until they next change, and the server then lists the bot. */
  window.addEventListener("popstate", function () {
    if (U.ready && window.dash_clientside && window.dash_clientside.set_props) {
      window.dash_clientside.set_props("bot-select", {value: urlBot() || ALL});
    }
  });

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    botUrl: {
      fromUrl: function (_search, current, options) {
        var raw = new URLSearchParams(window.location.search).get("bot"), bot = urlBot();
        if (raw !== null && bot === null) {  // not a bot id: all bots, and the URL says so
          window.history.replaceState(window.history.state, "", urlWith(null));
        }
        U.ready = true;
        var want = bot || ALL;
        if (want === current) { return nu(); }
        /* The selector drops a value that is not among its options (also when it mounts after
         * this): list the bot first, in the same update (the server keeps listing it). */
        var opts = (options || []).slice();
        if (!opts.some(function (o) { return o && o.value === want; })) {
          opts.push({label: want, value: want});
          window.dash_clientside.set_props("bot-select", {options: opts});
        }
        return want;
      },
      toUrl: function (value) {
        if (!U.ready || value === null || value === undefined) {
          return;  // the URL is read first (the initial "all bots" must not erase it); null is no choice
        }
        var bot = value !== ALL && BOT.test(String(value)) ? String(value) : null;
        if (bot === urlBot()) { return; }
        U.pushes += 1;
        window.history.pushState(window.history.state, "", urlWith(bot));
      }
    }
  });
})();
