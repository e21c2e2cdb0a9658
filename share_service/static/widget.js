/* share_service widget: <script src="https://SHARE-HOST/widget.js" async></script>, then
   <div data-share-widget></div> or <share-buttons></share-buttons>. Options: docs/readme/widget.md.
   No dependencies, no eval, no inline style; each bar lives in an open shadow root styled by
   widget.css only. Nothing is requested from a third party before a click; no cookie, no storage.
   Modern syntax (arrow functions, ?., template strings): the widget already needs shadow DOM,
   custom elements and <dialog>, which every browser with those understands.
   The service drops comments and whitespace when serving this file (rjsmin, widget_assets.py);
   keep regular expressions out of the spot right after `=>` (wrap them in parentheses there). */
(() => {
  'use strict';
  if (window.ShareServiceWidget) return; // included twice: the first copy does the work
  // Networks (names, popup sizes), their icons, messages, sites and UTM rules, injected by the
  // service from its Python single sources (networks.py, i18n.py, the site configuration).
  const C = /*@CONFIG@*/null;
  // "https://share.example/", from this script's own address (document.currentScript is valid
  // only now, while the script first runs)
  const BASE = (document.currentScript?.src || '').replace(/widget\.js([?#].*)?$/, '');
  const ICON = { // 24x24 paths of the widget's own buttons
    copy: 'M8 3h11v13h-2V5H8zM4 7h11v14H4zm2 2v10h7V9z',
    qr: 'M3 3h8v8H3zm2 2v4h4V5zm8-2h8v8h-8zm2 2v4h4V5zM3 13h8v8H3zm2 2v4h4v-4zm8-2h3v3h-3zm5 0h3v3h-3zm-5 5h3v3h-3zm5 0h3v3h-3z',
    native: 'M12 2l5 5-1.4 1.4L13 5.8V15h-2V5.8L8.4 8.4 7 7zM4 12h2v8h12v-8h2v10H4z'
  };

  const warn = e => console.warn('share widget:', e);
  // Every entry point is wrapped: the widget reports to the console, never throws into the page.
  const safe = fn => function (...args) { try { return fn.apply(this, args); } catch (e) { warn(e); } };
  const on = (el, type, fn) => el.addEventListener(type, safe(fn));

  // --- URLs (the same rules as share_service/urls.py) -----------------------------------------
  const qs = o => Object.keys(o).filter(k => o[k]).map(k => `${k}=${encodeURIComponent(o[k])}`).join('&');
  // The query string minus the parameters `drop` matches; the others kept byte for byte.
  function keep(search, drop) {
    const kept = search.slice(1).split('&').filter(p => {
      try { return p && !drop(decodeURIComponent(p.split('=')[0]).toLowerCase()); } catch (e) { return true; }
    });
    return kept[0] ? '?' + kept.join('&') : '';
  }
  const isUtm = k => k.startsWith('utm_');
  function clean(url) { // without utm_* and the click ids of urls.TRACKING_PARAMS
    const u = new URL(url, location.href);
    u.search = keep(u.search, k => isUtm(k) || C.tracking.includes(k));
    return u.href;
  }
  function utm(site, channel) { // {utm_source: "facebook", ...} as urls.utm_values gives it
    const out = {};
    if (site.utm) for (const k of ['source', 'medium', 'campaign']) out['utm_' + k] = site.utm[k].split('{network}').join(channel);
    return out;
  }
  function tag(o, channel) { // the article URL to share on a channel (urls.tag)
    const u = new URL(o.url), extra = qs(utm(o.site, channel));
    if (extra) u.search += (u.search ? '&' : '?') + extra;
    return u.href;
  }
  // Site.allows_host: the host itself, or any subdomain of a "*.example.fr" entry
  const owns = (site, host) => site.hosts.some(h => h === host || (h.startsWith('*.') && (host === h.slice(2) || host.endsWith(h.slice(1)))));
  // the site owning a host, else the default one (config.resolve_site)
  const siteFor = host => C.sites.find(s => owns(s, host)) || C.sites[0];
  const meta = (sel, attr) => document.querySelector(sel)?.getAttribute(attr) || '';

  // --- the service ---------------------------------------------------------------------------
  function beacon(ev) { // text/plain sendBeacon: no preflight, survives leaving the page
    try { navigator.sendBeacon(BASE + 'api/v1/events', JSON.stringify(ev)); } catch (e) { warn(e); }
  }
  const getJSON = (path, params) => fetch(`${BASE}${path}?${qs(params)}`, { credentials: 'omit' }).then(r => {
    if (!r.ok) throw new Error(path + ' ' + r.status);
    return r.json();
  });

  // --- DOM -----------------------------------------------------------------------------------
  // An element with attributes (null ones left out) and children (null ones left out); `ns` for SVG.
  function h(tag, attrs, kids, ns) {
    const el = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
    for (const k in attrs) if (attrs[k] != null) el.setAttribute(k, attrs[k]);
    el.append(...(kids || []).filter(c => c != null));
    return el;
  }
  // a decorative icon (a path in a `size` square, 24 for the widget's own): the control around
  // it carries the name
  const SVG = 'http://www.w3.org/2000/svg';
  const icon = (d, size = 24) => h('svg', { viewBox: `0 0 ${size} ${size}`, 'aria-hidden': 'true' }, [h('path', { d }, null, SVG)], SVG);
  let ids = 0;
  const uid = () => 'ssw' + ++ids; // ids unique in the page, so within each shadow root

  // --- options: data-* attributes (or the same names bare on <share-buttons>) ---------------
  function options(el) {
    const a = k => el.getAttribute('data-' + k) ?? el.getAttribute(k);
    const flag = (k, dflt) => { const v = a(k); return v == null ? dflt : /^(|1|true|yes|on)$/i.test(v.trim()); };
    const pick = (k, re, dflt) => re.test(a(k)) ? a(k) : dflt;
    const url = clean(a('url') || meta('link[rel=canonical]', 'href') || location.href);
    const host = new URL(url).hostname, site = siteFor(host);
    // an article the service would refuse: no bar at all rather than broken links
    if (!owns(site, host)) throw new Error('host not allowed for this site: ' + host);
    let lang = (a('lang') || el.closest('[lang]')?.lang || '').toLowerCase().split(/[-_]/)[0];
    if (!C.langs.includes(lang)) lang = site.lang;
    const wanted = (a('networks') || '').toLowerCase().split(/[\s,]+/).map(n => C.alias[n] || n);
    return {
      url, site, lang, m: C.msg[lang],
      // the site's networks, or fewer, in the order asked
      nets: wanted[0] ? wanted.filter((n, i) => site.nets.includes(n) && wanted.indexOf(n) === i) : site.nets,
      title: (a('title') || meta('meta[property="og:title"]', 'content') || document.title).slice(0, 300),
      text: a('text'),
      image: a('image') || meta('meta[property="og:image"]', 'content'),
      layout: pick('layout', /^(vertical|icons|labels)$/, 'horizontal'),
      theme: pick('theme', /^(dark|auto|brand|custom)$/, 'light'),
      counts: flag('counts', false),
      more: Math.min(C.moreMax, parseInt(a('more') ?? site.more, 10) || 0), // the site's default
      copy: flag('copy', true),
      qr: flag('qr', true),
      native: flag('native', true) && !!navigator.share
    };
  }

  // --- one bar -------------------------------------------------------------------------------
  function render(host) {
    if (host.shadowRoot) return;
    const o = options(host), shadow = host.attachShadow({ mode: 'open' });
    if (o.m) return draw(shadow, o);
    // A language no configured site uses: its messages come once from the service's table.
    (C.wait[o.lang] ||= getJSON('widget/messages.json', { lang: o.lang })).then(t => {
      o.m = C.msg[o.lang] = t;
    }, () => {
      o.m = C.msg[o.lang = o.site.lang];
    }).then(() => safe(draw)(shadow, o));
  }

  function draw(shadow, o) {
    const m = o.m, counts = {};
    let timer;
    const w = h('div', { class: `w t-${o.theme} l-${o.layout}`, lang: o.lang, hidden: '' });
    const css = h('link', { rel: 'stylesheet', href: BASE + 'widget.css' });
    const status = h('p', { class: 'st', role: 'status' }); // exists, empty, from the start
    const list = h('ul', { class: 'b', role: 'list' });
    // shown once styled (or if the stylesheet fails): no flash of unstyled buttons
    css.onload = css.onerror = () => { w.hidden = false; };
    w.append(h('div', { role: 'group', 'aria-label': m.share_bar }, [list, status]));
    shadow.append(css, w);

    function add(control, id) {
      const li = h('li', null, [control]);
      if (o.counts && id) li.append(counts[id] = h('span', { class: 'c', hidden: '' }));
      list.append(li);
    }
    // one of the widget's own buttons (copy, qr, native), added to the bar; `run(button)` on click
    function button(kind, label, run) {
      const b = h('button', { type: 'button', class: 's k-' + kind }, [icon(ICON[kind]), h('span', { class: 'l' }, [label])]);
      on(b, 'click', () => run(b));
      add(b);
      return b;
    }
    function say(text) { // the "copied" message in the live region, long enough to read
      status.textContent = text;
      clearTimeout(timer);
      timer = setTimeout(() => { status.textContent = ''; }, 6000);
    }
    // A modal <dialog> labelled by its heading; Escape closes it (native); focus returns to
    // the control that opened it.
    function dialog(title, body, opener) {
      const id = uid(), close = h('button', { type: 'button', class: 'x' }, [m.close]);
      // everything inside one box: a click whose target is the <dialog> itself is on its backdrop
      const d = h('dialog', { 'aria-labelledby': id }, [h('div', null, [h('h2', { id }, [title]), ...body, close])]);
      on(close, 'click', () => d.close());
      on(d, 'click', e => e.target === d && d.close());
      on(d, 'close', () => { d.remove(); opener.focus(); });
      w.append(d);
      d.showModal();
    }
    // The share dialog in a sized popup. Opened blank, then pointed at the link: window.open
    // with 'noopener' returns null even on success, so a blocked popup could not be told apart;
    // here null means blocked and the page navigates instead. Either way one request reaches
    // the link, so the share is counted exactly once. The opener is cut before leaving.
    function popup(href, width, height) {
      const win = window.open('', '_blank', `popup,width=${width},height=${height}`);
      if (!win) return location.assign(href);
      win.opener = null;
      win.location.href = href;
    }

    for (const id of o.nets) {
      // the registry's name, popup size (0 x 0: no popup) and names that differ by language
      const [netName, width, height, labels] = C.nets[id];
      const name = labels?.[o.lang] || netName;
      const label = id === 'email' ? m.share_email : m.share_on.replace('{network}', name);
      const a = h('a', {
        class: 's n-' + id, rel: 'noopener', target: width ? '_blank' : null,
        // the tracked redirect: counts one share, then 302 to the network's share page
        href: `${BASE}s/${id}?` + qs({ url: o.url, title: o.title, text: o.text, image: o.image, lang: o.lang }),
        'aria-label': width ? label + ' ' + m.new_window : label
      }, [icon(C.icons[id], C.iconBox), h('span', { class: 'l' }, [o.layout === 'labels' ? label : name])]);
      on(a, 'click', e => {
        if (e.ctrlKey || e.metaKey || e.shiftKey || e.altKey || !width) return; // browser's way
        e.preventDefault();
        popup(a.href, width, height);
      });
      add(a, id);
    }

    if (o.copy) {
      const field = h('input', { class: 'cf', readonly: '', hidden: '', 'aria-label': m.link_label });
      button('copy', m.copy, () => {
        const link = tag(o, 'copy');
        const done = () => { say(m.copied); beacon({ type: 'copy', url: o.url }); };
        // Without the async Clipboard API (or outside a secure context): a visible, selected
        // read-only field, and execCommand('copy') where the browser still honours it.
        function fallback() {
          field.value = link;
          field.hidden = false;
          field.select();
          let ok = false;
          try { ok = document.execCommand('copy'); } catch (e) { /* unsupported */ }
          if (ok) done(); else say(m.copy_failed);
        }
        if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(link).then(done, fallback);
        else fallback();
      });
      w.append(field);
    }
    if (o.qr) {
      button('qr', m.qr, qr => {
        dialog(m.qr_title, [h('img', {
          class: 'qr', width: 240, height: 240, alt: m.qr_alt,
          src: BASE + 'qr?' + qs({ url: o.url, format: 'svg' }) // /qr tags it utm_source=qr
        })], qr);
        beacon({ type: 'qr', url: o.url });
      }).setAttribute('aria-haspopup', 'dialog');
    }
    if (o.native) {
      button('native', m.native, () => navigator.share({ title: o.title, text: o.text || o.title, url: tag(o, 'native') })
        .then(() => beacon({ type: 'native', url: o.url }), () => { /* cancelled: nothing shared */ }));
    }

    if (o.counts) getJSON('api/v1/counts', { url: o.url }).then(data => {
      for (const id in counts) {
        const n = data.networks[id] || 0;
        counts[id].append(h('span', { 'aria-hidden': 'true' }, [n]), h('span', { class: 'sr' }, [m.shares.replace('{count}', n)]));
        counts[id].title = m.counts_note;
        counts[id].hidden = false;
      }
    }).catch(warn);

    if (o.more > 0) more(o, w);
  }

  // « Plus de contenu »: recommended articles; nothing shown while empty or unreachable.
  function more(o, w) {
    getJSON('api/v1/recommendations', { url: o.url, limit: o.more }).then(data => {
      // how the items were chosen ("words" or "semantic"), reported with the beacons
      const items = data.items.slice(0, o.more), id = uid(), method = data.method || 'words';
      if (!items[0]) return;
      const box = h('section', { class: 'mc', 'aria-labelledby': id }, [h('h2', { id }, [o.m.more]), h('ul', { role: 'list' }, items.map(it => {
        const a = h('a', { href: it.url }, [
          it.image && h('img', { src: it.image, alt: '', loading: 'lazy', width: it.image_width || 320, height: it.image_height || 180 }),
          it.section && h('span', { class: 'se' }, [it.section]),
          h('span', { class: 'ti' }, [it.title])
        ]);
        on(a, 'click', () => beacon({ type: 'rec_click', url: o.url, target: it.canonical_url || it.url, method }));
        return h('li', null, [a]);
      }))]);
      w.append(box);
      // one impression per box, when at least a quarter of it is on screen
      const io = new IntersectionObserver(entries => {
        if (entries[0].isIntersecting) {
          io.disconnect();
          beacon({ type: 'rec_impression', url: o.url, method });
        }
      }, { threshold: 0.25 });
      io.observe(box);
    }).catch(warn);
  }

  // --- clickbacks: the reader arrived through one of our tagged links ------------------------
  // One `visit` beacon per page view, then our tags leave the address bar (history.replaceState),
  // so a reload, a bookmark or a re-share is not counted again. No cookie, no storage.
  function clickback() {
    const p = new URLSearchParams(location.search), site = siteFor(location.hostname);
    const channel = C.sources.find(c => {
      const u = utm(site, c);
      return u.utm_source === p.get('utm_source') && u.utm_medium === p.get('utm_medium');
    });
    if (!channel) return;
    beacon({
      type: 'visit', url: clean(meta('link[rel=canonical]', 'href') || location.href), network: channel,
      utm_medium: p.get('utm_medium'), utm_campaign: p.get('utm_campaign') || undefined
    });
    history.replaceState(history.state, '', location.pathname + keep(location.search, isUtm) + location.hash);
  }

  const scan = () => document.querySelectorAll('[data-share-widget]').forEach(safe(render));

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
