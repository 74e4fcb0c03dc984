// Senim portal: read a credential, ask this node to verify it, say the answer plainly.
// The document is never stored: it lives in this page, and a link carries it in the
// URL fragment (#doc=...), which browsers do not send to servers.
'use strict';

const LANGS = ['kk', 'ru', 'en'];
const REQUEST_TIMEOUT_MS = 6000;
// A VC's signature check canonicalises RDF on the node: seconds, not milliseconds.
const VC_TIMEOUT_MS = 30000;
// Shown first and in this order; other fields follow in the file's order.
const FIELD_ORDER = [
  'full_name', 'iin', 'birth_date', 'student_id', 'diploma_number', 'certificate_number',
  'course_title', 'program_code', 'program',
  'programme', 'specialty', 'faculty', 'qualification', 'degree', 'study_form', 'language',
  'graduation_date', 'issue_date', 'gpa', 'honours', 'credits', 'courses', 'school',
  'course', 'hours', 'score', 'employer', 'position', 'start_date', 'end_date'];

const state = { lang: 'en', strings: {}, last: null, pendingText: null };
const $ = (id) => document.getElementById(id);

function t(key, params) {
  const table = state.strings[state.lang] || {};
  let text = table[key];
  if (text === undefined) { console.warn('missing translation', state.lang, key); text = key; }
  return text.replace(/\{(\w+)\}/g, (m, name) => (params && name in params ? params[name] : m));
}

function has(key) { return key in (state.strings[state.lang] || {}); }

function formatDate(iso) {
  // iso: "YYYY-MM-DD" or "YYYY-MM-DD HH:MM:SS UTC" (as the node reports times)
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso || '');
  if (!m) return iso || '';
  return t('date.format', { day: String(Number(m[3])), month: t('month.' + Number(m[2])),
    year: m[1] });
}

function formatTime(iso) {
  const m = /(\d{2}):(\d{2}):\d{2}/.exec(iso || '');
  return m ? m[1] + ':' + m[2] : '';
}

function nowText() {
  const d = new Date();
  const pad = (n) => String(n).padStart(2, '0');
  const iso = d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate());
  return t('date.datetime', { date: formatDate(iso), time: pad(d.getHours()) + ':' +
    pad(d.getMinutes()) });
}

// ---- language ---------------------------------------------------------------------------
async function loadStrings() {
  const loaded = await Promise.all(LANGS.map((lang) =>
    fetch('/static/i18n/' + lang + '.json').then((r) => r.json())));
  LANGS.forEach((lang, i) => { state.strings[lang] = loaded[i]; });
}

function applyLanguage(lang) {
  state.lang = LANGS.includes(lang) ? lang : 'en';
  document.documentElement.lang = state.lang;
  document.querySelectorAll('[data-i18n]').forEach((el) => {
    el.textContent = t(el.dataset.i18n);
  });
  document.querySelectorAll('[data-i18n-aria-label]').forEach((el) => {
    el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel));
  });
  document.title = t('page.title');
  document.querySelectorAll('[data-lang-choice]').forEach((b) => {
    b.setAttribute('aria-pressed', String(b.dataset.langChoice === state.lang));
  });
  const url = new URL(window.location.href);
  url.searchParams.set('lang', state.lang);
  history.replaceState(null, '', url);
  if (state.last) state.last();
}

// ---- reading the document ---------------------------------------------------------------
function base64UrlBytes(text) {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  return Uint8Array.from(atob(b64 + '==='.slice((b64.length + 3) % 4)), (c) => c.charCodeAt(0));
}

// #doc= carries the document's JSON; #docz= the same deflated (senim share makes
// that when the plain link is too long for a QR code). null: no document in the URL;
// undefined: a damaged link.
async function documentFromFragment() {
  const m = /^#(doc|docz)=(.*)$/.exec(window.location.hash);
  if (!m) return null;
  try {
    let bytes = base64UrlBytes(m[2]);
    if (m[1] === 'docz') {
      const stream = new Blob([bytes]).stream()
        .pipeThrough(new DecompressionStream('deflate-raw'));
      bytes = new Uint8Array(await new Response(stream).arrayBuffer());
    }
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    return undefined;
  }
}

// The largest body a verify route takes is a VC's 512 KiB; past this the file is refused
// unread, since putting megabytes in the text box freezes the page for many seconds.
const MAX_FILE_BYTES = 1024 * 1024;
// What people drop instead of the credential file: a PDF or a scan of the paper diploma.
const NOT_CREDENTIALS = [['pdf', [0x25, 0x50, 0x44, 0x46]],
  ['image', [0x89, 0x50, 0x4e, 0x47]], ['image', [0xff, 0xd8, 0xff]],
  ['image', [0x47, 0x49, 0x46, 0x38]], ['image', [0x42, 0x4d]],
  ['image', [0x49, 0x49, 0x2a, 0x00]], ['image', [0x4d, 0x4d, 0x00, 0x2a]]];

