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
// Whether a format names Senim, read as cli.verify_files._names_senim reads it: NFKC (a
// long s, fullwidth letters become ASCII, so "ſenim diploma" stays a credential), then
// lower-cased, then every character that is no ASCII letter dropped (spaces, dashes,
// invisible ones anywhere: more files counted as credentials, the safe side). Only ASCII
// is kept after lower-casing, so toLowerCase and Python's lower give the same letters, as
// trim/toLowerCase and strip/casefold did not ("\x85senim").
const namesSenim = (format) => format.normalize('NFKC').toLowerCase()
  .replace(/[^a-z]+/g, '').startsWith('senim');

// How many of a credential's own structures `doc` holds, each shaped as a credential's: a
// format naming Senim, salted or hashed fields, an audit path, a target hash.
function structures(doc) {
  const { fields, batch, format } = doc;
  return [
    typeof format === 'string' && namesSenim(format),
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
    || CREDENTIAL_KEYS.every((key) => Object.hasOwn(doc, key)) || structures(doc) >= 2);
}

// ---- a key given twice (cli.verify_files.load_json_file) ---------------------------------
// JSON.parse keeps the last value of a key given twice; a reader of the file may see the
// first. The text is valid JSON (JSON.parse took it) of at most MAX_DOCUMENT_BYTES: read
// once, left to right, with a stack of its own (no recursion, however deep it nests).
const JSON_SPACE = /[ \t\n\r]*/y;
const JSON_STRING = /"(?:[^"\\]|\\.)*"/y;
const JSON_NUMBER = /-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const LITERALS = { t: true, f: false, n: null };
const KEY_SHOWN_MAX = 60;

// [the value read keeping each key's first value, the key given twice in the first object
// to end that gives one twice (as Python's object hook meets them), or null].
export function firstKeyReading(text) {
  let at = 0;
  let twice = null;
  const stack = [];
  const token = (pattern) => {
    pattern.lastIndex = at;
    const found = pattern.exec(text)[0];
    at = pattern.lastIndex;
    return found;
  };
  const put = (value, top) => {
    if (Array.isArray(top.into)) top.into.push(value);
    else if (top.key !== null) {
      Object.defineProperty(top.into, top.key, { value, enumerable: true, writable: true,
        configurable: true });  // "__proto__" a key like any other, as JSON.parse makes it
    }
  };
  let root;
  token(JSON_SPACE);
  for (;;) {  // each turn reads one value: at most one turn a character of `text`
    const c = text[at];
    let value;
    if (c === '{' || c === '[') {
      value = c === '{' ? {} : [];
      at += 1;
    } else if (c === '"') value = JSON.parse(token(JSON_STRING));
    else if (c in LITERALS) {
      value = LITERALS[c];
      at += c === 'f' ? 5 : 4;
    } else value = Number(token(JSON_NUMBER));
    if (stack.length) put(value, stack[stack.length - 1]); else root = value;
    if (typeof value === 'object' && value !== null) {
      stack.push({ into: value, key: null, seen: new Set(), twice: null });
    }
    for (;;) {  // past the value: close what ends, then the next key, or the end
      token(JSON_SPACE);
      if (!stack.length) return [root, twice];
      const top = stack[stack.length - 1];
      const next = text[at];
      if (next === '}' || next === ']') {
        at += 1;
        stack.pop();
        if (twice === null && top.twice !== null) twice = top.twice;
        continue;
      }
      if (next === ',') {
        at += 1;
        token(JSON_SPACE);
      }
      if (!Array.isArray(top.into)) {
        const key = JSON.parse(token(JSON_STRING));
        token(JSON_SPACE);
        at += 1;  // the colon
        token(JSON_SPACE);
        if (top.seen.has(key)) {
          if (top.twice === null) top.twice = key;
          top.key = null;  // its value read, and dropped: the first one stands
        } else {
          top.seen.add(key);
          top.key = key;
        }
      }
      break;
    }
  }
}

const credentialOrVc = (doc) => isCredential(doc) || (isObject(doc) && '@context' in doc);

// The key to refuse a file by, as `senim verify` refuses it, or null: a key given twice
// in a file that is a credential or a W3C document by either reading, or whose "issuer"
// names another by its first key than by its last (then "issuer").
export function twiceGivenKey(text, doc) {
  const [first, twice] = firstKeyReading(text);
  if (twice === null) return null;
  const shownKey = Array.from(twice).slice(0, KEY_SHOWN_MAX).join('');
  if (credentialOrVc(first) || credentialOrVc(doc)) return shownKey;
  return JSON.stringify(namesOfIssuer(first)) !== JSON.stringify(namesOfIssuer(doc))
    ? 'issuer' : null;
}

