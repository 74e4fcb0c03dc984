// A JSON file that is no credential and no W3C document: an anchored document, looked up
// by its exact bytes (POST /v1/verify/anchor), as `senim verify` looks it up
// (cli.verify_files.is_credential tells the two apart; cli.named_issuer reads whom the file
// names). The page sent it to /v1/verify as a credential, and called a file the chain
// records "malformed". Any member may anchor any bytes, so a valid one is said as the CLI
// says it: recorded by that member then, and the chain vouches for nothing the file says.
// Also the caution of a Senim VC whose issuer.name is not the chain's name of its member.
import { $, formatDateTime, mark, t, tNode } from './portal-language.js';

// ---- credential or anchored document (cli.verify_files.is_credential) ------------------
const CREDENTIAL_KEYS = ['issuer', 'batch', 'fields', 'chain_id', 'type'];
const hexOf = (value, bytes) => typeof value === 'string'
  && new RegExp(`^[0-9a-fA-F]{${2 * bytes}}$`).test(value);
const isObject = (value) => !!value && typeof value === 'object' && !Array.isArray(value);

// How many of a credential's own structures `doc` holds, each shaped as a credential's: a
// format naming Senim in any case, salted or hashed fields, an audit path, a target hash.
function structures(doc) {
  const { fields, batch, format } = doc;
  return [
    typeof format === 'string' && format.trim().toLowerCase().startsWith('senim'),
    isObject(fields) && Object.values(fields).some((entry) => isObject(entry)
      && (hexOf(entry.salt, 16) || hexOf(entry.hash, 32))),
    isObject(batch) && hexOf(batch.root, 32) && Array.isArray(batch.path),
    hexOf(doc.target_hash, 32)].filter(Boolean).length;
}

// A Senim credential (checked by /v1/verify, and malformed there when it fails its own
// checks), not an anchored document: a diploma with its format edited and a key deleted,
// anchored by anyone, was to be said "recorded by" them.
export function isCredential(doc) {
  return isObject(doc) && ((typeof doc.format === 'string'
    && doc.format.startsWith('senim-credential/'))
    || CREDENTIAL_KEYS.every((key) => key in doc) || structures(doc) >= 2);
}

// ---- whom a file names as its issuer (cli.named_issuer) --------------------------------
const MEMBER_ID = /^(?:0[xX])?([0-9a-fA-F]{40})$/;
const NAMED_CHARS_MAX = 120;
const visible = (text) => text.replace(/\p{Cf}/gu, '');
const memberId = (text) => { const m = MEMBER_ID.exec(visible(text).trim());
  return m ? m[1].toLowerCase() : null; };
// As cli.member_names.spaced reads a name: composed, case folded, its spaces one each.
const spaced = (name) => name.normalize('NFC').split(/\s+/).filter(Boolean).join(' ')
  .toLowerCase();
const comparable = (name) => memberId(name) || spaced(visible(name));
const shown = (name) => { const words = visible(name).split(/\s+/).filter(Boolean).join(' ');
  return words.length <= NAMED_CHARS_MAX ? words : words.slice(0, NAMED_CHARS_MAX) + '…'; };

// [member ids, other names] the file's top-level "issuer" gives: a string, an object (its
// member_id, its name or a language map's every value, its id when a member id or when it
// gives no other), or a list of those.
function namesOfIssuer(doc) {
  const ids = [];
  const names = [];
  const named = (value) => {
    if (typeof value !== 'string') return;
    const id = memberId(value);
    if (id) ids.push(id); else if (comparable(value)) names.push(value);
  };
  const byObject = (issuer) => {
    const before = ids.length + names.length;
    named(issuer.member_id);
    (isObject(issuer.name) ? Object.values(issuer.name) : [issuer.name]).forEach(named);
    const id = issuer.id;
    if (typeof id === 'string' && (memberId(id) || ids.length + names.length === before)) {
      named(id);
    }
  };
  const issuer = isObject(doc) ? doc.issuer : null;
  if (typeof issuer === 'string') named(issuer);
  else if (Array.isArray(issuer)) issuer.forEach((each) => (isObject(each) ? byObject(each) : named(each)));
  else if (isObject(issuer)) byObject(issuer);
  return [ids, names];
}

// The node's verdict on the file's bytes, as `doc` bears on it: another member's id named
// as its issuer makes it issuer_not_recorder; another name, valid with `named_issuer`.
export function issuerChecked(verdict, doc) {
  const f = verdict.facts || {};
  if (verdict.status !== 'valid') return verdict;
  const [ids, names] = namesOfIssuer(doc);
  const authorId = String(f.author_id || '').toLowerCase();
  const otherId = ids.find((id) => id !== authorId);
  if (otherId) {
    return { ...verdict, valid: false, status: 'issuer_not_recorder',
      facts: { ...f, named_issuer: otherId },
      checks: [...(verdict.checks || []), { check: 'issuer_named', ok: false }] };
  }
  const recorders = [comparable(String(f.author || '')), authorId];
  const other = names.find((name) => !recorders.includes(comparable(name)));
  return other ? { ...verdict, facts: { ...f, named_issuer: shown(other) } } : verdict;
}

