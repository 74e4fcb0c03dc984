// A W3C Verifiable Presentation: credentials a graduate's wallet signed as their holder.
// The node checks it (/presentations/verify); this module says the presentation's own
// verdict (who signed it, whether it answers the officer's challenge and domain), then
// draws each credential it holds in a box of its own, with the verdict rendering a single
// VC gets (portal-verdict.js's render, drawn into the box: portal-language.js's scope).
import { vcCaution, vcIssuerChecked } from './portal-anchored.js';
import { $, has, mark, state, t, tNode } from './portal-language.js';
import { clearCredentials, plain, printMeta, render, show } from './portal-verdict.js';
import * as warnings from './portal-warnings.js';

const obj = (v) => (v && typeof v === 'object' && !Array.isArray(v) ? v : {});

export function isPresentation(doc) {
  const types = Array.isArray(obj(doc).type) ? doc.type : [obj(doc).type];
  return types.includes('VerifiablePresentation');
}

// A VC as the native document it stands for: a Senim VC's shown fields, and its hidden
// ones by name.
export function vcView(vc) {
  const subject = obj(obj(vc).credentialSubject);
  const senim = obj(obj(vc).senim);
  const shown = 'fields' in subject ? obj(subject.fields) : subject;
  // Own properties from entries: a field named "__proto__" assigned to {} set the
  // object's prototype instead, and the field was gone from the card.
  const fields = Object.fromEntries([
    ...Object.keys(shown).filter((n) => !['id', 'type'].includes(n) || 'fields' in subject)
      .map((n) => [n, { value: typeof shown[n] === 'string' ? shown[n]
        : JSON.stringify(shown[n]) }]),
    ...Object.keys(obj(senim.hidden)).map((n) => [n, { hash: senim.hidden[n] }])]);
  return { type: plain(subject.credentialType) || plain(senim.credential_type), fields,
    batch: obj(senim.batch), target_hash: plain(senim.target_hash),
    chain_id: plain(senim.chain_id) };
}

// The challenge and domain fields are shown only once the document is a presentation: an
// officer checking a diploma has no use for them, and a presentation dropped is checked at
// once, without them. Its warning (no challenge checked: it could be a replay) then tells
// the officer to enter the challenge they gave the holder above and check again, in the
// fields it has just brought into view: the request stays one step for a plain VC.
export function showOptions(shown) {
  $('vp-options').hidden = !shown;
}

// What the officer asked the holder to sign, as the VC-API's options (empty ones left out).
export function options() {
  const asked = {};
  ['challenge', 'domain'].forEach((name) => {
    const value = $('vp-' + name).value.trim();
    if (value) asked[name] = value;
  });
  return asked;
}

// A body the node refused unread (not JSON it can take, nested too deep): said as a
// presentation that cannot be checked, not as a Senim credential that is damaged.
export function sayRefused() {
  state.last = () => {
    show('bad', t('vp.malformed'));
    $('verdict').dataset.status = 'malformed';
  };
  state.last();
}

function verdictOf(value) {
  const verdict = obj(value);
  return typeof verdict.status === 'string' ? verdict : { status: 'malformed', checks: [] };
}

// A DID as the verdict's sentence names it: its start and end, when the full one is shown
// beside what it was signed for (renderFacts). Fifty-odd letters of base58 in the middle
// of the headline filled a phone's screen with it.
const DID_SHOWN_START = 16;
const DID_SHOWN_END = 6;
function shortDid(did) {
  return did.length <= DID_SHOWN_START + DID_SHOWN_END + 1 ? did
    : did.slice(0, DID_SHOWN_START) + '…' + did.slice(-DID_SHOWN_END);
}

// A proof not signed for what the officer entered, by the code the node gives its failed
// check (ledger/vc/presentation.py): both codes when neither was, said in one sentence.
const MISMATCHES = { vp_challenge_mismatch: 'vp.challenge_mismatch',
  vp_domain_mismatch: 'vp.domain_mismatch' };

