// Live pages: badges follow their entries (GET /api/v1/events) and newer
// numbers are swapped in without a reload; the staff Refresh button says
// "refreshing" and then shows the fresh numbers. Pages work without this.
(function () {
  if (!window.EventSource || !window.fetch || !document.querySelector('.badge[data-key]')) return;
  var busy = false, again = null;
  // A badge may stand for several entries (their keys separated by spaces).
  function badges(key) {
    return document.querySelectorAll('.badge[data-key~="' + CSS.escape(key) + '"]');
  }
  function mark(key, status) {
    badges(key).forEach(function (b) {
      // One fresh entry does not make a badge of several fresh: the page
      // swapped in says what they are.
      if (status === 'fresh' && b.getAttribute('data-key').indexOf(' ') >= 0) return;
      b.className = 'badge ' + status;
      b.setAttribute('data-status', status);
      var text = b.getAttribute('data-text-' + status);
      if (text) b.textContent = text;
    });
  }
  // Puts the <main> of a page (this one, or what `answer` brings) in place.
  function swap(answer, then) {
    if (busy) { again = then || function () {}; return; }
    busy = true;
    (answer || fetch(location.href, { credentials: 'same-origin' }))
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var main = new DOMParser().parseFromString(html, 'text/html').querySelector('main');
        if (main) { document.querySelector('main').replaceWith(main); bind(); }
        if (then) then();
      })
      .catch(function () {})
      .then(function () {
        busy = false;
        if (again) { var next = again; again = null; swap(null, next); }
      });
  }
  function bind() {
    document.querySelectorAll('form[action="/refresh/"]').forEach(function (form) {
      form.addEventListener('submit', function (e) {
        e.preventDefault();
        var key = form.querySelector('[name=key]').value, button = form.querySelector('button');
        button.disabled = true;
        button.textContent = button.getAttribute('data-busy');
        var post = fetch('/refresh/', {
          method: 'POST', credentials: 'same-origin',
          body: new URLSearchParams(new FormData(form))
        });
        swap(post, function () { mark(key, 'fresh'); });
      });
    });
  }
  bind();
  function onEntry(m) {
    var e = JSON.parse(m.data);
    if (!badges(e.key).length) return;
    if (e.status === 'stale') {
      mark(e.key, 'stale');
      swap(); // reading the stale entry starts its recomputation
    } else if (e.status === 'fresh') {
      swap(null, function () { mark(e.key, 'fresh'); });
    }
  }
  // The browser reconnects by itself after a dropped connection, but not
  // after an answer other than 200 (a busy server): then this tries again,
  // waiting longer each time, and reloads the numbers it may have missed.
  // `closed` means a newer page of the same reader took this stream's
  // place, or the sign-in ended: then the page stops listening.
  var wait = 2000;
  function listen() {
    var source = new EventSource('/api/v1/events');
    source.addEventListener('open', function () { wait = 2000; });
    source.addEventListener('entry', onEntry);
    source.addEventListener('closed', function () { source.close(); });
    source.addEventListener('error', function () {
      if (source.readyState !== EventSource.CLOSED) return;
      setTimeout(function () { swap(); listen(); }, wait);
      wait = Math.min(wait * 2, 60000);
    });
  }
  listen();
})();
