// Live updates: the server's stream says what changed; the page re-fetches those sections, already
// rendered (and escaped) by the server, and swaps them in. Without this script the page refreshes itself.
(function () {
  'use strict';
  if (!window.EventSource || !window.fetch) {
    return;
  }
  var sectionsByChange = {
    CLIENTS: ['online', 'overview'],
    SUBSCRIPTIONS: [],
    MESSAGES: ['recent', 'overview'],
    RETAINED: ['retained', 'recent', 'overview'],
    ACKS: []
  };
  var loading = {};

  function refresh(name) {
    var element = document.querySelector('[data-fragment="' + name + '"]');
    if (!element || loading[name]) {
      return;
    }
    loading[name] = true;
    fetch('/fragments/' + name, { headers: { 'Accept': 'text/html' }, credentials: 'same-origin' })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) {
        var template = document.createElement('template');
        template.innerHTML = html.trim();
        var fresh = template.content.firstElementChild;
        var current = document.querySelector('[data-fragment="' + name + '"]');
        if (fresh && current) {
          current.replaceWith(fresh);
        }
      })
      .catch(function () { /* the next update tries again */ })
      .then(function () { loading[name] = false; });
  }

  var stream = new EventSource('/api/live');
  stream.onmessage = function (event) {
    var update = JSON.parse(event.data);
    var wanted = { overview: true };
    (update.changes || []).forEach(function (change) {
      (sectionsByChange[change] || []).forEach(function (name) { wanted[name] = true; });
    });
    Object.keys(wanted).forEach(refresh);
  };
})();