function mismatchKey(failed) {
  const keys = failed.filter((c) => Object.hasOwn(MISMATCHES, String(c.problem)))
    .map((c) => MISMATCHES[c.problem]);
  return keys.length > 1 ? 'vp.challenge_and_domain_mismatch' : keys[0];
}

function sentence(verdict, held) {
  const f = obj(verdict.facts);
  const checks = Array.isArray(verdict.checks) ? verdict.checks.map(obj) : [];
  const params = { signer: plain(f.signer) ? shortDid(plain(f.signer)) : plain(f.holder),
    holder: plain(f.holder),
    count: plain(f.credentials) || String(held.length), max: plain(f.credentials_max),
    failed: String(held.filter((c) => !c.valid).length) };
  if (verdict.valid === true) {
    const said = tNode('vp.valid', params);
    if (f.challenge === 'checked') said.append(' ', t('vp.challenge_matched'));
    if (f.domain === 'checked') said.append(' ', t('vp.domain_matched'));
    return said;
  }
  const refused = checks.filter((c) => c.ok === false);
  const failed = (refused[0] || {}).check;
  const key = mismatchKey(refused) || (failed === 'credentials' ? ('credentials_max' in f
    ? 'vp.too_many' : f.credentials === 0 ? 'vp.empty' : 'vp.credential_fails')
    : failed === 'holder' ? 'vp.not_holder'
      : failed === 'signature' && verdict.status === 'tampered' ? 'vp.tampered' : 'vp.malformed');
  return tNode(key, params);
}

// The page's answer parts as they were before any answer (module scripts run once the
// page is parsed): each credential's box is a copy of them.
const PARTS = ['verdict', 'warnings', 'answer'].map((id) => document.getElementById(id)
  .cloneNode(true));

function credentialBox(n, count) {
  const box = document.createElement('section');
  box.className = 'vp-credential';
  box.dataset.credential = String(n);
  const heading = document.createElement('h3');
  heading.textContent = t('vp.credential_heading', { n: String(n), count: String(count) });
  box.append(heading, ...PARTS.map((part) => part.cloneNode(true)));
  box.querySelectorAll('[id]').forEach((el) => {
    el.dataset.part = el.id;
    el.removeAttribute('id');
  });
  // One live region and one print button on the page: the presentation's.
  box.querySelectorAll('[role], [aria-live], [aria-labelledby]').forEach((el) => {
    ['role', 'aria-live', 'aria-atomic', 'aria-labelledby'].forEach((a) => el.removeAttribute(a));
  });
  box.querySelectorAll('.no-print').forEach((el) => el.remove());
  // applyLanguage words the page's own parts; a copy made after it is worded here.
  box.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n); });
  box.querySelectorAll('[data-i18n-aria-label]').forEach((el) => {
    el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel));
  });
  return box;
}

// A presentation of no credential is valid to the VC-API, as the data model allows (a
// holder proving a key is theirs), but shows the officer no diploma: refused here, as
// `senim verify` refuses it (ledger.vc.presentation.refuse_empty).
function refuseEmpty(verdict, held) {
  if (verdict.valid !== true || held.length) return verdict;
  const checks = Array.isArray(verdict.checks) ? verdict.checks : [];
  return { ...verdict, valid: false, status: 'malformed',
    checks: [...checks, { check: 'credentials', ok: false, problem: 'vp_empty',
      detail: 'the presentation holds no credential' }] };
}

// Who signed the presentation, and what for beside what the officer entered: the
// challenge and the domain each as checked (with the value entered), not signed for, or
// not checked. On the screen and on the printout an HR officer files, which shows none of
// the fields above it. A check the node never reached (a signature that does not hold) is
// left out rather than said "not checked"; no domain entered is no cause for a warning.
const FACT_TONES = { checked: 'ok', mismatch: 'bad', not_checked: 'warn' };

function factRow(list, name, ...said) {
  const dt = document.createElement('dt');
  dt.textContent = t('vp.fact.' + name);
  const dd = document.createElement('dd');
  dd.dataset.fact = name;
  dd.append(...said);
  list.append(dt, dd);
}

