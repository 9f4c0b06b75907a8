// Branding (Okta's Brands and Themes API, `/api/v1/brands`): the brand's name, the
// theme's primary and secondary colours, the logo and favicon uploads, and a live
// preview of the sign-in page as those settings would make it, before saving. The
// preview's text colour on the buttons is Okta's `primaryColorContrastHex` rule (white
// or black, whichever contrasts more), with the WCAG 2.1 contrast ratio shown.

import { h, pageHead, section, button, form, replace, confirmDialog } from '../kit.js';
import { canChange, readOnlyNote } from './access.js';

const BRAND = '/api/v1/brands';

/** WCAG 2.1 relative luminance of `#rrggbb`. */
function luminance(hex) {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255)
    .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG 2.1 contrast ratio of two colours. */
export function contrast(a, b) {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

/** The text colour for a button of `background` (as the server picks it). */
export function onColor(background) {
  return contrast(background, '#ffffff') >= contrast(background, '#000000') ? '#ffffff' : '#000000';
}

const isHex = (v) => /^#[0-9a-fA-F]{6}$/.test(v);

/** The sign-in page in miniature, coloured with CSSOM properties (allowed by the CSP). */
function preview() {
  const logo = h('img', { class: 'pv-logo', alt: '', hidden: true });
  const name = h('span', { class: 'pv-name' });
  const primary = h('span', { class: 'pv-button', 'aria-hidden': 'true' }, 'Sign in');
  const secondary = h('span', { class: 'pv-secondary', 'aria-hidden': 'true' }, 'Cancel');
  const ratio = h('p', { class: 'hint', 'data-contrast': '' });
  const el = h('figure', { class: 'brand-preview' },
    h('div', { class: 'pv-card', 'aria-hidden': 'true' },
      h('p', { class: 'pv-brand' }, logo, name),
      h('p', { class: 'pv-title' }, 'Sign in'),
      h('span', { class: 'pv-label' }, 'Username'),
      h('span', { class: 'pv-input' }),
      h('span', { class: 'pv-label' }, 'Password'),
      h('span', { class: 'pv-input' }),
      h('span', { class: 'pv-actions' }, primary, secondary)),
    h('figcaption', {}, 'Preview of the sign-in page', ratio));
  el.update = ({ brandName, primaryHex, secondaryHex, logoUrl }) => {
    name.textContent = brandName || '';
    if (logoUrl) {
      logo.src = logoUrl;
      logo.hidden = false;
    } else {
      logo.hidden = true;
    }
    if (isHex(primaryHex)) {
      const text = onColor(primaryHex);
      primary.style.setProperty('background-color', primaryHex);
      primary.style.setProperty('color', text);
      const r = contrast(primaryHex, text);
      ratio.textContent = `Button text contrast ${r.toFixed(1)}:1 — ${r >= 4.5 ? 'meets' : 'below'} WCAG AA (4.5:1).`;
    }
    if (isHex(secondaryHex)) {
      secondary.style.setProperty('background-color', secondaryHex);
      secondary.style.setProperty('border-color', secondaryHex);
      secondary.style.setProperty('color', onColor(secondaryHex));
    }
  };
  return el;
}

/** POSTs one file as multipart (part `file`), with the console's Bearer token. */
async function upload(ctx, url, file) {
  // An API call first: it refreshes the access token when it is about to expire.
  await ctx.api('GET', `${BRAND}`);
  const stored = JSON.parse(sessionStorage.getItem('gatehouse.console.tokens') || 'null');
  if (!stored) throw new Error('Your session has ended. Sign in again.');
  const data = new FormData();
  data.append('file', file);
  const res = await fetch(ctx.base + url, {
    method: 'POST',
    headers: { Accept: 'application/json', Authorization: 'Bearer ' + stored.access_token },
    body: data,
    credentials: 'omit',
  });
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const err = new Error((body && body.errorSummary) || `The server answered ${res.status}`);
    err.causes = ((body && body.errorCauses) || []).map((c) => c.errorSummary);
    throw err;
  }
  return body;
}

