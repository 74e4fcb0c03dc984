// The holder's page: a graduate chooses which fields of a credential a reader sees, and
// gets the copy to give (a file, or a link to this node's portal). The copy is made in this
// browser, as `senim disclose` makes it: each hidden field's value and salt are replaced by
// the field's salted hash, which the verification needs and which tells nothing. So the
// document never leaves the browser, and the copy still verifies.
import { kindOfFile, takeFiles, textOf } from './portal-files.js';
import { $, applyLanguage, formatDate, has, loadStrings, state, t } from './portal-language.js';

const FORMATS = ['senim-credential/v1', 'senim-credential/v2'];
// ledger/credential_shapes.py: FIELD_TAG, SALT_BYTES (16: 32 hex digits).
const FIELD_TAG = 'senim/field/v1\u0000';
const SALT_HEX = /^[0-9a-fA-F]{32}$/;
const HASH_HEX = /^[0-9a-fA-F]{64}$/;  // a hidden field's SHA-256, a root, a path's step
const MEMBER_HEX = /^[0-9a-fA-F]{40}$/;  // an issuer's member id
const MAX_FILE_BYTES = 1024 * 1024;  // as the portal: no credential is near it
// ledger/credential_shapes.MAX_FIELDS: no credential is issued with more.
const MAX_FIELDS = 200;
// What names the person rather than what they achieved: "hide personal details" hides these.
const PERSONAL = ['iin', 'birth_date', 'student_id', 'employee_id'];
const LINE = /^(course|recognised)\.(\d+)$/;
const SUBJECT = /^subject\.(.+)$/;

const held = { name: '', doc: null, hidden: new Set() };

// ---- the copy ---------------------------------------------------------------------------
const encoder = new TextEncoder();
function lengthPrefixed(bytes) {
  const out = new Uint8Array(4 + bytes.length);
  new DataView(out.buffer).setUint32(0, bytes.length);
  out.set(bytes, 4);
  return out;
}
const hexOf = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
const bytesOf = (hex) => Uint8Array.from(hex.match(/../g), (h) => parseInt(h, 16));

// ledger/credentials.field_hash: SHA-256 over the tag, the length-prefixed name and value
// (UTF-8), and the salt.
async function fieldHash(name, value, saltHex) {
  const parts = [encoder.encode(FIELD_TAG), lengthPrefixed(encoder.encode(name)),
    lengthPrefixed(encoder.encode(value)), bytesOf(saltHex)];
  const message = await new Blob(parts).arrayBuffer();
  return hexOf(new Uint8Array(await crypto.subtle.digest('SHA-256', message)));
}

async function makeCopy() {
  const copy = JSON.parse(JSON.stringify(held.doc));
  for (const name of held.hidden) {
    const entry = copy.fields[name];
    if (typeof entry.value === 'string') {
      copy.fields[name] = { hash: await fieldHash(name, entry.value, entry.salt) };
    }
  }
  return copy;
}

function base64Url(bytes) {
  let text = '';
  bytes.forEach((b) => { text += String.fromCharCode(b); });
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

// The portal's #docz= (deflated, as `senim share` makes it for a QR code), or #doc=.
async function shareLink(copy) {
  const json = encoder.encode(JSON.stringify(copy));
  const base = window.location.origin + '/';
  if (typeof CompressionStream !== 'function') return base + '#doc=' + base64Url(json);
  const stream = new Blob([json]).stream().pipeThrough(new CompressionStream('deflate-raw'));
  return base + '#docz=' + base64Url(new Uint8Array(await new Response(stream).arrayBuffer()));
}

// ---- reading the file -------------------------------------------------------------------
function say(key, params, tone) {
  const box = $('verdict');
  box.dataset.tone = tone || 'bad';
  box.dataset.said = key;
  box.textContent = t(key, params);
}

const wellFormed = (text) => (typeof text.isWellFormed === 'function' ? text.isWellFormed()
  : !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text));

const isObject = (value) => Boolean(value) && typeof value === 'object' && !Array.isArray(value);