function renderFacts(verdict, asked) {
  const f = obj(verdict.facts);
  const list = $('vp-facts');
  if (plain(f.signer)) {
    const signer = document.createElement('code');
    signer.textContent = f.signer;
    factRow(list, 'signer', signer);
  }
  ['challenge', 'domain'].forEach((name) => {
    if (!Object.hasOwn(FACT_TONES, String(f[name]))) return;
    const said = tNode(`vp.${name}.${f[name]}`, { value: asked[name] || '' });
    if (name === 'domain' && f[name] === 'not_checked') { factRow(list, name, said); return; }
    factRow(list, name, mark(FACT_TONES[f[name]]), said);
  });
  list.hidden = !list.childElementCount;
}

// A presentation the node passed holding a credential that names another member's id as
// its issuer (vcIssuerChecked): failed by that credential, as the CLI fails it (cli.vp.counted).
function failedByName(verdict, held) {
  const named = held.find((c) => c.status === 'vc_issuer_not_recorder');
  if (verdict.valid !== true || !named) return verdict;
  const checks = (Array.isArray(verdict.checks) ? verdict.checks : [])
    .filter((c) => obj(c).check !== 'credentials');
  return { ...verdict, valid: false, status: named.status,
    checks: [{ check: 'credentials', ok: false }, ...checks] };
}

export function renderPresentation(doc, answer, status, checkedAt, asked) {
  const answered = verdictOf(answer);
  const inner = obj(doc).verifiableCredential;
  const docs = Array.isArray(inner) ? inner : [inner];
  // each as its issuer.name bears on it, as `senim verify` says a presentation's
  const held = (Array.isArray(answered.credentials) ? answered.credentials : [])
    .map((c, i) => vcIssuerChecked(verdictOf(c), docs[i]));
  const verdict = failedByName(refuseEmpty(answered, held), held);
  // 'ok' only when every credential is one a Senim chain confirms: a genuine signature
  // over credentials no chain records confirms no one's diploma.
  const confirmed = held.length > 0 && held.every((c) => c.valid === true && obj(c.facts).type);
  const tone = verdict.valid !== true ? 'bad' : confirmed ? warnings.toneWith('ok', verdict)
    : 'warn';
  show(tone, sentence(verdict, held));
  $('verdict').dataset.status = verdict.status;
  warnings.renderWarnings(verdict);
  clearCredentials();
  renderFacts(verdict, obj(asked));
  $('vp-print-meta').textContent = printMeta(status, checkedAt);
  $('vp-end').hidden = false;
  if (!held.length) return;
  const list = $('credentials');
  const heading = document.createElement('h3');
  heading.textContent = t('vp.credentials_heading');
  list.appendChild(heading);
  const summary = document.createElement('ol');
  summary.className = 'vp-summary';
  list.appendChild(summary);
  held.forEach((credentialVerdict, i) => {
    const box = credentialBox(i + 1, held.length);
    list.appendChild(box);
    state.scope = box;
    try {
      render(vcView(docs[i]), credentialVerdict, status, checkedAt);
      vcCaution(credentialVerdict);
    } finally {
      state.scope = null;
    }
    summary.appendChild(summaryLine(vcView(docs[i]), credentialVerdict, box));
  });
  list.hidden = false;
}

// One line a credential, before their boxes: which passed and which did not, seen at once
// (on a phone the second credential's verdict is three screens down), marked as its own
// verdict is coloured, with the document's title and the name it shows.
function summaryLine(view, verdict, box) {
  const tone = box.querySelector('[data-part="verdict"]').dataset.tone;
  const type = plain(obj(verdict.facts).type) || view.type;
  const name = obj(view.fields.full_name).value;
  const li = document.createElement('li');
  li.dataset.tone = tone;
  li.append(mark(tone), has('title.' + type) ? t('title.' + type) : t('title.unknown'));
  if (typeof name === 'string' && name.trim()) {
    const bdi = document.createElement('bdi');
    bdi.textContent = name;
    li.append(' — ', bdi);
  }
  return li;
}