// ---- saying it ----------------------------------------------------------------------------
function sentence(verdict) {
  const f = verdict.facts || {};
  const author = f.author || '';
  if (verdict.status === 'valid') {
    return tNode('status.anchored', { author, when: formatDateTime(f.recorded_at) });
  }
  if (verdict.status === 'issuer_not_recorder') {
    return tNode('status.issuer_not_recorder', { named: f.named_issuer, author });
  }
  if (verdict.status === 'compromised_key') {
    return tNode('status.anchored_stolen_key', { author,
      fromHeight: String(f.key_compromised_from ?? '') });
  }
  if (verdict.status === 'admission_compromised') {
    return tNode('status.admission_compromised', { issuer: author,
      ministry: f.admitted_by || '', fromHeight: String(f.key_compromised_from ?? '') });
  }
  // "no record" only when the chain has none; a record this node cannot read otherwise
  return t(verdict.status === 'unknown' ? 'status.not_anchored' : 'status.anchor_unchecked');
}

// A caution under a verdict, marked as a warning (the list a VC's warnings go in).
function caution(words) {
  const list = $('warnings');
  const li = document.createElement('li');
  li.dataset.warning = 'named_issuer';
  li.append(mark('warn'), words);
  list.appendChild(li);
  list.hidden = false;
}

// Under a valid verdict: a file naming another issuer than its recorder.
function namedCaution(verdict) {
  const f = verdict.facts || {};
  if (verdict.status === 'valid' && f.named_issuer) {
    caution(tNode('caution.named_issuer', { named: f.named_issuer, author: f.author || '' }));
  }
}

// A Senim VC whose issuer.name (a string, or a language map's values) is not the chain's
// name of the member the chain records it as issued by (cli.named_issuer.vc_caution):
// valid still, since the name is in no hash the chain holds, but said. A name that is
// another member's id is the CLI's issuer_not_recorder: the page says that as a caution
// too, its verdict being the node's.
export function vcCaution(vc, verdict) {
  const f = verdict.facts || {};
  const issuer = isObject(vc) ? vc.issuer : null;
  if (verdict.status !== 'valid' || !f.type || typeof f.issuer !== 'string'
      || !isObject(issuer)) return;
  const given = (isObject(issuer.name) ? Object.values(issuer.name) : [issuer.name])
    .filter((name) => typeof name === 'string' && comparable(name));
  // (toLowerCase for Python's casefold: they differ in a few letters, such as ß, which no
  // member's name here holds)
  const other = given.find((name) => (memberId(name)
    ? memberId(name) !== String(f.issuer_id || '').toLowerCase()
    : spaced(visible(name)) !== spaced(f.issuer)));
  if (!other) return;
  caution(tNode('caution.vc_named_issuer', { named: shown(other), issuer: f.issuer }));
  $('verdict').dataset.tone = 'warn';  // a pass with a caution under it, as a VC's warnings
}

// The answer for an anchored file: its sentence, a caution, and the record's facts; never
// its contents, which the chain does not vouch for.
export function renderAnchored(verdict, status, show) {
  show(verdict.status !== 'valid' ? 'bad' : (verdict.facts || {}).named_issuer ? 'warn' : 'ok',
    sentence(verdict));
  $('verdict').dataset.status = verdict.status;
  namedCaution(verdict);
  if (verdict.status !== 'valid') return;
  const f = verdict.facts || {};
  const list = $('check-list');
  const li = document.createElement('li');
  li.dataset.check = 'anchored';
  const name = document.createElement('strong');
  name.textContent = t('check.anchored') + ': ';
  li.append(mark('ok'), name, tNode('detail.anchored.ok', { author: f.author || '',
    height: String(f.height ?? ''), when: formatDateTime(f.recorded_at) }));
  list.replaceChildren(li);
  const tech = $('tech');
  tech.replaceChildren();
  [['tech.node', status ? status.node : ''], ['tech.height', status ? String(status.height) : ''],
    ['tech.sha256', f.sha256], ['tech.author_id', f.author_id]].forEach(([key, value]) => {
    if (!value) return;
    const dt = document.createElement('dt');
    dt.textContent = t(key);
    const dd = document.createElement('dd');
    const code = document.createElement('code');
    code.textContent = value;
    dd.append(code);
    tech.append(dt, dd);
  });
  $('document').hidden = true;
  $('answer').hidden = false;
}
