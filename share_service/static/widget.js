/* share_service widget: <script src="https://SHARE-HOST/widget.js" async></script>, then
   <div data-share-widget></div> or <share-buttons></share-buttons>. Options: docs/readme/widget.md.
   No dependencies, no eval, no inline style; each bar lives in an open shadow root styled by
   widget.css only. Nothing is requested from a third party before a click; no cookie, no storage.
   The service strips comments and indentation when serving this file (widget_assets.py). */
(function () {
  'use strict';
  if (window.ShareServiceWidget) return; // included twice: the first copy does the work
  // Networks (names, popup sizes, icons), messages, sites and UTM rules, injected by the service
  // from its Python single sources (networks.py, i18n.py, the site configuration).
  var C = /*@CONFIG@*/null;
  var me = document.currentScript; // valid only now, while the script first runs
  var BASE = ((me && me.src) || '').replace(/widget\.js([?#].*)?$/, ''); // "https://share.example/"
  var ICON = { // 24x24 paths of the widget's own buttons
    copy: 'M8 3h11v13h-2V5H8zM4 7h11v14H4zm2 2v10h7V9z',
    qr: 'M3 3h8v8H3zm2 2v4h4V5zm8-2h8v8h-8zm2 2v4h4V5zM3 13h8v8H3zm2 2v4h4v-4zm8-2h3v3h-3zm5 0h3v3h-3zm-5 5h3v3h-3zm5 0h3v3h-3z',
    native: 'M12 2l5 5-1.4 1.4L13 5.8V15h-2V5.8L8.4 8.4 7 7zM4 12h2v8h12v-8h2v10H4z'
  };

  function warn(e) { console.warn('share widget:', e); }
  // Every entry point is wrapped: the widget reports to the console, never throws into the page.
  function safe(fn) {
    return function () { try { return fn.apply(this, arguments); } catch (e) { warn(e); } };
  }
  function on(el, type, fn) { el.addEventListener(type, safe(fn)); }

  // --- URLs (the same rules as share_service/urls.py) -----------------------------------------
  function qs(o) {
    return Object.keys(o).filter(function (k) { return o[k]; }).map(function (k) {
      return k + '=' + encodeURIComponent(o[k]);
    }).join('&');
  }
  // The query string minus the parameters `drop` matches; the others kept byte for byte.
  function keep(search, drop) {
    var kept = search.slice(1).split('&').filter(function (p) {
      try { return p && !drop(decodeURIComponent(p.split('=')[0]).toLowerCase()); } catch (e) { return true; }
    });
    return kept.length ? '?' + kept.join('&') : '';
  }
  function isUtm(k) { return k.indexOf('utm_') === 0; }
  function clean(url) { // without utm_* and the click ids of urls.TRACKING_PARAMS
    var u = new URL(url, location.href);
    u.search = keep(u.search, function (k) { return isUtm(k) || C.tracking.indexOf(k) >= 0; });
    return u.href;
  }
  function utm(site, channel) { // {utm_source: "facebook", ...} as urls.utm_values gives it
    var out = {};
    if (site.utm) ['source', 'medium', 'campaign'].forEach(function (k) {
      out['utm_' + k] = site.utm[k].split('{network}').join(channel);
    });
    return out;
  }
  function tag(o, channel) { // the article URL to share on a channel (urls.tag)
    var u = new URL(o.url), extra = qs(utm(o.site, channel));
    if (extra) u.search = (u.search ? u.search + '&' : '?') + extra;
    return u.href;
  }
  function owns(site, host) { // Site.allows_host
    return site.hosts.some(function (h) {
      return h === host || (h.slice(0, 2) === '*.' && (host === h.slice(2) || host.slice(1 - h.length) === h.slice(1)));
    });
  }
  function siteFor(host) { // the site owning a host, else the default one (config.resolve_site)
    return C.sites.filter(function (s) { return owns(s, host); })[0] || C.sites[0];
  }
  function meta(sel, attr) { var el = document.querySelector(sel); return el ? el.getAttribute(attr) : ''; }

  // --- the service ---------------------------------------------------------------------------
  function beacon(ev) { // text/plain sendBeacon: no preflight, survives leaving the page
    try { navigator.sendBeacon(BASE + 'api/v1/events', JSON.stringify(ev)); } catch (e) { warn(e); }
  }
  function getJSON(path, params) {
    return fetch(BASE + path + '?' + qs(params), { credentials: 'omit' }).then(function (r) {
      if (!r.ok) throw new Error(path + ' ' + r.status);
      return r.json();
    });
  }

  // --- DOM -----------------------------------------------------------------------------------
  function h(tag, attrs, kids) {
    var el = document.createElement(tag);
    for (var k in attrs) if (attrs[k] != null) el.setAttribute(k, attrs[k]);
    (kids || []).forEach(function (c) { if (c != null) el.append(c); });
    return el;
  }
  function icon(d) { // a decorative 24x24 icon: the control around it carries the name
    var ns = 'http://www.w3.org/2000/svg', s = document.createElementNS(ns, 'svg'), p = document.createElementNS(ns, 'path');
    p.setAttribute('d', d);
    s.append(p);
    s.setAttribute('viewBox', '0 0 24 24');
    s.setAttribute('aria-hidden', 'true');
    return s;
  }
  function uid() { return 'i' + Math.random().toString(36).slice(2); }

  // --- options: data-* attributes (or the same names bare on <share-buttons>) ---------------
  function options(el) {
    function a(k) { var v = el.getAttribute('data-' + k); return v == null ? el.getAttribute(k) : v; }
    function flag(k, dflt) { var v = a(k); return v == null ? dflt : /^(|1|true|yes|on)$/i.test(v.trim()); }
    function pick(k, re, dflt) { var v = a(k); return re.test(v) ? v : dflt; }
    var url = clean(a('url') || meta('link[rel=canonical]', 'href') || location.href);
    var host = new URL(url).hostname, site = siteFor(host);
    // an article the service would refuse: no bar at all rather than broken links
    if (!owns(site, host)) throw new Error('host not allowed for this site: ' + host);
    var langEl = el.closest('[lang]');
    var lang = (a('lang') || (langEl && langEl.lang) || '').toLowerCase().split(/[-_]/)[0];
    if (C.langs.indexOf(lang) < 0) lang = site.lang;
    var wanted = (a('networks') || '').toLowerCase().split(/[\s,]+/).map(function (n) { return C.alias[n] || n; });
    return {
      url: url, site: site, lang: lang, m: C.msg[lang],
      // the site's networks, or fewer, in the order asked
      nets: wanted[0] ? wanted.filter(function (n, i) { return site.nets.indexOf(n) >= 0 && wanted.indexOf(n) === i; }) : site.nets,
      title: (a('title') || meta('meta[property="og:title"]', 'content') || document.title).slice(0, 300),
      text: a('text'),
      image: a('image') || meta('meta[property="og:image"]', 'content'),
      layout: pick('layout', /^(vertical|icons|labels)$/, 'horizontal'),
      theme: pick('theme', /^(dark|auto|brand|custom)$/, 'light'),
      counts: flag('counts', false),
      more: Math.min(12, parseInt(a('more'), 10) || 0),
      copy: flag('copy', true),
      qr: flag('qr', true),
      native: flag('native', true) && !!navigator.share
    };
  }

  // --- one bar -------------------------------------------------------------------------------
  function render(host) {
    if (host.shadowRoot) return;
    var o = options(host), shadow = host.attachShadow({ mode: 'open' });
    if (o.m) return draw(shadow, o);
    // A language no configured site uses: its messages come once from the service's table.
    (C.wait[o.lang] = C.wait[o.lang] || getJSON('widget/messages.json', { lang: o.lang })).then(function (t) {
      o.m = C.msg[o.lang] = t;
    }, function () {
      o.m = C.msg[o.lang = o.site.lang];
    }).then(function () { safe(draw)(shadow, o); });
  }

  function draw(shadow, o) {
    var m = o.m, counts = {}, timer;
    var w = h('div', { class: 'w t-' + o.theme + ' l-' + o.layout, lang: o.lang, hidden: '' });
    var css = h('link', { rel: 'stylesheet', href: BASE + 'widget.css' });
    var status = h('p', { class: 'st', role: 'status' }); // exists, empty, from the start
    var list = h('ul', { class: 'b', role: 'list' });
    // shown once styled (or if the stylesheet fails): no flash of unstyled buttons
    css.onload = css.onerror = function () { w.hidden = false; };
    w.append(h('div', { role: 'group', 'aria-label': m.share_bar }, [list, status]));
    shadow.append(css, w);

    function add(control, id) {
      var li = h('li', null, [control]);
      if (o.counts && id) li.append(counts[id] = h('span', { class: 'c', hidden: '' }));
      list.append(li);
    }
    function button(kind, label) {
      return h('button', { type: 'button', class: 's k-' + kind }, [icon(ICON[kind]), h('span', { class: 'l' }, [label])]);
    }
    function say(text) { // the "copied" message in the live region, long enough to read
      status.textContent = text;
      clearTimeout(timer);
      timer = setTimeout(function () { status.textContent = ''; }, 6000);
    }
    // A modal <dialog> labelled by its heading; Escape closes it (native); focus returns to
    // the control that opened it.
    function dialog(title, body, opener) {
      var id = uid(), close = h('button', { type: 'button', class: 'x' }, [m.close]);
      var d = h('dialog', { 'aria-labelledby': id }, [h('h2', { id: id }, [title])].concat(body, [close]));
      on(close, 'click', function () { d.close(); });
      on(d, 'click', function (e) { // a click on the backdrop (not on the dialog's padding)
        var r = d.getBoundingClientRect();
        if (e.target === d && (e.clientX < r.left || e.clientX > r.right || e.clientY < r.top || e.clientY > r.bottom)) d.close();
      });
      on(d, 'close', function () { d.remove(); opener.focus(); });
      w.append(d);
      d.showModal();
      return d;
    }
    // The share dialog in a sized popup. Opened blank, then pointed at the link: window.open
    // with 'noopener' returns null even on success, so a blocked popup could not be told apart;
    // here null means blocked and the page navigates instead. Either way one request reaches
    // the link, so the share is counted exactly once. The opener is cut before leaving.
    function popup(href, net) {
      var win = window.open('', '_blank', 'popup,width=' + net.w + ',height=' + net.h);
      if (!win) return location.assign(href);
      win.opener = null;
      win.location.href = href;
    }

    o.nets.forEach(function (id) {
      var net = C.nets[id];
      var name = (net.labels && net.labels[o.lang]) || net.name;
      var label = id === 'email' ? m.share_email : m.share_on.replace('{network}', name);
      var a = h('a', {
        class: 's n-' + id, rel: 'noopener', target: net.w ? '_blank' : null,
        // the tracked redirect: counts one share, then 302 to the network's share page
        href: BASE + 's/' + id + '?' + qs({ url: o.url, title: o.title, text: o.text, image: o.image, lang: o.lang }),
        'aria-label': net.w ? label + ' ' + m.new_window : label
      }, [icon(net.icon), h('span', { class: 'l' }, [o.layout === 'labels' ? label : name])]);
      on(a, 'click', function (e) {
        if (e.ctrlKey || e.metaKey || e.shiftKey || e.altKey || !net.w) return; // browser's way
        e.preventDefault();
        popup(a.href, net);
      });
      add(a, id);
    });

    if (o.copy) {
      var copy = button('copy', m.copy);
      var field = h('input', { class: 'cf', readonly: '', hidden: '', 'aria-label': m.link_label });
      on(copy, 'click', function () {
        var link = tag(o, 'copy');
        function done() { say(m.copied); beacon({ type: 'copy', url: o.url }); }
        // Without the async Clipboard API (or outside a secure context): a visible, selected
        // read-only field, and execCommand('copy') where the browser still honours it.
        function fallback() {
          field.value = link;
          field.hidden = false;
          field.select();
          var ok = false;
          try { ok = document.execCommand('copy'); } catch (e) { /* unsupported */ }
          if (ok) done(); else say(m.copy_failed);
        }
        if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(link).then(done, fallback);
        else fallback();
      });
      add(copy);
      w.append(field);
    }
    if (o.qr) {
      var qr = button('qr', m.qr);
      qr.setAttribute('aria-haspopup', 'dialog');
      on(qr, 'click', function () {
        dialog(m.qr_title, [h('img', {
          class: 'qr', width: 240, height: 240, alt: m.qr_alt,
          src: BASE + 'qr?' + qs({ url: o.url, format: 'svg' }) // /qr tags it utm_source=qr
        })], qr);
        beacon({ type: 'qr', url: o.url });
      });
      add(qr);
    }
    if (o.native) {
      var share = button('native', m.native);
      on(share, 'click', function () {
        navigator.share({ title: o.title, text: o.text || o.title, url: tag(o, 'native') }).then(function () {
          beacon({ type: 'native', url: o.url });
        }, function () { /* cancelled: nothing shared */ });
      });
      add(share);
    }

    if (o.counts) getJSON('api/v1/counts', { url: o.url }).then(function (data) {
      for (var id in counts) {
        var n = data.networks[id] || 0;
        counts[id].append(h('span', { 'aria-hidden': 'true' }, [n]), h('span', { class: 'sr' }, [m.shares.replace('{count}', n)]));
        counts[id].title = m.counts_note;
        counts[id].hidden = false;
      }
    }).catch(warn);

    if (o.more > 0) more(o, w);
  }

  // « Plus de contenu »: recommended articles; nothing shown while empty or unreachable.
  function more(o, w) {
    getJSON('api/v1/recommendations', { url: o.url, limit: o.more }).then(function (data) {
      var items = data.items.slice(0, o.more), id = uid();
      if (!items.length) return;
      var box = h('section', { class: 'mc', 'aria-labelledby': id }, [h('h2', { id: id }, [o.m.more])]);
      box.append(h('ul', { role: 'list' }, items.map(function (it) {
        var a = h('a', { href: it.url }, [
          it.image && h('img', { src: it.image, alt: '', loading: 'lazy', width: it.image_width || 320, height: it.image_height || 180 }),
          it.section && h('span', { class: 'se' }, [it.section]),
          h('span', { class: 'ti' }, [it.title])
        ]);
        on(a, 'click', function () { beacon({ type: 'rec_click', url: o.url, target: it.canonical_url || it.url }); });
        return h('li', null, [a]);
      })));
      w.append(box);
      // one impression per box, when at least a quarter of it is on screen
      var io = new IntersectionObserver(function (entries) {
        if (entries[0].isIntersecting) {
          io.disconnect();
          beacon({ type: 'rec_impression', url: o.url });
        }
      }, { threshold: 0.25 });
      io.observe(box);
    }).catch(warn);
  }

  // --- clickbacks: the reader arrived through one of our tagged links ------------------------
  // One `visit` beacon per page view, then our tags leave the address bar (history.replaceState),
  // so a reload, a bookmark or a re-share is not counted again. No cookie, no storage.
  function clickback() {
    var p = new URLSearchParams(location.search), site = siteFor(location.hostname);
    var channel = C.sources.filter(function (c) {
      var u = utm(site, c);
      return u.utm_source === p.get('utm_source') && u.utm_medium === p.get('utm_medium');
    })[0];
    if (!channel) return;
    beacon({
      type: 'visit', url: clean(meta('link[rel=canonical]', 'href') || location.href), network: channel,
      utm_medium: p.get('utm_medium'), utm_campaign: p.get('utm_campaign') || undefined
    });
    history.replaceState(history.state, '', location.pathname + keep(location.search, isUtm) + location.hash);
  }

  function scan() { document.querySelectorAll('[data-share-widget]').forEach(safe(render)); }

  try {
    if (!C || !BASE) throw new Error('widget.js must be served by share_service');
    C.wait = {};
    window.ShareServiceWidget = { scan: safe(scan) }; // call after adding bars dynamically
    safe(clickback)();
    if (!customElements.get('share-buttons')) {
      customElements.define('share-buttons', class extends HTMLElement {
        connectedCallback() { safe(render)(this); }
      });
    }
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', scan);
    else scan();
  } catch (e) { warn(e); }
})();