// ---- whom a file names as its issuer (cli.named_issuer) --------------------------------
const MEMBER_ID = /^(?:0[xX])?([0-9a-fA-F]{40})$/;
const NAMED_CHARS_MAX = 120;
const NAME_VALUES_MAX = 64;
// The characters Python's str.split and strip take for spaces (JavaScript's \s differs).
const SPACES = '\\t-\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const SPACE_RUN = new RegExp(`[${SPACES}]+`);
const EDGE_SPACES = new RegExp(`^[${SPACES}]+|[${SPACES}]+$`, 'g');
const words = (text) => text.split(SPACE_RUN).filter(Boolean);
const visible = (text) => text.replace(/\p{Cf}/gu, '');
const memberId = (text) => { const m = MEMBER_ID.exec(visible(text).replace(EDGE_SPACES, ''));
  return m ? m[1].toLowerCase() : null; };
// Quotes a name may stand between (cli.named_issuer.unquoted): kk/ru words put it in «».
const QUOTES = [['«', '»'], ['"', '"'], ['\u201c', '\u201d'], ['\u201e', '\u201c'], ["'", "'"]];
function unquoted(name) {
  const bare = name.replace(EDGE_SPACES, '');
  const pair = QUOTES.find(([start, end]) => bare.length > 2 && bare.startsWith(start)
    && bare.endsWith(end));
  return pair ? bare.slice(1, -1).replace(EDGE_SPACES, '') : name;
}
// As ledger.member_names_read.spaced reads a name: compatibility-composed (a fullwidth
// "Ｋ" is "K"), case folded (upper then lower case: as Python's casefold, "ß" and "SS" are
// one, and "ſ" and "s"), composed again, its spaces one each.
const spaced = (name) => words(name.normalize('NFKC').toUpperCase().toLowerCase()
  .normalize('NFKC')).join(' ');
const comparable = (name) => memberId(name) || spaced(unquoted(visible(name)));
const shown = (name) => { const said = words(unquoted(visible(name))).join(' ');
  return said.length <= NAMED_CHARS_MAX ? said : said.slice(0, NAMED_CHARS_MAX) + '…'; };

// The values a "name" gives (cli.named_issuer.names_given): a string, a language value
// object (its @value), a list of either; a language map's every value.
function namesGiven(name) {
  const one = (value) => (isObject(value)
    ? (Object.hasOwn(value, '@value') ? [value['@value']] : Object.values(value)) : [value]);
  return (Array.isArray(name) ? name.flatMap(one) : one(name)).slice(0, NAME_VALUES_MAX);
}

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
    namesGiven(issuer.name).forEach(named);
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
    caution(tNode('caution.named_issuer', { named: f.named_issuer,
      author: unquoted(String(f.author || '')) }));
  }
}

// A Senim VC's verdict as its issuer.name bears on it (cli.named_issuer.vc_issuer_checked):
// a name that is another member's id than the one the chain records makes it
// vc_issuer_not_recorder (the CLI's issuer_not_recorder of a VC); a name that is not the
// chain's name of its member leaves it valid, with `named_issuer` for `vcCaution`, since
// the name is in no hash the chain holds. Any other verdict is returned as it is.
export function vcIssuerChecked(verdict, vc) {
  const f = verdict.facts || {};
  const issuer = isObject(vc) ? vc.issuer : null;
  if (verdict.status !== 'valid' || !f.type || typeof f.issuer !== 'string'
      || typeof f.issuer_id !== 'string' || !isObject(issuer)) return verdict;
  const given = namesGiven(issuer.name)
    .filter((name) => typeof name === 'string' && comparable(name));
  const chainId = f.issuer_id.toLowerCase();
  const otherId = given.map(memberId).find((id) => id && id !== chainId);
  if (otherId) {
    return { ...verdict, valid: false, status: 'vc_issuer_not_recorder',
      facts: { ...f, named_issuer: otherId },
      checks: [...(verdict.checks || []), { check: 'issuer_named', ok: false }] };
  }
  const other = given.find((name) => !memberId(name)
    && spaced(unquoted(visible(name))) !== spaced(unquoted(f.issuer)));
  return other ? { ...verdict, facts: { ...f, named_issuer: shown(other) } } : verdict;
}

// Under a valid VC's verdict (`vcIssuerChecked`): the name it gives that is not the chain's.
export function vcCaution(verdict) {
  const f = verdict.facts || {};
  if (verdict.status !== 'valid' || !f.named_issuer || !f.type) return;
  caution(tNode('caution.vc_named_issuer', { named: f.named_issuer,
    issuer: unquoted(String(f.issuer || '')) }));
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
