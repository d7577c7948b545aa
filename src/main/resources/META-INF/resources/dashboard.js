// The retained page's restore: while one runs, its counts are read once a second and shown.
(function () {
  'use strict';
  var section = document.querySelector('[data-restore]');
  if (!section || section.getAttribute('data-restore') !== 'running' || !window.fetch) {
    return;
  }
  var status = document.getElementById('restore-status');
  var button = section.querySelector('button');

  function time(millis) {
    return new Date(millis).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  }

  function show(p) {
    if (p.running) {
      status.textContent = 'Restoring since ' + time(p.startedAt) + ': ' + p.brokerRetained + ' on the broker so far, '
        + p.stored + ' stored; ' + p.tableRetained + ' rows read, ' + p.republished + ' republished.';
    } else if (p.phase === 'failed') {
      status.textContent = 'Last restore failed, ' + time(p.finishedAt) + ': ' + p.error;
    } else {
      status.textContent = 'Last restore, ' + time(p.finishedAt) + ': ' + p.brokerRetained + ' on the broker, '
        + p.tableRetained + ' in mqtt_retain; ' + p.stored + ' stored, ' + p.republished + ' republished'
        + (p.notRepublishable > 0 ? ', ' + p.notRepublishable + ' without payload to republish' : '')
        + (p.passedOver > 0 ? ', ' + p.passedOver + ' QoS 0 passed over' : '') + '.';
    }
  }

  function poll() {
    fetch('/api/retained/restore', { headers: { 'Accept': 'application/json' }, credentials: 'same-origin' })
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
      .then(function (p) {
        show(p);
        if (p.running) {
          setTimeout(poll, 1000);
        } else {
          section.setAttribute('data-restore', 'idle');
          button.disabled = false;
        }
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  poll();
})();

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

  // One stream while the page is visible: a hidden tab closes its stream (the server holds a limited
  // number) and opens a new one when shown again. The server ends each stream after a while; EventSource
  // then reconnects by itself. A refused stream (503: too many open) is tried again later.
  var stream = null;
  var retry = null;

  function onUpdate(event) {
    var update = JSON.parse(event.data);
    var wanted = { overview: true };
    (update.changes || []).forEach(function (change) {
      (sectionsByChange[change] || []).forEach(function (name) { wanted[name] = true; });
    });
    Object.keys(wanted).forEach(refresh);
  }

  function open() {
    if (stream || document.hidden) {
      return;
    }
    stream = new EventSource('/api/live');
    stream.addEventListener('message', onUpdate);
    // What changed between the page's rendering (or the last stream's end) and this stream was not heard of.
    stream.addEventListener('open', function () {
      ['overview', 'online', 'retained', 'recent'].forEach(refresh);
    });
    stream.addEventListener('error', function () {
      if (stream && stream.readyState === EventSource.CLOSED) {
        stream = null;
        clearTimeout(retry);
        retry = setTimeout(open, 30000);
      }
    });
  }

  function close() {
    clearTimeout(retry);
    if (stream) {
      stream.close();
      stream = null;
    }
  }

  document.addEventListener('visibilitychange', function () {
    if (document.hidden) {
      close();
    } else {
      open();
      // What changed while hidden was not heard of: refresh every section.
      ['overview', 'online', 'retained', 'recent'].forEach(refresh);
    }
  });
  open();
})();
