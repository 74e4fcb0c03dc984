// A W3C Verifiable Presentation: credentials a graduate's wallet signed as their holder.
// The node checks it (/presentations/verify); this module says the presentation's own
// verdict (who signed it, whether it answers the officer's challenge and domain), then
// draws each credential it holds in a box of its own, with the verdict rendering a single
// VC gets (portal-verdict.js's render, drawn into the box: portal-language.js's scope).
import { $, state, t, tNode } from './portal-language.js';
import { clearCredentials, plain, render, show } from './portal-verdict.js';
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

function sentence(verdict, held) {
  const f = obj(verdict.facts);
  const checks = Array.isArray(verdict.checks) ? verdict.checks.map(obj) : [];
  const params = { signer: plain(f.signer) || plain(f.holder), holder: plain(f.holder),
    count: plain(f.credentials) || String(held.length), max: plain(f.credentials_max),
    failed: String(held.filter((c) => !c.valid).length) };
  if (verdict.valid === true) {
    const said = tNode('vp.valid', params);
    if (f.challenge === 'checked') said.append(' ', t('vp.challenge_matched'));
    if (f.domain === 'checked') said.append(' ', t('vp.domain_matched'));
    return said;
  }
  const failed = (checks.find((c) => c.ok === false) || {}).check;
  const key = failed === 'credentials' ? ('credentials_max' in f ? 'vp.too_many'
    : f.credentials === 0 ? 'vp.empty' : 'vp.credential_fails')
    : failed === 'holder' ? 'vp.not_holder' : failed === 'challenge' ? 'vp.challenge_mismatch'
      : failed === 'domain' ? 'vp.domain_mismatch'
        : failed === 'signature' && verdict.status === 'tampered' ? 'vp.tampered' : 'vp.malformed';
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

export function renderPresentation(doc, answer, status, checkedAt) {
  const answered = verdictOf(answer);
  const held = (Array.isArray(answered.credentials) ? answered.credentials : []).map(verdictOf);
  const verdict = refuseEmpty(answered, held);
  // 'ok' only when every credential is one a Senim chain confirms: a genuine signature
  // over credentials no chain records confirms no one's diploma.
  const confirmed = held.length > 0 && held.every((c) => c.valid === true && obj(c.facts).type);
  const tone = verdict.valid !== true ? 'bad' : confirmed ? warnings.toneWith('ok', verdict)
    : 'warn';
  show(tone, sentence(verdict, held));
  $('verdict').dataset.status = verdict.status;
  warnings.renderWarnings(verdict);
  clearCredentials();
  if (!held.length) return;
  const list = $('credentials');
  const heading = document.createElement('h3');
  heading.textContent = t('vp.credentials_heading');
  list.appendChild(heading);
  const inner = obj(doc).verifiableCredential;
  const docs = Array.isArray(inner) ? inner : [inner];
  held.forEach((credentialVerdict, i) => {
    const box = credentialBox(i + 1, held.length);
    list.appendChild(box);
    state.scope = box;
    try {
      render(vcView(docs[i]), credentialVerdict, status, checkedAt);
    } finally {
      state.scope = null;
    }
  });
  list.hidden = false;
}
