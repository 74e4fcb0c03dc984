// Senim portal: read a credential, ask this node to verify it, say the answer plainly.
// The document is never stored: it lives in this page, and a link carries it in the
// URL fragment (#doc=...), which browsers do not send to servers.
// This module reads the document (a file picked or dropped, the text box, a link's
// fragment, which portal-links.js reads), asks the node and wires the page;
// portal-verdict.js says the answer, and portal-language.js holds the words in Kazakh,
// Russian and English.
import { isCredential, issuerChecked, twiceGivenKey, vcCaution, vcIssuerChecked } from './portal-anchored.js';
import { $, applyLanguage, loadStrings, state, t } from './portal-language.js';
import { kindOfFile, takeFiles, textOf } from './portal-files.js';
import { carriesObject, documentFromLink, MAX_DOCUMENT_BYTES, pastedLinks, withoutWordsAfter } from './portal-links.js';
import * as presentations from './portal-presentation.js';
import { render, renderAnchoredAnswer, reset, reveal, say, show } from './portal-verdict.js';

const REQUEST_TIMEOUT_MS = 6000;
// A VC's signature check canonicalises RDF on the node: seconds, not milliseconds.
const VC_TIMEOUT_MS = 30000;
// A node's 503 codes that no retry cures (node/api.py): each said as itself (status.<code>).
const STORE_FAULTS = ['store_unreadable', 'store_damaged'];
// What the start of a credential or a W3C VC holds (cli.verify_files: CREDENTIAL_MARK, VC_MARK).
const CREDENTIAL_MARKS = /"senim-credential\/|"VerifiableCredential"/;

// ---- reading the document ---------------------------------------------------------------
// Why the file read last was refused (a PDF, a photo…), while the box stays empty: "Check"
// says it again, rather than "nothing to check" beside that file's name.
let refusedFile = null;
// The file read last and the text it was read as: an anchored file is looked up by its exact
// bytes (a byte-order mark, the line ending at its end), which the text box does not keep.
let readAs = null;

async function readFile(file) {
  const mine = ++checks;  // a check still waiting for the node is older than this file
  fromLink = null;
  refusedFile = null;
  readAs = null;
  $('filename').textContent = file.name;
  const refused = await kindOfFile(file, MAX_DOCUMENT_BYTES);
  const text = refused ? null : await textOf(file);
  if (mine !== checks) return;  // another file or check came after this one
  if (refused || text === null) {
    $('doc').value = '';
    reset();
    refusedFile = text === null && !refused ? 'not_text' : refused === 'too_large'
      ? 'too_large' : refused === 'unreadable' ? 'malformed' : 'file_' + refused;
    say(refusedFile);
    reveal();
    return;
  }
  $('doc').value = text;
  readAs = { file, text };
  verify();
}

// The bytes an anchored document is looked up by: the file's own while the box holds what
// was read from it; else the box's text as it stands, untrimmed, in UTF-8 (a paste keeps
// no file's bytes, but a whole file pasted keeps the line ending at its end).
function anchoredBytes() {
  const box = $('doc').value;
  return readAs && box === readAs.text ? readAs.file : box;
}

// ---- W3C VC 2.0 -------------------------------------------------------------------------
// A VC is checked by the node's VC-API; the page shows it as the native document it
// stands for (portal-presentation.js's vcView). So is a presentation of VCs.
function isVc(doc) {
  return !!doc && typeof doc === 'object' && !Array.isArray(doc) && '@context' in doc
    && !('format' in doc);
}

// Where a W3C document goes, and the body it is sent in: as it was pasted, not as parsed
// (JSON.parse keeps the last of a key given twice, and the node, which refuses such a
// file, would never see the first).
function vcRequest(doc, text, asked) {
  if (!presentations.isPresentation(doc)) {
    return ['/credentials/verify', `{"verifiableCredential": ${text}}`];
  }
  return ['/presentations/verify',
    `{"verifiablePresentation": ${text}, "options": ${JSON.stringify(asked)}}`];
}

// Why a text that is no JSON cannot be checked, as a status key. A credential cut short,
// or pasted with the letter it came in: what to do. A presentation whose end is missing (a
// copy that stopped short, a chat that cut a long message) is said as that: the sentence
// for a damaged credential named neither the presentation nor what to ask its holder for.
function unreadable(text, linked) {
  if (/"VerifiablePresentation"/.test(text) && cutShort(text)) return 'vp_incomplete';
  if (linked) return 'link_damaged';
  return /"senim-credential\/|"Verifiable(Credential|Presentation)"/.test(text) ? 'damaged'
    : 'malformed';
}

