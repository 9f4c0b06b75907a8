// The System Log: Okta's `filter=` expression and a `since` time, the events newest
// first, live (every few seconds it follows the `next` link, Okta's way of polling
// the System Log: without `until` the link comes at the end of the data too, and
// asks again from the last event), a pause button, each event's detail, and a chart
// of sign-ins and failed sign-ins by hour.

import { h, pageHead, section, button, replace, when, badge, modal, details, form, toast, scroller } from '../kit.js';
import { barChart, bucketEvents } from '../chart.js';

const POLL_MS = 4000;
const PAGE = 1000;
/** Pages read when the page opens; more than this and only the newest are shown. */
const MAX_PAGES = 5;
const SHOWN = 300;

function localInput(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function actorName(e) {
  const a = e.actor || {};
  return a.displayName || a.alternateId || a.id || '—';
}

function targetNames(e) {
  return (e.target || []).map((t) => t.displayName || t.alternateId || t.id).filter(Boolean).join(', ');
}

export default {
  path: '/log',
  title: 'System Log',
  nav: true,
  async render(main, params, ctx) {
    const filter = params.query.get('filter') || '';
    const sinceParam = params.query.get('since');
    const since = sinceParam && !Number.isNaN(new Date(sinceParam).getTime())
      ? new Date(sinceParam) : new Date(Date.now() - 24 * 3600 * 1000);

    const events = [];
    const seen = new Set();
    let next = null;
    let paused = false;
    let timer = null;

    const rows = h('tbody');
    const count = h('p', { class: 'muted', 'aria-live': 'polite' });
    const chartArea = h('div');
    const liveState = h('span', { class: 'live' }, 'Live');
    const pause = button('Pause', () => {
      paused = !paused;
      pause.textContent = paused ? 'Resume' : 'Pause';
      pause.setAttribute('aria-pressed', String(paused));
      liveState.textContent = paused ? 'Paused' : 'Live';
      liveState.classList.toggle('paused', paused);
      if (!paused) poll();
    }, '', { 'aria-pressed': 'false' });

    const query = form({
      inline: true,
      submitLabel: 'Apply',
      fields: [
        {
          name: 'filter', label: 'Filter', value: filter,
          placeholder: 'eventType eq "user.session.start" and outcome.result eq "FAILURE"',
          hint: 'Okta\'s filter syntax: eventType, outcome.result, actor.id, target.id, published with eq, sw, gt, lt; and, or.',
        },
        { name: 'since', label: 'Since', type: 'datetime-local', value: localInput(since) },
      ],
      async onSubmit(v) {
        const q = new URLSearchParams();
        if (v.filter.trim()) q.set('filter', v.filter.trim());
        if (v.since) q.set('since', new Date(v.since).toISOString());
        ctx.navigate('/log?' + q.toString());
      },
    });

    function add(list) {
      let added = 0;
      for (const e of list) {
        if (seen.has(e.uuid)) continue;
        seen.add(e.uuid);
        events.push(e);
        added += 1;
      }
      return added;
    }

    function draw() {
      const newest = events.slice(-SHOWN).reverse();
      replace(rows, newest.length ? newest.map((e) => h('tr', {},
        h('th', { scope: 'row' }, when(e.published)),
        h('td', {}, h('code', {}, e.eventType)),
        h('td', {}, badge(e.outcome && e.outcome.result)),
        h('td', {}, actorName(e)),
        h('td', {}, e.displayMessage || targetNames(e)),
        h('td', {}, button('Details', () => show(e), '', { 'aria-label': `Details of ${e.eventType} at ${when(e.published)}` })),
      )) : h('tr', {}, h('td', { colspan: 6, class: 'muted' }, 'No events match.')));
      count.textContent = events.length > SHOWN
        ? `${events.length} events; the newest ${SHOWN} shown`
        : `${events.length} event${events.length === 1 ? '' : 's'}`;
      const buckets = bucketEvents(events, since, new Date(), ['signIns', 'signInFailures'], (e) => {
        if (e.eventType !== 'user.session.start') return null;
        return e.outcome && e.outcome.result === 'FAILURE' ? 'signInFailures' : 'signIns';
      });
      replace(chartArea, barChart({
        title: 'Sign-ins and failed sign-ins by hour',
        buckets,
        series: [{ key: 'signIns', label: 'Sign-ins' }, { key: 'signInFailures', label: 'Failed sign-ins' }],
      }));
    }

    function show(e) {
      modal(e.eventType,
        details([
          ['When', when(e.published)], ['Event', h('code', {}, e.eventType)],
          ['Outcome', badge(e.outcome && e.outcome.result)], ['Reason', (e.outcome && e.outcome.reason) || '—'],
          ['Actor', `${actorName(e)}${e.actor && e.actor.type ? ' (' + e.actor.type + ')' : ''}`],
          ['Target', targetNames(e) || '—'], ['Message', e.displayMessage || '—'],
          ['Client address', (e.client && e.client.ipAddress) || '—'], ['Id', h('code', {}, e.uuid)],
        ]),
        h('h3', {}, 'The event as the API answers it'),
        h('pre', { class: 'json', tabindex: '0' }, JSON.stringify(e, null, 2)));
    }

    function firstPath() {
      const q = new URLSearchParams({ since: since.toISOString(), limit: String(PAGE) });
      if (filter) q.set('filter', filter);
      return '/api/v1/logs?' + q.toString();
    }

    async function poll() {
      clearTimeout(timer);
      if (!ctx.current()) return;
      if (paused || !next) {
        if (!paused) timer = setTimeout(poll, POLL_MS);
        return;
      }
      try {
        const res = await ctx.api('GET', next);
        if (!ctx.current()) return;
        if (res.next) next = res.next;
        if (add(res.body || [])) draw();
      } catch (err) {
        if (!ctx.current()) return;
        if (!err.status) {
          ctx.failed(err);
          return;
        }
        toast(err.message, 'error');
      }
      timer = setTimeout(poll, POLL_MS);
    }

    // The first read: pages until the end of the data (or MAX_PAGES).
    let path = firstPath();
    for (let i = 0; i < MAX_PAGES && path; i++) {
      const res = await ctx.api('GET', path);
      const got = Array.isArray(res.body) ? res.body : [];
      add(got);
      next = res.next || next;
      path = got.length === PAGE ? res.next : null;
    }
    draw();
    main.append(
      pageHead('System Log', 'What happened, newest first', [liveState, pause]),
      section('Search', null, query),
      section('Sign-ins over time', null, chartArea),
      section('Events', null, count, scroller('Events', h('table', {},
        h('caption', { class: 'sr-only' }, 'Events'),
        h('thead', {}, h('tr', {}, ['When', 'Event', 'Outcome', 'Actor', 'Message', 'Details'].map((c) => h('th', { scope: 'col' }, c)))),
        rows))),
    );
    timer = setTimeout(poll, POLL_MS);
  },
};