// The refusal's key, or null when `doc` is a credential this page can make a copy of.
function problemOf(doc) {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return ['holder.error.not_credential'];
  if ('@context' in doc && !('format' in doc)) return ['holder.error.vc'];
  if (typeof doc.format === 'string' && /^senim-credential\//.test(doc.format)
      && !FORMATS.includes(doc.format)) return ['holder.error.newer'];
  if (!FORMATS.includes(doc.format) || !isObject(doc.fields)
      || !Object.keys(doc.fields).length || Object.keys(doc.fields).length > MAX_FIELDS) {
    return ['holder.error.not_credential'];
  }
  // The rest of ledger/credential_documents.parse_document's shape: a copy of anything else
  // would not verify, and a `type` that is an object stopped the page, saying nothing.
  if (typeof doc.chain_id !== 'string' || typeof doc.type !== 'string' || !isObject(doc.issuer)
      || !isObject(doc.batch) || !Number.isInteger(doc.batch.index)
      || !Number.isInteger(doc.batch.size) || !Array.isArray(doc.batch.path)) {
    return ['holder.error.not_credential'];
  }
  // Its hashes and ids, as the node reads them (a copy of a file with a root cut short,
  // or a label for no field, was made, and did not verify).
  const hex = (value, pattern) => typeof value === 'string' && pattern.test(value);
  if (!hex(doc.target_hash, HASH_HEX) || !hex(doc.batch.root, HASH_HEX)
      || !doc.batch.path.every((step) => hex(step, HASH_HEX))
      || !hex(doc.issuer.member_id, MEMBER_HEX)
      || (isObject(doc.labels) && Object.keys(doc.labels).some((n) => !(n in doc.fields)))) {
    return ['holder.error.damaged_parts'];
  }
  for (const [name, entry] of Object.entries(doc.fields)) {
    const shown = entry && typeof entry.value === 'string' && typeof entry.salt === 'string'
      && SALT_HEX.test(entry.salt) && !('hash' in entry);
    // As ledger/credential_documents.parse_document reads it, or the copy would not verify.
    const hidden = entry && typeof entry.hash === 'string' && HASH_HEX.test(entry.hash)
      && !('value' in entry) && !('salt' in entry);
    if (!(shown || hidden) || !wellFormed(name) || (shown && !wellFormed(entry.value))) {
      return ['holder.error.damaged', { field: name }];
    }
  }
  return null;
}

// A file refused: said again in the language the reader switches to.
function refuse(key, params) {
  say(key, params);
  state.last = () => say(key, params);
}

// Files read, counted: a second file picked while the first is still read wins, whichever
// read ends last.
let reads = 0;

async function readFile(file) {
  const read = ++reads;
  $('filename').textContent = file.name;
  $('choose').hidden = true;
  held.doc = null;
  state.last = null;
  if (file.size === 0) { refuse('holder.error.empty'); return; }
  if (file.size > MAX_FILE_BYTES) { refuse('holder.error.too_large'); return; }
  // a PDF or a photo of the paper: no credential file, not a damaged one
  const kind = await kindOfFile(file, MAX_FILE_BYTES);
  if (read !== reads) return;
  if (kind !== null) { refuse('holder.error.not_credential'); return; }
  let doc;
  let text;
  try { text = await textOf(file); } catch (e) { text = ''; }
  if (read !== reads) return;
  if (text === null) { refuse('holder.error.not_text'); return; }
  try { doc = JSON.parse(text); } catch (e) {
    refuse('holder.error.not_credential');
    return;
  }
  const problem = problemOf(doc);
  if (problem) { refuse(...problem); return; }
  if (!(window.crypto && crypto.subtle)) { refuse('holder.error.insecure'); return; }
  held.name = file.name.replace(/\.json$/i, '');
  held.doc = doc;
  held.hidden = new Set();
  state.last = draw;
  draw();
}