// Whether JSON text that begins as an object ends inside it: an object, array or string
// still open at its end. One pass over the text.
function cutShort(text) {
  if (!text.startsWith('{')) return false;
  let open = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i += 1; else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
    } else if (c === '{' || c === '[') {
      open += 1;
    } else if (c === '}' || c === ']') {
      open -= 1;
      if (open === 0) return false;  // the object closed: what follows is something else
    }
  }
  return true;
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

// The text a link brought, while it is still what the box holds: a link that carries no
// whole credential (cut short when it was copied or sent, say) is told so, not taken for
// a file or a paste. Editing the box or reading a file makes it a paste or a file again.
let fromLink = null;
// The page's words, loading: a file picked or dropped (or a click) before they arrive waits
// for them, rather than being answered in bare keys ("result.checking") on a slow line.
let wordsLoaded = null;
function withWords(then) { wordsLoaded.then(then, () => {}); }

// The newest check: an older one whose answer lands later (a slow node) is not shown. It
// put a "Genuine" verdict and its card beside the altered document checked after it.
let checks = 0;

async function verify() {
  const mine = ++checks;
  const stale = () => mine !== checks;
  let text = $('doc').value.trim();
  const opened = fromLink !== null && text === fromLink;
  let linked = opened;
  reset();
  $('link-note').hidden = true;
  state.last = null;
  if (!text) { say(refusedFile || 'empty'); return; }
  // A link someone was sent (from a letter: maybe with words before it, or inside a mail
  // service's redirect): the document it carries is checked here, on the node this page is
  // from, not on the node the link would open, which whoever sent it chose.
  const links = pastedLinks(text);
  if (links.length > 1) { say('link_two'); return; }
  if (links.length === 1) {
    const pasted = links[0];
    const at = pasted.indexOf('#');
    let carried = await documentFromLink(at < 0 ? '' : pasted.slice(at));
    if (stale()) return;
    if (!carriesObject(carried) && (typeof carried === 'string'
        || (carried && carried.refused === 'link_damaged'))) {  // the letter's words after it?
      const reading = await withoutWordsAfter(text);
      if (stale()) return;
      if (reading) carried = reading.carried;
    }
    if (typeof carried !== 'string') {
      say(carried ? carried.refused : 'link_damaged');
      return;
    }
    text = carried.trim();
    linked = true;
  }
  // Pasted text past what the page reads of a file or a link is said here, as theirs is,
  // not sent for the node to refuse: its 413 says only that it is past the node's limit.
  if (new Blob([text]).size > MAX_DOCUMENT_BYTES) { say('too_large'); return; }
  let doc;
  try { doc = JSON.parse(text); } catch (e) {
    say(unreadable(text, linked));
    return;
  }
  show('', t('result.checking'));
  const vc = isVc(doc);
  const presentation = vc && presentations.isPresentation(doc);
  // Any other JSON that is no Senim credential is a document some member may have anchored
  // (a link carries a credential: cli/share_links.py).
  const anchored = !vc && !linked && !isCredential(doc);
  // A key given twice where the first and the last reading differ in what decides the
  // verdict: refused, as `senim verify` refuses it (JSON.parse read only the last).
  const twice = anchored ? twiceGivenKey(text, doc) : null;
  if (twice !== null) { say('duplicate_key', { key: twice }); return; }
  presentations.showOptions(presentation);
  // What the officer asked the holder to sign for, as sent: the answer is said beside it.
  const asked = presentation ? presentations.options() : {};
  let verdict, status = null;
  try {
    const [path, body] = vc ? vcRequest(doc, text, asked)
      : anchored ? ['/v1/verify/anchor', anchoredBytes()] : ['/v1/verify', text];
    const answer = await fetchJson(path, { method: 'POST', body, headers: { 'Content-Type':
      anchored ? 'application/octet-stream' : 'application/json' } },
    vc ? VC_TIMEOUT_MS : REQUEST_TIMEOUT_MS);
    if (stale()) return;
    // The VC-API answers 400 with its verdict for a credential that does not verify.
    verdict = vc ? answer.body && answer.body.verdict : answer.body;
    const answered = answer.status === 200 || (vc && answer.status === 400);
    if (!answered || !verdict || typeof verdict.status !== 'string') {
      // 429 and 503 are the node's limits on public work: a moment later it answers; but
      // not a 503 for its own files unreadable to it or its store damaged, which no retry
      // cures. A 413 is past the node's own limit (256 KiB for /v1/verify, 512 KiB for the
      // VC-API), under the 1 MiB the page reads: not said as far too large to be a credential.
      const error = answer.body && answer.body.error;
      const code = error && typeof error === 'object' ? error.code : null;
      const kind = answer.status === 413 ? 'node_too_large'
        : answer.status === 400 ? 'malformed'
        : answer.status === 503 && STORE_FAULTS.includes(code) ? code
        : answer.status === 429 || answer.status === 503 ? 'busy' : 'node_error';
      if (presentation && kind === 'malformed') presentations.sayRefused(); else say(kind);
      $('retry-row').hidden = kind !== 'busy' && kind !== 'node_error';
      return;
    }
    // A presentation's own "malformed" (more credentials than are checked at once) is said
    // as itself: the link carried it whole.
    if (linked && !presentation && verdict.status === 'malformed') {
      say('link_damaged');
      return;
    }
    // No record of a file holding a credential's marks near its start (one inside another
    // object, say): said as a credential damaged or wrapped, as `senim verify` says it.
    if (anchored && verdict.status === 'unknown' && CREDENTIAL_MARKS.test(text.slice(0, 4096))) {
      say('damaged');
      return;
    }
    status = (await fetchJson('/v1/status', {}).catch(() => null)) || null;
    if (stale()) return;
  } catch (e) {
    if (stale()) return;
    say('unreachable', { host: window.location.host });
    $('retry-row').hidden = false;
    reveal();
    return;
  }
  const checkedAt = new Date();
  const shown = vc ? presentations.vcView(doc) : doc;
  const nodeStatus = status && status.body;
  state.last = presentation
    ? () => presentations.renderPresentation(doc, verdict, nodeStatus, checkedAt, asked)
    : anchored ? () => renderAnchoredAnswer(issuerChecked(verdict, doc), nodeStatus, checkedAt)
      : () => {
        const checked = vc ? vcIssuerChecked(verdict, doc) : verdict;
        render(shown, checked, nodeStatus, checkedAt);
        if (vc) vcCaution(checked);
      };
  state.last();
  $('link-note').hidden = !opened;
  reveal();
}

