// The console's small DOM and UI kit. Every element is built here with
// createElement and textContent: no innerHTML, so data from the API is never
// parsed as markup. Re-exported by console.js, which pages import.

/**
 * h('a', {href: '/admin/users', class: 'x', onclick: fn}, 'text', child, [more])
 * Attributes whose name starts with "on" become listeners; `false`/null/undefined
 * attributes and children are left out; strings become text nodes.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      el.addEventListener(name.slice(2), value);
    } else if (name === 'value' && 'value' in el) {
      el.value = value;
    } else if (name === 'checked' || name === 'disabled' || name === 'selected') {
      el[name] = Boolean(value);
      if (value) el.setAttribute(name, '');
    } else {
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.append(child);
    else el.append(document.createTextNode(String(child)));
  }
}

/** Empties `el` and puts `children` in it. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A link inside the console: followed by the router, without a page load. */
export function link(path, ...children) {
  return h('a', { href: '/admin' + path, 'data-link': '' }, ...children);
}

/** A date from the API (RFC 3339) as the reader's local date and time. */
export function when(value) {
  if (!value) return '—';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** A status as a coloured label (text, so it reads the same without colour). */
export function badge(status) {
  const kind = {
    ACTIVE: 'ok', SUCCESS: 'ok', ALLOW: 'ok',
    SUSPENDED: 'warn', PASSWORD_EXPIRED: 'warn', LOCKED_OUT: 'warn', STAGED: 'info',
    PROVISIONED: 'info', RECOVERY: 'warn',
    DEPROVISIONED: 'bad', INACTIVE: 'bad', FAILURE: 'bad', DENY: 'bad',
  }[status] || 'info';
  return h('span', { class: 'badge badge-' + kind }, status || '—');
}

let headingIds = 0;
/** A titled section; `actions` are shown beside the heading. */
export function section(title, actions, ...body) {
  const id = 'sec-' + (++headingIds);
  return h('section', { class: 'panel', 'aria-labelledby': id },
    h('div', { class: 'panel-head' }, h('h2', { id }, title), h('div', { class: 'actions' }, actions || [])),
    ...body);
}

/** The page heading, with a line under it and actions beside it. */
export function pageHead(title, subtitle, actions) {
  return h('div', { class: 'page-head' },
    h('div', {}, h('h1', {}, title), subtitle ? h('p', { class: 'muted' }, subtitle) : null),
    h('div', { class: 'actions' }, actions || []));
}

/** A key/value list. `rows` is [[label, value-or-node], ...]. */
export function details(rows) {
  return h('dl', { class: 'details' }, rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v ?? '—')]));
}

/** A button; `kind` is 'primary', 'danger' or nothing. */
export function button(label, onclick, kind, attrs) {
  return h('button', { type: 'button', class: 'btn' + (kind ? ' btn-' + kind : ''), onclick, ...(attrs || {}) }, label);
}

// ---------------------------------------------------------------- toast

/** A short message in the polite live region, gone after a few seconds. */
export function toast(message, kind) {
  const region = document.getElementById('toasts');
  if (!region) return;
  const item = h('div', { class: 'toast' + (kind === 'error' ? ' toast-error' : '') }, message);
  region.append(item);
  setTimeout(() => item.remove(), kind === 'error' ? 8000 : 4000);
}

// ---------------------------------------------------------------- copy

/** A button that copies `text` to the clipboard and says so. */
export function copyButton(text, label) {
  return button(label || 'Copy', async (e) => {
    try {
      await navigator.clipboard.writeText(text);
      toast('Copied to the clipboard');
    } catch {
      // Without clipboard access, select the text beside the button instead.
      const code = e.target.parentElement && e.target.parentElement.querySelector('code');
      if (code) window.getSelection().selectAllChildren(code);
      toast('Select the text and copy it', 'error');
    }
  }, '', { 'aria-label': (label || 'Copy') + ' to the clipboard' });
}

// ---------------------------------------------------------------- confirm

