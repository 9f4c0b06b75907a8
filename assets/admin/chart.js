// A bar chart as inline SVG, built with the DOM (createElementNS): buckets over time,
// up to three series side by side in each bucket. Colours come from the stylesheet
// (classes series-0..2), so they follow light and dark mode; the chart has a title
// and a description for screen readers, and a table of the same figures follows it.

import { h } from './kit.js';

const NS = 'http://www.w3.org/2000/svg';

function s(tag, attrs, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

function hourLabel(start) {
  const d = new Date(start);
  return d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

/**
 * chart({ title, buckets: [{start, ...}], series: [{key, label}] })
 * `buckets` in time order; each bucket has a number for each series key.
 */
export function barChart({ title, buckets, series }) {
  const width = 720;
  const height = 220;
  const left = 40;
  const bottom = 28;
  const top = 10;
  const plotW = width - left - 8;
  const plotH = height - top - bottom;
  const max = Math.max(1, ...buckets.flatMap((b) => series.map((x) => Number(b[x.key]) || 0)));
  // At least 4, so that the four grid lines fall on whole numbers of events.
  const niceMax = niceCeil(Math.max(4, max));
  const n = Math.max(1, buckets.length);
  const slot = plotW / n;
  const barW = Math.max(1, (slot * 0.8) / series.length);
  const totals = series.map((x) => buckets.reduce((sum, b) => sum + (Number(b[x.key]) || 0), 0));
  const desc = series.map((x, i) => `${x.label}: ${totals[i]} in total`).join('; ');
  const id = 'chart-' + Math.random().toString(36).slice(2, 8);

  const svg = s('svg', {
    viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img',
    'aria-labelledby': `${id}-t ${id}-d`,
  }, s('title', { id: `${id}-t` }, title), s('desc', { id: `${id}-d` }, desc));

  for (let i = 0; i <= 4; i++) {
    const value = (niceMax * i) / 4;
    const y = top + plotH - (plotH * i) / 4;
    svg.append(s('line', { x1: left, x2: width - 8, y1: y, y2: y, class: 'grid' }));
    svg.append(s('text', { x: left - 6, y: y + 4, 'text-anchor': 'end', class: 'axis' }, formatNumber(value)));
  }
  buckets.forEach((b, i) => {
    series.forEach((x, j) => {
      const v = Number(b[x.key]) || 0;
      const barH = (plotH * v) / niceMax;
      const rect = s('rect', {
        x: left + i * slot + slot * 0.1 + j * barW, y: top + plotH - barH,
        width: barW, height: Math.max(0, barH), class: 'series-' + j,
      }, s('title', {}, `${hourLabel(b.start)} · ${x.label}: ${v}`));
      svg.append(rect);
    });
    const every = Math.ceil(n / 8);
    if (i % every === 0) {
      svg.append(s('text', { x: left + i * slot + slot / 2, y: height - 8, 'text-anchor': 'middle', class: 'axis' }, hourLabel(b.start)));
    }
  });

  const legend = h('ul', { class: 'legend' }, series.map((x, j) =>
    h('li', {}, h('span', { class: 'swatch series-' + j, 'aria-hidden': 'true' }), `${x.label} (${totals[j]})`)));
  return h('figure', { class: 'chart-figure' }, svg, h('figcaption', {}, legend));
}

function niceCeil(v) {
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 4, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function formatNumber(v) {
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

/**
 * Hourly buckets of System Log events between `since` and `until`: counts per key,
 * `classify(event)` naming the key an event counts for (or null).
 */
export function bucketEvents(events, since, until, keys, classify) {
  const hour = 3600 * 1000;
  const start = Math.floor(since.getTime() / hour) * hour;
  const buckets = [];
  for (let t = start; t <= until.getTime(); t += hour) {
    const b = { start: new Date(t).toISOString() };
    for (const k of keys) b[k] = 0;
    buckets.push(b);
  }
  for (const e of events) {
    const key = classify(e);
    if (!key) continue;
    const i = Math.floor((new Date(e.published).getTime() - start) / hour);
    if (i >= 0 && i < buckets.length) buckets[i][key] += 1;
  }
  return buckets;
}