export default {
  path: '/branding',
  title: 'Branding',
  nav: true,
  async render(main, params, ctx) {
    const writable = await canChange(ctx, 'brands');
    const brands = (await ctx.api('GET', BRAND)).body;
    const brand = brands[0];
    const brandPath = `${BRAND}/${encodeURIComponent(brand.id)}`;
    const themes = (await ctx.api('GET', `${brandPath}/themes`)).body;
    let theme = themes[0];
    const themePath = `${brandPath}/themes/${encodeURIComponent(theme.id)}`;
    const look = preview();
    const state = { brandName: brand.name, primaryHex: theme.primaryColorHex, secondaryHex: theme.secondaryColorHex, logoUrl: theme.logo };
    look.update(state);

    const settings = form({
      submitLabel: 'Save branding',
      fields: [
        { name: 'name', label: 'Brand name', required: true, value: brand.name },
        { name: 'primary', label: 'Primary colour', type: 'color', value: theme.primaryColorHex, hint: 'Buttons and links.' },
        { name: 'secondary', label: 'Secondary colour', type: 'color', value: theme.secondaryColorHex, hint: 'Secondary buttons.' },
      ],
      async onSubmit(v) {
        await ctx.api('PUT', brandPath, { name: v.name });
        theme = (await ctx.api('PUT', themePath, { primaryColorHex: v.primary, secondaryColorHex: v.secondary })).body;
        ctx.toast('Branding saved: the sign-in pages use it now');
      },
    });
    for (const [field, key] of [['name', 'brandName'], ['primary', 'primaryHex'], ['secondary', 'secondaryHex']]) {
      settings.inputs[field].addEventListener('input', () => {
        state[key] = settings.inputs[field].value;
        look.update(state);
      });
    }
    settings.id = 'branding-form';
    if (!writable) {
      for (const input of Object.values(settings.inputs)) input.disabled = true;
      settings.querySelector('button[type=submit]').remove();
    }

    const images = h('div');
    function drawImages() {
      const row = (kind, label, accept, hint) => {
        const url = theme[kind];
        const id = 'upload-' + kind;
        const input = h('input', { type: 'file', id, accept, 'aria-describedby': id + '-hint', disabled: !writable });
        const send = button('Upload ' + label.toLowerCase(), async () => {
          if (!input.files.length) {
            ctx.toast('Choose a file first', 'error');
            input.focus();
            return;
          }
          try {
            const answer = await upload(ctx, `${themePath}/${kind}`, input.files[0]);
            theme = (await ctx.api('GET', themePath)).body;
            if (kind === 'logo') {
              state.logoUrl = answer.url;
              look.update(state);
            }
            ctx.toast(`${label} uploaded`);
            drawImages();
          } catch (err) {
            ctx.failed(err);
          }
        }, 'primary');
        const remove = url ? button('Remove ' + label.toLowerCase(), async () => {
          if (!(await confirmDialog(`Remove the ${label.toLowerCase()}? The pages go back to Gatehouse's own.`, 'Remove'))) return;
          try {
            await ctx.api('DELETE', `${themePath}/${kind}`);
            theme = (await ctx.api('GET', themePath)).body;
            if (kind === 'logo') {
              state.logoUrl = null;
              look.update(state);
            }
            ctx.toast(`${label} removed`);
            drawImages();
          } catch (err) {
            ctx.failed(err);
          }
        }, 'danger') : null;
        return h('div', { class: 'field upload' },
          h('label', { for: id }, label),
          url ? h('img', { src: url, alt: `Current ${label.toLowerCase()}`, class: 'current-image' }) : h('p', { class: 'muted' }, 'None: Gatehouse\'s own is used.'),
          writable ? input : null,
          h('p', { class: 'hint', id: id + '-hint' }, hint),
          writable ? h('div', { class: 'actions' }, send, remove) : null);
      };
      replace(images,
        row('logo', 'Logo', 'image/png,image/jpeg,image/gif', 'PNG, JPEG or GIF, at most 100 kB.'),
        row('favicon', 'Favicon', 'image/png,image/gif,image/x-icon,.ico', 'PNG, GIF or ICO, at most 100 kB.'));
    }
    drawImages();

    main.append(
      pageHead('Branding', 'How the sign-in, consent and sign-out pages look'),
      ...(writable ? [] : [readOnlyNote(h, 'the branding')]),
      h('div', { class: 'brand-layout' },
        section('Brand and colours', null, settings),
        section('Preview', null, look)),
      section('Logo and favicon', null, images));
  },
};