/**
 * A modal question (the native <dialog>: focus is trapped, Escape cancels).
 * Resolves true when the person confirms.
 */
export function confirmDialog(message, confirmLabel, danger = true) {
  return new Promise((resolve) => {
    const title = 'confirm-title-' + (++headingIds);
    const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': title },
      h('h2', { id: title }, 'Are you sure?'),
      h('p', {}, message),
      h('div', { class: 'actions' },
        button('Cancel', () => dialog.close('cancel')),
        button(confirmLabel || 'Confirm', () => dialog.close('ok'), danger ? 'danger' : 'primary')));
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(dialog.returnValue === 'ok');
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** A modal with any content and a Close button; returns the dialog. */
export function modal(title, ...body) {
  const id = 'modal-title-' + (++headingIds);
  const dialog = h('dialog', { class: 'dialog dialog-wide', 'aria-labelledby': id },
    h('div', { class: 'panel-head' }, h('h2', { id }, title), button('Close', () => dialog.close())),
    ...body);
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}

// ---------------------------------------------------------------- form

let fieldIds = 0;

/**
 * A form. `fields`: [{name, label, type ('text', 'email', 'password', 'checkbox',
 * 'select', 'textarea'), value, required, options: [[value, label]], hint,
 * autocomplete}]. `onSubmit(values)` may throw an ApiError: its message and field
 * causes are shown, the form stays filled. Resolving clears nothing; the caller
 * decides.
 */
export function form({ fields, submitLabel, onSubmit, onCancel, inline }) {
  const error = h('div', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true });
  const inputs = {};
  const rows = fields.map((f) => {
    const id = 'f-' + (++fieldIds);
    const hintId = f.hint ? id + '-hint' : null;
    let input;
    if (f.type === 'select') {
      input = h('select', { id, name: f.name, required: f.required, 'aria-describedby': hintId },
        (f.options || []).map(([v, l]) => h('option', { value: v, selected: String(f.value ?? '') === String(v) }, l)));
    } else if (f.type === 'textarea') {
      input = h('textarea', { id, name: f.name, required: f.required, rows: f.rows || 4, 'aria-describedby': hintId });
      input.value = f.value ?? '';
    } else {
      input = h('input', {
        id, name: f.name, type: f.type || 'text', required: f.required,
        autocomplete: f.autocomplete || (f.type === 'password' ? 'new-password' : 'off'),
        placeholder: f.placeholder, 'aria-describedby': hintId,
      });
      if (f.type === 'checkbox') input.checked = Boolean(f.value);
      else input.value = f.value ?? '';
    }
    inputs[f.name] = input;
    const hint = f.hint ? h('p', { class: 'hint', id: hintId }, f.hint) : null;
    if (f.type === 'checkbox') {
      return h('div', { class: 'field field-check' }, input, h('label', { for: id }, f.label), hint);
    }
    return h('div', { class: 'field' }, h('label', { for: id }, f.label, f.required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null), input, hint);
  });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, submitLabel || 'Save');
  const el = h('form', { class: inline ? 'form form-inline' : 'form', novalidate: false },
    error, rows,
    h('div', { class: 'actions' }, submit, onCancel ? button('Cancel', onCancel) : null));
  el.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.hidden = true;
    const values = {};
    for (const [name, input] of Object.entries(inputs)) {
      values[name] = input.type === 'checkbox' ? input.checked : input.value;
    }
    submit.disabled = true;
    try {
      await onSubmit(values, el);
    } catch (err) {
      replace(error, err.message || String(err));
      if (err.causes && err.causes.length) {
        error.append(h('ul', {}, err.causes.map((c) => h('li', {}, c))));
      }
      error.hidden = false;
      error.focus();
    } finally {
      submit.disabled = false;
    }
  });
  el.inputs = inputs;
  return el;
}

// ---------------------------------------------------------------- table

