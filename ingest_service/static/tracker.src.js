/*
 * clik browser tracker: the readable source of tracker.js.
 *
 * tracker.js is this file with comments and spaces removed by `python tests/tracker/build.py`
 * (rjsmin); a test fails when the two differ or the result grows past 2 KB gzipped. Local names
 * are short on purpose: they survive minification. Production code reads time only through
 * Date.now(), which test pages replace to control the clock.
 *
 * One tag:  <script defer src=".../tracker.js" data-user-code="myclik" data-share-code="qr1"
 *            data-contact-id="c-42" [data-endpoint=URL] [data-page-type=T] [data-respect-dnt="true"]>
 *
 * localStorage keys:
 *   clik:s:<user code>  the session {i: id, t: last activity}; a new one after 30 idle minutes
 *   clik:q:<tab id>     this page's unsent events {t: heartbeat, e: [event]}. Only this page
 *                       writes it, so tabs never race on one queue. t = 0 releases it on
 *                       pagehide; a queue whose heartbeat is 5 minutes old belongs to a dead
 *                       tab. Either is adopted by the next page (under a Web Lock, so one page
 *                       takes it) and sent from there: events survive reloads and closed tabs.
 *   clik:f              shared backoff {n: failures, u: retry time} while the server fails
 *   clik:ok             time of the last request the server answered
 *   clik:disabled       "1" opts this browser out
 */