async function kindOfFile(file) {
  const head = new Uint8Array(await file.slice(0, 12).arrayBuffer());
  const starts = (bytes, at) => bytes.every((b, i) => head[(at || 0) + i] === b);
  const found = NOT_CREDENTIALS.find(([, magic]) => starts(magic));
  if (found) return found[0];
  // WebP (RIFF....WEBP) and HEIC/AVIF (....ftyp), as phones save photos
  if (starts([0x52, 0x49, 0x46, 0x46]) && starts([0x57, 0x45, 0x42, 0x50], 8)) return 'image';
  if (starts([0x66, 0x74, 0x79, 0x70], 4)) return 'image';
  // An empty file is a download or copy that failed, not an empty text box.
  if (file.size === 0) return 'empty';
  return file.size > MAX_FILE_BYTES ? 'too_large' : null;
}

async function readFile(file) {
  $('filename').textContent = file.name;
  const refused = await kindOfFile(file);
  if (refused) {
    $('doc').value = '';
    reset();
    say(refused === 'too_large' ? 'too_large' : 'file_' + refused);
    reveal();
    return;
  }
  $('doc').value = await file.text();
  verify();
}

// ---- W3C VC 2.0 -------------------------------------------------------------------------
// A VC is checked by the node's VC-API; the page shows it as the native document it
// stands for: a Senim VC's shown fields, and its hidden ones by name.
function isVc(doc) {
  return !!doc && typeof doc === 'object' && !Array.isArray(doc) && '@context' in doc
    && !('format' in doc);
}

function vcView(vc) {
  const obj = (v) => (v && typeof v === 'object' && !Array.isArray(v) ? v : {});
  const subject = obj(vc.credentialSubject);
  const senim = obj(vc.senim);
  const fields = {};
  const shown = 'fields' in subject ? obj(subject.fields) : subject;
  Object.keys(shown).filter((n) => !['id', 'type'].includes(n) || 'fields' in subject)
    .forEach((n) => { fields[n] = { value: typeof shown[n] === 'string' ? shown[n]
      : JSON.stringify(shown[n]) }; });
  Object.keys(obj(senim.hidden)).forEach((n) => { fields[n] = { hash: senim.hidden[n] }; });
  return { type: subject.credentialType || senim.credential_type, fields, batch: senim.batch,
    target_hash: senim.target_hash, chain_id: senim.chain_id };
}

// ---- talking to the node ----------------------------------------------------------------
async function fetchJson(path, options, timeoutMs) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs || REQUEST_TIMEOUT_MS);
  try {
    const response = await fetch(path, { ...options, signal: controller.signal,
      cache: 'no-store' });
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    return { status: response.status, body };
  } finally {
    clearTimeout(timer);
  }
}

function show(tone, sentence) {
  const el = $('verdict');
  el.dataset.tone = tone;
  el.textContent = sentence;
}

function reset() {
  $('answer').hidden = true;
  $('retry-row').hidden = true;
  $('verdict').removeAttribute('data-status');
}