/**
 * A table of an API list with a search box and "Next" paging by the `Link` header
 * (Okta's cursor paging: `rel="next"`).
 * - `load(query)` → the first request path for the search text ('' for none);
 * - `columns`: [{label, cell: (row) => string|Node}];
 * - `api`: the console's api function; `empty`: the text when there are no rows;
 * - `searchLabel`/`searchHint`: the search box, left out when `load` ignores it.
 */
export function dataTable({ api, load, columns, empty, searchLabel, searchHint, caption, initial }) {
  const body = h('tbody');
  const status = h('p', { class: 'muted table-status', 'aria-live': 'polite' });
  const next = button('Next', () => fetchPage(nextPath, true));
  next.hidden = true;
  let nextPath = null;
  let pageNumber = 1;

  async function fetchPage(path, more) {
    status.textContent = 'Loading…';
    next.disabled = true;
    try {
      const res = await api('GET', path);
      nextPath = res.next;
      pageNumber = more ? pageNumber + 1 : 1;
      const rows = Array.isArray(res.body) ? res.body : [];
      replace(body, rows.map((row) => h('tr', {}, columns.map((c, i) => h(i === 0 ? 'th' : 'td', i === 0 ? { scope: 'row' } : {}, c.cell(row))))));
      if (!rows.length) {
        body.append(h('tr', {}, h('td', { colspan: columns.length, class: 'muted' }, empty || 'Nothing here yet.')));
      }
      status.textContent = rows.length ? `Page ${pageNumber}: ${rows.length} shown` : '';
      next.hidden = !nextPath;
    } catch (err) {
      replace(body, h('tr', {}, h('td', { colspan: columns.length, class: 'form-error' }, err.message)));
      status.textContent = '';
      if (err.status === 401 || err.status === 403) throw err;
    } finally {
      next.disabled = false;
    }
  }

  let search = null;
  if (searchLabel) {
    const id = 'search-' + (++fieldIds);
    const input = h('input', { id, type: 'search', name: 'search', autocomplete: 'off', value: initial || '', 'aria-describedby': searchHint ? id + '-hint' : null });
    search = h('form', { class: 'search', role: 'search' },
      h('label', { for: id }, searchLabel),
      h('div', { class: 'search-row' }, input, h('button', { type: 'submit', class: 'btn' }, 'Search')),
      searchHint ? h('p', { class: 'hint', id: id + '-hint' }, searchHint) : null);
    search.addEventListener('submit', (e) => {
      e.preventDefault();
      fetchPage(load(input.value.trim()), false).catch((err) => toast(err.message, 'error'));
    });
  }
  const el = h('div', { class: 'data-table' },
    search,
    scroller(caption,
      h('table', {}, caption ? h('caption', { class: 'sr-only' }, caption) : null,
        h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c.label)))), body)),
    h('div', { class: 'table-foot' }, status, next));
  el.ready = fetchPage(load(initial || ''), false);
  el.reload = () => fetchPage(load(search ? search.querySelector('input').value.trim() : ''), false);
  return el;
}

/**
 * The box a wide table scrolls sideways in (a phone), focusable so the keyboard can
 * scroll it too (WCAG 2.1.1), named after the table.
 */
export function scroller(label, table) {
  return h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': label || 'Table' }, table);
}

/** A plain table of rows already at hand. */
export function simpleTable(columns, rows, emptyText, caption) {
  return scroller(caption, h('table', {},
    caption ? h('caption', { class: 'sr-only' }, caption) : null,
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c.label)))),
    h('tbody', {}, rows.length
      ? rows.map((row) => h('tr', {}, columns.map((c, i) => h(i === 0 ? 'th' : 'td', i === 0 ? { scope: 'row' } : {}, c.cell(row)))))
      : h('tr', {}, h('td', { colspan: columns.length, class: 'muted' }, emptyText || 'None.')))));
}

/** Figures as cards: [[label, value], ...]. */
export function stats(items) {
  return h('ul', { class: 'stats' }, items.map(([label, value]) =>
    h('li', { class: 'stat' }, h('span', { class: 'stat-value' }, value ?? '—'), h('span', { class: 'stat-label' }, label))));
}