(function (w, d, N, L) {
  // s: this script, o: its data attributes, T: this page's queue key, fl: keys in flight,
  // last: last path recorded, rt: retry timer.
  var s = d.currentScript, o = s && s.dataset, S, T, EP, last, fl = [], busy, again, rt;
  try { L = w.localStorage; } catch (x) {}
  if (!o || !o.userCode || !L || L['clik:disabled'] == 1 ||
      (o.respectDnt == 'true' && (N.doNotTrack == 1 || w.doNotTrack == 1))) return;
  EP = o.endpoint || new URL(s.src).origin + '/api/analytics/ingest';
  S = 'clik:s:' + o.userCode;

  var now = () => Date.now(), iso = t => new Date(t).toISOString(),
      get = k => { try { return JSON.parse(L.getItem(k)); } catch (x) {} },
      set = (k, v) => { try { L.setItem(k, JSON.stringify(v)); } catch (x) {} },
      // An event's identity: its id, or for a session event its session id.
      key = e => e.data.id || e.data.session_id, keys = a => a.map(key), has = (ks, e) => ks.includes(key(e));

  // UUIDv7: 48-bit millisecond time, version 7, variant 10, the rest random. Time-ordered ids
  // keep the server's primary-key index compact.
  function uuid(t) {
    var b = crypto.getRandomValues(new Uint8Array(16)), h = '', i;
    for (i = 0; i < 6; i++) b[i] = t / 2 ** (40 - 8 * i) & 255;
    b[6] = b[6] & 15 | 112;
    b[8] = b[8] & 63 | 128;
    // 680 has bits 3, 5, 7 and 9 set: a dash after those bytes.
    for (i = 0; i < 16; i++) h += (b[i] + 256).toString(16).slice(1) + (680 >> i & 1 ? '-' : '');
    return h;
  }
  T = 'clik:q:' + uuid(now());

  // save: writes this page's queue with a fresh heartbeat, capped at the 200 newest events.
  var queue = () => (get(T) || {}).e || [],
      save = e => e.length ? set(T, { t: now(), e: e.slice(-200) }) : L.removeItem(T),
      drop = ks => save(queue().filter(e => !has(ks, e)));

  // Queues one event (after a session event when a new session starts); sends at once when it
  // is urgent (a contact click) or 20 events wait.
  function add(data, type, t, urgent) {
    var x = get(S), e = [];
    if (!x || t - x.t > 18e5) {
      x = { i: uuid(t) };
      e = [{ type: 'session', data: base(x.i, { first_seen: iso(t), user_agent: N.userAgent, referrer: d.referrer || null }) }];
    }
    x.t = t;
    set(S, x);
    save(e = queue().concat(e, { type, data: base(x.i, data) }));
    if (urgent || e.length - fl.length > 19) flush();
  }
  // Fields every event carries.
  var base = (i, data) => ({ ...data, session_id: i, user_code: o.userCode,
                             share_code: o.shareCode || null, contact_id: o.contactId || null });
  var body = b => JSON.stringify({ sent_at: iso(now()), events: b });

  // Sends the 20 oldest events, one request at a time per page. 2xx and other 4xx answers are
  // final (the server's per-event rejections included): those events leave the queue. 429, 5xx
  // and network failures keep them and set the shared backoff: 2^n seconds with jitter, capped
  // at 64 s, never sooner than Retry-After (seconds or an HTTP date).
  function flush() {
    var f = get('clik:f'), q = queue().slice(0, 20);
    if (busy) return again = 1;
    if (f && f.u > now()) { clearTimeout(rt); rt = setTimeout(flush, f.u - now()); return; }
    if (!q.length) return;
    busy = 1;
    again = 0;
    fl = keys(q);
    // A string body goes as text/plain: a "simple" request, so no CORS preflight. keepalive
    // lets the request finish when the page is left right after a contact click. A request
    // that hangs is given up after 30 s (then retried like any failure).
    fetch(EP, { method: 'POST', body: body(q), keepalive: true,
                signal: AbortSignal.timeout?.(3e4) }).then(r => {
      if (r.status == 429 || r.status > 499) throw r;
      L.removeItem('clik:f');
      set('clik:ok', now());
      drop(fl);
    }).catch(r => {
      var n = ((get('clik:f') || {}).n || 0) + 1, a = r.headers?.get('Retry-After');
      set('clik:f', { n, u: now() + Math.max(2 ** Math.min(n, 6) * 500 * (1 + Math.random()),
                                               1e3 * a || Date.parse(a) - now() || 0) });
    }).then(() => {
      busy = 0;
      fl = [];
      if (again || queue().length > 19 || get('clik:f')) flush();
    });
  }

  // Page hidden or left. While the server answers (a success in the last 10 minutes and no
  // failure since) the waiting events go by sendBeacon and leave the queue, and on pagehide the
  // ones in flight are left to their keepalive request. Otherwise nothing is trusted to a
  // beacon whose fate is unknown: the events stay queued for the next page (a duplicate there
  // is harmless, a loss is not). On pagehide whatever remains is released to the next page.
  function hide(ev) {
    var sent = [], p = queue().filter(e => !has(fl, e)), i, c,
        gone = ev.type == 'pagehide';
    if (!get('clik:f') && now() - get('clik:ok') < 6e5) {
      for (i = 0; i < p.length; i += 20)
        if (N.sendBeacon(EP, body(c = p.slice(i, i + 20)))) sent = sent.concat(keys(c));
      drop(gone ? sent.concat(fl) : sent);
    }
    if (gone && (p = queue()).length) set(T, { t: 0, e: p });
  }

  // Merges the queues of left or dead pages into this one, skipping events it already holds.
  function adopt() {
    var e = queue(), mine = keys(e), n = e.length, i, k, x;
    for (i = L.length; i--;) {
      k = L.key(i);
      x = k && !k.indexOf('clik:q:') && k != T && get(k);
      if (x && (!x.t || now() - x.t > 3e5)) {
        (x.e || []).forEach(z => has(mine, z) || e.push(z));
        save(e);
        L.removeItem(k);
      }
    }
    if (e.length > n) flush();
  }
  var take = () => N.locks ? N.locks.request('clik:adopt', adopt) : adopt();

  // One page view per path: a page load, pushState/replaceState to another path, back/forward
  // (popstate) and a page restored from the back-forward cache.
  function view() {
    var t = now(), p = location.pathname, b = d.body?.dataset.pageType;
    if (p != last) {
      last = p;
      add({ id: uuid(t), page_type: (b || o.pageType || p.split('/')[1] || 'home').slice(0, 64),
            viewed_at: iso(t) }, 'page_view', t);
    }
  }

  // A click on (or inside) an element with data-clik-click, or on a tel:, mailto: or WhatsApp
  // link (those are contact clicks, sent at once). Capture phase: a page handler that stops
  // propagation or navigates away runs after this one.
  function click(ev) {
    var g = ev.target, c = g.closest?.('[data-clik-click]'), a = g.closest?.('a[href]'),
        h = a && a.href, t = now(),
        k = a && (/^tel:/i.test(h) ? 'phone' : /^mailto:/i.test(h) ? 'email' :
                  /^(whatsapp:|https?:\/\/(wa\.me|api\.whatsapp\.com)\/)/i.test(h) ? 'whatsapp' : 0),
        tg = c && c.dataset.clikClick || k;
    if (tg) add({ id: uuid(t), click_target: tg.slice(0, 128),
                  click_category: c && c.dataset.clikCategory || (k ? 'contact' : null),
                  clicked_at: iso(t) }, 'click', t, k);
  }

  ['pushState', 'replaceState'].forEach(m => {
    var f = history[m];
    history[m] = function () { var r = f.apply(this, arguments); view(); return r; };
  });
  w.addEventListener('popstate', view);
  w.addEventListener('pageshow', e => e.persisted && view(last = 0));
  w.addEventListener('pagehide', hide);
  d.addEventListener('visibilitychange', e => d.hidden && hide(e));
  d.addEventListener('click', click, true);
  // Every 10 seconds: heartbeat, adopt orphaned queues, send what waits.
  setInterval(() => { save(queue()); take(); flush(); }, 1e4);
  view();
  take();
})(window, document, navigator);