async function verify() {
  const text = $('doc').value.trim();
  reset();
  state.last = null;
  if (!text) { say('empty'); return; }
  let doc;
  try { doc = JSON.parse(text); } catch (e) {
    // A credential cut short, or pasted with the letter it came in: say what to do.
    say(/"senim-credential\/|"VerifiableCredential"/.test(text) ? 'damaged' : 'malformed');
    return;
  }
  show('', t('result.checking'));
  const vc = isVc(doc);
  let verdict, status = null;
  try {
    const answer = await fetchJson(vc ? '/credentials/verify' : '/v1/verify', {
      method: 'POST', body: vc ? JSON.stringify({ verifiableCredential: doc }) : text,
      headers: { 'Content-Type': 'application/json' } }, vc ? VC_TIMEOUT_MS : REQUEST_TIMEOUT_MS);
    // The VC-API answers 400 with its verdict for a credential that does not verify.
    verdict = vc ? answer.body && answer.body.verdict : answer.body;
    const answered = answer.status === 200 || (vc && answer.status === 400);
    if (!answered || !verdict || typeof verdict.status !== 'string') {
      // 429 and 503 are the node's limits on public work: a moment later it answers.
      const kind = answer.status === 413 ? 'too_large' : answer.status === 400 ? 'malformed'
        : answer.status === 429 || answer.status === 503 ? 'busy' : 'node_error';
      say(kind);
      $('retry-row').hidden = kind !== 'busy' && kind !== 'node_error';
      return;
    }
    status = (await fetchJson('/v1/status', {}).catch(() => null)) || null;
  } catch (e) {
    say('unreachable', { host: window.location.host });
    $('retry-row').hidden = false;
    reveal();
    return;
  }
  const checkedAt = new Date();
  const shown = vc ? vcView(doc) : doc;
  state.last = () => render(shown, verdict, status && status.body, checkedAt);
  state.last();
  reveal();
}

function say(kind, params) {
  state.last = () => {
    show('bad', t('status.' + kind, params));
    $('verdict').dataset.status = kind;
  };
  state.last();
}

// ---- the answer -------------------------------------------------------------------------
function typeWord(type) { return has('type.' + type) ? t('type.' + type) : type; }
function reasonWords(code) { return code && has('reason.' + code) ? t('reason.' + code) : (code || ''); }

function sentence(verdict) {
  const f = verdict.facts || {};
  const reason = reasonWords(f.revocation_reason);
  const params = { type: typeWord(f.type), issuer: f.issuer || '', date: formatDate(f.issued_at),
    revokedDate: formatDate(f.revoked_at), revokedTime: formatTime(f.revoked_at), reason,
    fromHeight: String(f.key_compromised_from ?? '') };
  if (verdict.status === 'unaccredited' && !f.type) return t('status.unaccredited_plain');
  // A VC's status list says revoked before any chain check ran: no date, no reason.
  if (verdict.status === 'revoked' && !f.revoked_at) return t('status.revoked_plain');
  if (verdict.status === 'valid' && !f.type) return t('status.valid_vc', { issuer: verdict.issuer });
  return t('status.' + verdict.status, params);
}

// A valid verdict with no chain facts is a VC not recorded on Senim: anyone can sign
// one with a key of their own, so it is not shown as a confirmed document.
function onChain(verdict) { return !!(verdict.facts || {}).type; }

function tone(verdict) {
  const status = verdict.status;
  return status === 'valid' && onChain(verdict) ? 'ok' : status === 'valid'
    || status === 'revoked' || status === 'superseded' || status === 'unaccredited'
    || status === 'newer_format' ? 'warn' : 'bad';
}

function fieldValue(dd, value, name) {
  if (!value.trim()) {
    dd.textContent = '—';
    return;
  }
  if (/_date$/.test(name) && /^\d{4}-\d{2}-\d{2}$/.test(value)) {
    dd.textContent = formatDate(value);
    return;
  }
  if (value.startsWith('[')) {
    try {
      const list = JSON.parse(value);
      if (Array.isArray(list)) {
        const ul = document.createElement('ul');
        list.forEach((item) => {
          const li = document.createElement('li');
          li.textContent = typeof item === 'string' ? item : JSON.stringify(item);
          ul.appendChild(li);
        });
        dd.appendChild(ul);
        return;
      }
    } catch (e) { /* not a list: show as text */ }
  }
  dd.textContent = value;
}

function fieldLabel(name) {
  if (has('field.' + name)) return t('field.' + name);
  const words = name.replace(/[_-]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function addRow(dl, label, value, cls) {
  const dt = document.createElement('dt');
  dt.textContent = label;
  const dd = document.createElement('dd');
  if (cls) dd.className = cls;
  if (value instanceof Node) dd.appendChild(value); else dd.textContent = value;
  dl.append(dt, dd);
  return dd;
}

function renderFields(doc, verdict) {
  const f = verdict.facts || {};
  const confirmed = ['valid', 'revoked', 'unaccredited'].includes(verdict.status)
    && (verdict.status !== 'valid' || onChain(verdict));
  const type = f.type || doc.type;
  $('document-title').textContent = has('title.' + type) ? t('title.' + type)
    : t('title.unknown');
  const caveat = $('document-caveat');
  caveat.hidden = confirmed;
  caveat.textContent = confirmed ? '' : t('document.unconfirmed');
  const dl = $('fields');
  dl.replaceChildren();
  if (f.issuer) addRow(dl, t('document.issuer'), f.issuer);
  if (f.issued_at) addRow(dl, t('document.issued'), formatDate(f.issued_at));
  const fields = (doc && typeof doc.fields === 'object' && doc.fields) || {};
  const names = Object.keys(fields).filter((n) => !LINE.test(n) && !SUBJECT.test(n));
  renderTables(fields);
  const ordered = FIELD_ORDER.filter((n) => names.includes(n))
    .concat(names.filter((n) => !FIELD_ORDER.includes(n)));
  ordered.forEach((name) => {
    const entry = fields[name] || {};
    const dt = document.createElement('dt');
    dt.textContent = fieldLabel(name);
    dt.dataset.field = name;
    const dd = document.createElement('dd');
    dd.dataset.field = name;
    if (typeof entry.value === 'string') {
      fieldValue(dd, entry.value, name);
    } else {
      dd.className = 'hidden-field';
      dd.textContent = t('document.hidden');
    }
    dl.append(dt, dd);
  });
}

// ---- course lines and subject grades as tables ------------------------------------------
const LINE = /^course\.(\d+)$/;
const SUBJECT = /^subject\.(.+)$/;

function cell(row, text, tag) {
  const c = document.createElement(tag || 'td');
  c.textContent = text;
  row.appendChild(c);
  return c;
}

function hiddenCell(row, span) {
  const c = cell(row, t('document.hidden'));
  c.className = 'hidden-field';
  c.colSpan = span;
}

function courseRow(name, entry) {
  const tr = document.createElement('tr');
  tr.dataset.field = name;
  cell(tr, String(Number(LINE.exec(name)[1])));
  let line = null;
  try { line = typeof entry.value === 'string' ? JSON.parse(entry.value) : null; } catch (e) {
    line = null;
  }
  if (!line || typeof line !== 'object') {
    if (typeof entry.value === 'string') cell(tr, entry.value).colSpan = 6;
    else hiddenCell(tr, 6);
    return tr;
  }
  const title = line['title_' + state.lang] || line.title_en || line.title_ru || line.title_kk;
  const grade = (line.grade || '') + (line.numeric ? ' (' + line.numeric + ')' : '');
  [line.code, title, line.term, line.credits, grade, line.points]
    .forEach((v) => cell(tr, v === undefined || v === null ? '' : String(v)));
  return tr;
}

function subjectRow(name, entry) {
  const tr = document.createElement('tr');
  tr.dataset.field = name;
  const code = SUBJECT.exec(name)[1];
  cell(tr, has('subject.' + code) ? t('subject.' + code) : t('subject.other', { code }));
  if (typeof entry.value === 'string') cell(tr, entry.value); else hiddenCell(tr, 1);
  return tr;
}

function renderTables(fields) {
  const box = $('tables');
  box.replaceChildren();
  const names = Object.keys(fields).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  [['courses', LINE, courseRow, ['number', 'code', 'title', 'term', 'credits', 'grade',
    'points']], ['subjects', SUBJECT, subjectRow, ['subject', 'grade']]]
    .forEach(([kind, pattern, row, columns]) => {
      const mine = names.filter((n) => pattern.test(n));
      if (!mine.length) return;
      const table = document.createElement('table');
      table.id = 'table-' + kind;
      cell(table, t('table.' + kind), 'caption');
      const head = table.createTHead().insertRow();
      columns.forEach((c) => { cell(head, t('column.' + c), 'th').scope = 'col'; });
      const body = table.createTBody();
      mine.forEach((n) => body.appendChild(row(n, fields[n] || {})));
      box.appendChild(table);
    });
}

function checkDetail(check, doc, verdict) {
  const f = verdict.facts || {};
  const fields = (doc && doc.fields) || {};
  const count = (pattern) => {
    const names = Object.keys(fields).filter((n) => pattern.test(n));
    const open = names.filter((n) => fields[n] && typeof fields[n].value === 'string').length;
    return [String(open), String(names.length - open)];
  };
  const [shown, hidden] = count(/./);
  const [linesShown, linesHidden] = count(/^(course|recognised)\.\d+$/);
  const [subjectsShown, subjectsHidden] = count(SUBJECT);
  const batch = (doc && doc.batch) || {};
  const key = 'detail.' + check.check + (check.ok ? '.ok' : '.fail');
  const params = { shown, hidden, linesShown, linesHidden, subjectsShown, subjectsHidden,
    index: String((batch.index || 0) + 1), size: String(batch.size || ''),
    height: String(f.height || ''), date: formatDate(f.issued_at), issuer: f.issuer || '',
    revokedDate: formatDate(f.revoked_at), reason: reasonWords(f.revocation_reason),
    theirs: String((doc && doc.chain_id) || '') };
  if (has(key)) return t(key, params);
  // The node words its checks in English: said as they are only on the English page.
  return state.lang === 'en' ? check.detail : t(check.ok ? 'detail.other.ok'
    : 'detail.other.fail');
}

function renderChecks(doc, verdict, status, checkedAt) {
  const list = $('check-list');
  list.replaceChildren();
  (verdict.checks || []).forEach((check) => {
    const li = document.createElement('li');
    li.dataset.check = check.check;
    const mark = document.createElement('span');
    mark.className = check.ok ? 'mark-ok' : 'mark-bad';
    mark.textContent = (check.ok ? '✔ ' : '✘ ');
    mark.setAttribute('aria-label', t(check.ok ? 'checks.passed' : 'checks.failed'));
    const name = document.createElement('strong');
    name.textContent = (has('check.' + check.check) ? t('check.' + check.check)
      : t('check.other')) + ': ';
    li.append(mark, name, document.createTextNode(checkDetail(check, doc, verdict)));
    list.appendChild(li);
  });
  const tech = $('tech');
  tech.replaceChildren();
  const f = verdict.facts || {};
  const code = (text) => { const c = document.createElement('code'); c.textContent = text;
    return c; };
  if (status) addRow(tech, t('tech.node'), status.member ? status.node + ' (' + status.member
    + ')' : status.node);
  if (status) addRow(tech, t('tech.height'), String(status.height));
  if (f.height !== undefined) addRow(tech, t('tech.issued_height'), String(f.height));
  if (f.issuer_id) addRow(tech, t('tech.issuer_id'), code(f.issuer_id));
  if (doc && doc.batch && typeof doc.batch.root === 'string') {
    addRow(tech, t('tech.batch'), code(doc.batch.root));
  }
  if (doc && typeof doc.target_hash === 'string') {
    addRow(tech, t('tech.target'), code(doc.target_hash));
  }
  const pad = (n) => String(n).padStart(2, '0');
  const iso = checkedAt.getFullYear() + '-' + pad(checkedAt.getMonth() + 1) + '-' +
    pad(checkedAt.getDate());
  const when = t('date.datetime', { date: formatDate(iso),
    time: pad(checkedAt.getHours()) + ':' + pad(checkedAt.getMinutes()) });
  $('print-meta').textContent = t('print.meta', { when,
    node: status ? (status.member ? status.node + ' (' + status.member + ')' : status.node)
      : window.location.host,
    height: status ? String(status.height) : '?' });
}

function render(doc, verdict, status, checkedAt) {
  show(tone(verdict), sentence(verdict));
  $('verdict').dataset.status = verdict.status;
  // Nothing was read: a document of a later format is not shown in this one's terms.
  if (verdict.status === 'malformed' || verdict.status === 'newer_format') return;
  renderFields(doc, verdict);
  renderChecks(doc, verdict, status, checkedAt);
  $('answer').hidden = false;
}

// The answer comes first: bring it to the top of the screen once it is there.
function reveal() {
  $('verdict').scrollIntoView({ block: 'start' });
}

// ---- wiring -----------------------------------------------------------------------------
function wire() {
  $('verify').addEventListener('click', verify);
  $('retry').addEventListener('click', verify);
  $('print').addEventListener('click', () => window.print());
  $('file').addEventListener('change', (e) => {
    const file = e.target.files && e.target.files[0];
    // Emptied, so that picking the same file again (a new copy saved over a damaged one)
    // is a change, and is read again.
    e.target.value = '';
    if (file) readFile(file);
  });
  const drop = $('drop');
  ['dragenter', 'dragover'].forEach((name) => drop.addEventListener(name, (e) => {
    e.preventDefault();
    drop.classList.add('over');
  }));
  ['dragleave', 'drop'].forEach((name) => drop.addEventListener(name, () => {
    drop.classList.remove('over');
  }));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    const file = e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files[0];
    if (file) readFile(file);
  });
  // A file dropped outside the zone would otherwise replace the page.
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => e.preventDefault());
  document.querySelectorAll('[data-lang-choice]').forEach((b) => {
    b.addEventListener('click', () => applyLanguage(b.dataset.langChoice));
  });
  window.addEventListener('beforeprint', () => { $('checks').open = true; });
  window.addEventListener('hashchange', startFromFragment);
}

async function startFromFragment() {
  const text = await documentFromFragment();
  if (text === null) return;
  if (text === undefined) { reset(); say('malformed'); reveal(); return; }
  $('doc').value = text;
  verify();
}

async function start() {
  wire();
  try {
    await loadStrings();
  } catch (e) {
    show('bad', 'Senim: the page could not load its texts; reload the page.');
    return;
  }
  applyLanguage(document.body.dataset.lang);
  document.body.dataset.ready = 'true';
  startFromFragment();
}

document.addEventListener('DOMContentLoaded', start);