// ---- wiring -----------------------------------------------------------------------------
function wire() {
  $('verify').addEventListener('click', () => withWords(verify));
  // The name said belongs to the file read: text typed or pasted over it is no longer it.
  $('doc').addEventListener('input', () => {
    $('filename').textContent = '';
    refusedFile = null;
    presentations.showOptions(/"VerifiablePresentation"/.test($('doc').value));
  });
  $('retry').addEventListener('click', () => withWords(verify));
  $('print').addEventListener('click', () => window.print());
  $('vp-print').addEventListener('click', () => window.print());
  takeFiles((file) => withWords(() => readFile(file)));
  document.querySelectorAll('[data-lang-choice]').forEach((b) => {
    b.addEventListener('click', () => applyLanguage(b.dataset.langChoice));
  });
  window.addEventListener('beforeprint', () => { $('checks').open = true; });
  window.addEventListener('hashchange', () => withWords(startFromFragment));
}

async function startFromFragment() {
  const mine = ++checks;  // as a file read: an older check's answer is not shown after it
  const text = await documentFromLink(window.location.hash);
  if (text === null || mine !== checks) return;
  if (typeof text !== 'string') { reset(); say(text.refused); reveal(); return; }
  $('doc').value = text;
  $('filename').textContent = '';
  fromLink = text.trim();
  verify();
}

// Said when the words themselves could not load, so written here, in the language the
// node picked for the page.
const NO_WORDS = {
  kk: 'Senim: бет өз мәтіндерін жүктей алмады; бетті қайта жүктеңіз.',
  ru: 'Senim: странице не удалось загрузить свои тексты; обновите страницу.',
  en: 'Senim: the page could not load its texts; reload the page.',
};

async function start() {
  wordsLoaded = loadStrings();
  wire();
  try {
    await wordsLoaded;
  } catch (e) {
    show('bad', NO_WORDS[document.body.dataset.lang] || NO_WORDS.en);
    return;
  }
  applyLanguage(document.body.dataset.lang);
  document.body.dataset.ready = 'true';
  startFromFragment();
}

document.addEventListener('DOMContentLoaded', start);
