// The dashboard: the last 24 hours' figures from GET /api/v1/dashboard (sign-ins,
// failures, tokens issued, active sessions, throttled requests) and its hourly series.

import { h, pageHead, stats, section, simpleTable, link } from '../kit.js';
import { barChart } from '../chart.js';

const SERIES = [
  { key: 'signIns', label: 'Sign-ins' },
  { key: 'signInFailures', label: 'Failed sign-ins' },
  { key: 'tokensIssued', label: 'Tokens issued' },
];

export default {
  path: '/',
  title: 'Dashboard',
  nav: true,
  async render(main, params, ctx) {
    const since = new Date(Date.now() - 24 * 3600 * 1000);
    const { body: d } = await ctx.api('GET', '/api/v1/dashboard?since=' + encodeURIComponent(since.toISOString()));
    const series = Array.isArray(d.series) ? d.series : [];
    main.append(
      pageHead('Dashboard', 'The last 24 hours', [link('/log', 'Open the System Log')]),
      stats([
        ['Sign-ins', d.signIns],
        ['Failed sign-ins', d.signInFailures],
        ['Tokens issued', d.tokensIssued],
        ['Active sessions', d.activeSessions],
        ['Throttled requests', d.throttledRequests],
      ]),
      section('Activity by hour', null,
        barChart({ title: 'Sign-ins, failed sign-ins and tokens issued by hour', buckets: series, series: SERIES }),
        h('details', { class: 'figures' }, h('summary', {}, 'The figures as a table'),
          simpleTable(
            [{ label: 'Hour', cell: (b) => new Date(b.start).toLocaleString() }].concat(
              SERIES.map((x) => ({ label: x.label, cell: (b) => String(b[x.key] ?? 0) }))),
            series, 'No activity.', 'Activity by hour'))),
    );
  },
};