// ---- the choice -------------------------------------------------------------------------
function label(name) {
  const own = held.doc.labels && held.doc.labels[name];
  const line = LINE.exec(name);
  const subject = SUBJECT.exec(name);
  if (has('field.' + name)) return t('field.' + name);
  if (own && typeof own[state.lang] === 'string') return own[state.lang];
  if (line) return t('holder.' + line[1], { n: String(Number(line[2])) });
  if (subject) return t('holder.subject', { name: subject[1] });
  const words = name.replace(/[_-]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

// A course line is a JSON object: said as its code, title (in the page's language) and grade.
function valueText(name, value) {
  if (/_date$/.test(name) && /^\d{4}-\d{2}-\d{2}$/.test(value)) return formatDate(value);
  if (!LINE.test(name)) return value;
  try {
    const line = JSON.parse(value);
    const title = line['title_' + state.lang] || line.title_en || line.title_ru
      || line.title_kk || line.title || '';
    const grade = line.grade !== undefined ? line.grade : line.as_code || '';
    // a grade word's code (pass, exempt…) in the page's language, as the portal says it
    const said = typeof grade === 'string' && /^[a-z]+$/.test(grade) && has('grade.' + grade)
      ? t('grade.' + grade) : grade;
    return [line.code || line.from_code, title, said].filter(Boolean).join(' · ');
  } catch (e) {
    return value;
  }
}

// A box's id is its row's number, never the field's name: a field named "all" would be
// "show-all", the id of the "show everything" button, which its label would then press.
function row(name, entry, number) {
  const li = document.createElement('li');
  const box = document.createElement('input');
  box.type = 'checkbox';
  box.dataset.field = name;
  box.id = 'field-box-' + number;
  const already = typeof entry.value !== 'string';
  box.checked = !already && !held.hidden.has(name);
  box.disabled = already;
  box.addEventListener('change', () => {
    if (box.checked) held.hidden.delete(name); else held.hidden.add(name);
    refresh();
  });
  const text = document.createElement('label');
  text.htmlFor = box.id;
  const what = document.createElement('strong');
  what.textContent = label(name) + ': ';
  const value = document.createElement('bdi');
  value.textContent = already ? t('holder.hidden_already') : valueText(name, entry.value);
  if (already) value.className = 'hidden-field';
  text.append(what, value);
  li.append(box, ' ', text);
  return li;
}

function draw() {
  const doc = held.doc;
  $('verdict').textContent = '';
  delete $('verdict').dataset.said;
  $('choose-title').textContent = has('title.' + doc.type) ? t('title.' + doc.type)
    : t('title.unknown');
  const issuer = doc.issuer && typeof doc.issuer.name === 'string' ? doc.issuer.name : '';
  // isolated (FSI … PDI), as the portal's values are: a right-to-left override in a name
  // the file gives turned the words after it around
  $('choose-issuer').textContent = issuer
    ? t('holder.issuer', { issuer: '\u2068' + issuer + '\u2069' }) : '';
  $('field-list').replaceChildren(...Object.entries(doc.fields).map(([n, e], i) => row(n, e, i)));
  $('choose').hidden = false;
  $('link-row').hidden = true;
  refresh();
}

async function refresh() {
  const names = Object.keys(held.doc.fields);
  const shown = names.filter((n) => typeof held.doc.fields[n].value === 'string'
    && !held.hidden.has(n));
  const showing = new Set(shown);
  const hidden = names.filter((n) => !showing.has(n));
  $('summary').textContent = hidden.length
    ? t('holder.summary', { shown: String(shown.length), hidden: String(hidden.length),
      names: hidden.map(label).join(', ') })
    : t('holder.summary_none');
  $('link-row').hidden = true;
  $('link-text').value = '';  // the link of the choice before: no longer in the page
  $('link-open').removeAttribute('href');
  const asked = ++refreshes;
  const text = JSON.stringify(await makeCopy(), null, 2);
  if (asked === refreshes) $('copy-text').value = text;  // not overtaken by a later change
}
let refreshes = 0;

async function save() {
  const text = JSON.stringify(await makeCopy(), null, 2);
  const blob = new Blob([text + '\n'], { type: 'application/json' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = held.name + '-shared.json';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60000);
  say('holder.saved', { file: a.download }, 'ok');
}

async function link() {
  const asked = refreshes;
  const url = await shareLink(await makeCopy());
  // A choice changed while the link was made (a field hidden, say) makes it another
  // document's: shown, it carried the field just hidden.
  if (asked !== refreshes) return;
  $('link-text').value = url;
  $('link-open').href = url;
  $('link-row').hidden = false;
}

// ---- wiring -----------------------------------------------------------------------------
function wire(wordsLoaded) {
  const later = (then) => wordsLoaded.then(then, () => {});
  takeFiles((file) => later(() => readFile(file)));
  $('show-all').addEventListener('click', () => { held.hidden.clear(); draw(); });
  $('hide-personal').addEventListener('click', () => {
    PERSONAL.filter((n) => n in held.doc.fields).forEach((n) => held.hidden.add(n));
    draw();
  });
  $('save').addEventListener('click', save);
  $('link').addEventListener('click', link);
  document.querySelectorAll('[data-lang-choice]').forEach((b) => {
    b.addEventListener('click', () => applyLanguage(b.dataset.langChoice));
  });
}

async function start() {
  const wordsLoaded = loadStrings();
  wire(wordsLoaded);
  try { await wordsLoaded; } catch (e) { return; }
  applyLanguage(document.body.dataset.lang);
  document.body.dataset.ready = 'true';
}

document.addEventListener('DOMContentLoaded', start);
