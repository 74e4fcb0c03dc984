// The portal's answer: the verdict in one sentence, then the document as the holder
// disclosed it and the checks behind the verdict, all in the page's language.
import { renderAnchored } from './portal-anchored.js';
import { employmentDetail, headline } from './portal-employment.js';
import * as membership from './portal-membership.js';
import * as recognition from './portal-recognition.js';
import { $, formatDate, formatDateTime, formatTime, has, mark, reasonWords, state, t, tNode }
  from './portal-language.js';
import { LINE, originalWords, plain, RECOGNISED, renderTables, SUBJECT } from './portal-tables.js';
import * as warnings from './portal-warnings.js';

export { plain };  // portal.js reads a VC's values with it

// Shown first and in this order (each type's standard fields as ledger/labels.py orders
// them); other fields follow in the file's order.
const FIELD_ORDER = [
  'full_name', 'iin', 'birth_date', 'student_id', 'employee_id', 'diploma_number',
  'certificate_number', 'attestat_number', 'school', 'course_title', 'program_code', 'program',
  'programme', 'programme_code', 'specialty', 'faculty', 'qualification', 'degree',
  'study_form', 'language', 'graduation_date', 'issue_date', 'gpa', 'honours', 'credits',
  'total_credits', 'courses', 'course', 'hours', 'score', 'employer', 'position',
  'organisation', 'department', 'start_date', 'end_date'];

export function show(tone, sentence) {
  const el = $('verdict');
  el.dataset.tone = tone;
  if (typeof sentence === 'string') el.textContent = sentence; else el.replaceChildren(sentence);
}

// A presentation's own checks and its credentials, each drawn in a box of its own
// (portal-presentation.js).
export function clearCredentials() {
  $('credentials').replaceChildren();
  $('credentials').hidden = true;
  $('vp-facts').replaceChildren();
  $('vp-facts').hidden = true;
  $('vp-end').hidden = true;
}

export function reset() {
  $('answer').hidden = true;
  $('document').hidden = false;  // an anchored file's answer shows no document card
  clearCredentials();
  warnings.clearWarnings();
  $('retry-row').hidden = true;
  $('verdict').removeAttribute('data-status');
}

export function say(kind, params) {
  state.last = () => {
    show('bad', t('status.' + kind, params));
    $('verdict').dataset.status = kind;
  };
  state.last();
}

// ---- the answer -------------------------------------------------------------------------
function typeWord(type) { return has('type.' + type) ? t('type.' + type) : type; }

// What of an unknown status code the page repeats: enough to report it, not a screenful.
const MAX_CODE_CHARS = 40;

function sentence(verdict) {
  const f = verdict.facts || {};
  const reason = reasonWords(f.revocation_reason);
  const params = { type: typeWord(f.type), issuer: f.issuer || '', date: formatDate(f.issued_at),
    revokedDate: formatDate(f.revoked_at), revokedTime: formatTime(f.revoked_at), reason,
    fromHeight: String(f.key_compromised_from ?? ''),
    ministry: f.accredited_by || f.admitted_by || '', named: f.named_issuer || '' };
  if (verdict.status === 'unaccredited' && !f.type) return t('status.unaccredited_plain');
  // A VC's status list says revoked before any chain check ran: no date, no reason.
  if (verdict.status === 'revoked' && !f.revoked_at) return t('status.revoked_plain');
  const byConsortium = membership.consortiumSentence(verdict, params);
  if (byConsortium) return byConsortium;
  if (verdict.status === 'valid' && !f.type) return tNode('status.valid_vc', { issuer: verdict.issuer });
  // A VC outside its validity period: not valid yet, or expired, and since when.
  const early = f.validity === 'not_yet_valid';
  if (verdict.status === 'expired' && (early ? f.valid_from : f.valid_until)) {
    return t(early ? 'status.not_yet_valid' : 'status.expired_on',
      { date: formatDate(early ? f.valid_from : f.valid_until) });
  }
  const onDoubtedOriginal = recognition.originalSentence(verdict);
  if (onDoubtedOriginal) return onDoubtedOriginal;
  if (warnings.unconfirmedSentence(verdict)) return warnings.unconfirmedSentence(verdict);
  // A status this page has no sentence for is said as one it cannot word, never as its key.
  if (!has('status.' + verdict.status)) {
    return tNode('status.unrecognised', { code: verdict.status.slice(0, MAX_CODE_CHARS) });
  }
  return tNode('status.' + verdict.status, params);
}

// A valid verdict with no chain facts is a VC not recorded on Senim: anyone can sign
// one with a key of their own, so it is not shown as a confirmed document.
function onChain(verdict) { return !!(verdict.facts || {}).type; }

function tone(verdict) {
  const status = verdict.status;
  return status === 'valid' && onChain(verdict) ? 'ok' : status === 'valid'
    || status === 'revoked' || status === 'superseded' || status === 'unaccredited'
    || status === 'revocation_doubted'
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
  // Only what a chain was read for: a revoked verdict from a status list alone (of a VC
  // anyone signed) showed its made-up fields as a confirmed document's.
  // A superseded one's contents were checked as well: the issuer replaced it since.
  const confirmed = ['valid', 'revoked', 'unaccredited', 'superseded'].includes(verdict.status)
    && onChain(verdict);
  const type = plain(f.type) || plain(doc.type);
  $('document-title').textContent = has('title.' + type) ? t('title.' + type)
    : t('title.unknown');
  const caveat = $('document-caveat');
  caveat.hidden = confirmed;
  caveat.textContent = confirmed ? '' : t('document.unconfirmed');
  const dl = $('fields');
  dl.replaceChildren();
  if (f.issuer) addRow(dl, t('document.issuer'), f.issuer);
  if (f.issued_at) addRow(dl, t('document.issued'), formatDateTime(f.issued_at));
  const fields = (doc && typeof doc.fields === 'object' && doc.fields) || {};
  const names = Object.keys(fields).filter((n) => !LINE.test(n) && !SUBJECT.test(n)
    && !RECOGNISED.test(n));
  renderTables(fields, Array.isArray(f.course_lines) ? f.course_lines : []);
  const ordered = FIELD_ORDER.filter((n) => names.includes(n))
    .concat(names.filter((n) => !FIELD_ORDER.includes(n)));
  ordered.forEach((name) => {
    const entry = fields[name] || {};
    const dt = document.createElement('dt');
    dt.textContent = fieldLabel(name);
    dt.dataset.field = name;
    const dd = document.createElement('dd');
    dd.dataset.field = name;
    if (name === 'original' && type === 'recognition' && typeof entry.value === 'string') {
      dd.replaceChildren(originalWords(f));
    } else if (typeof entry.value === 'string') {
      fieldValue(dd, entry.value, name);
    } else {
      dd.className = 'hidden-field';
      dd.textContent = t('document.hidden');
    }
    dl.append(dt, dd);
  });
}

function checkDetail(check, doc, verdict, status) {
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
  const batch = (doc && typeof doc.batch === 'object' && doc.batch) || {};
  const type = plain(f.type) || plain(doc && doc.type);
  if (check.check === 'employment') return employmentDetail(check, doc, verdict, status);
  if (check.check === 'original') return recognition.originalDetail(check, verdict);
  if (check.check === 'membership') return membership.membershipDetail(check, verdict);
  if (check.check === 'lines' && check.ok && type === 'recognition') {
    return recognition.recognisedDetail(doc, linesShown, linesHidden);
  }
  const key = 'detail.' + check.check + (check.ok ? '.ok' : '.fail');
  const params = { shown, hidden, linesShown, linesHidden, subjectsShown, subjectsHidden,
    index: String((Number.isInteger(batch.index) ? batch.index : 0) + 1),
    size: plain(batch.size),
    height: String(f.height || ''), when: formatDateTime(f.issued_at), issuer: f.issuer || '',
    revokedDate: formatDate(f.revoked_at), reason: reasonWords(f.revocation_reason),
    theirs: plain(doc && doc.chain_id), named: plain(f.named_issuer) };
  const byConsortium = membership.consortiumDetail(check, verdict, params);
  if (byConsortium) return byConsortium;
  const byStolenKey = membership.stolenKeyDetail(check, verdict);
  if (byStolenKey) return byStolenKey;
  if (check.check === 'not_revoked' && !check.ok && f.revocation_reason === 'superseded') {
    return tNode('detail.not_revoked.fail_superseded', params);  // not "revoked"
  }
  if (check.check === 'status' && !check.ok && verdict.status === 'superseded') {
    // a W3C VC's status list marks a replaced credential's bit as a revoked one's
    return tNode('detail.status.fail_superseded', params);
  }
  if (warnings.unconfirmedDetail(check, verdict)) return warnings.unconfirmedDetail(check, verdict);
  if (check.check === 'status' && !check.ok && verdict.status === 'revoked') {
    return tNode('detail.status.fail_revoked', params);  // a W3C VC's status list
  }
  if (has(key)) return tNode(key, params);
  // The node words its checks in English: said as they are only on the English page.
  return state.lang === 'en' ? check.detail : t(check.ok ? 'detail.other.ok'
    : 'detail.other.fail');
}

// The node names a transcript's course lines and a recognition's recognised courses one
// check, "lines"; a recognition's is named for what it holds.
function checkName(check, type) {
  if (check.check === 'lines' && type === 'recognition') return t('check.recognised');
  return has('check.' + check.check) ? t('check.' + check.check) : t('check.other');
}

function renderChecks(doc, verdict, status, checkedAt) {
  const list = $('check-list');
  list.replaceChildren();
  const type = (verdict.facts || {}).type || (doc && doc.type);
  (verdict.checks || []).forEach((check) => {
    const li = document.createElement('li');
    li.dataset.check = check.check;
    const name = document.createElement('strong');
    name.textContent = checkName(check, type) + ': ';
    li.append(mark(check.ok ? 'ok' : 'bad'), name, checkDetail(check, doc, verdict, status));
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
  if (status && status.head_time) {
    addRow(tech, t('tech.head_time'), formatDateTime(status.head_time));
  }
  if (f.height !== undefined) addRow(tech, t('tech.issued_height'), String(f.height));
  if (f.issuer_id) addRow(tech, t('tech.issuer_id'), code(f.issuer_id));
  if (f.revoked_by_proposal) {
    addRow(tech, t('tech.revoked_by_proposal'), code(f.revoked_by_proposal));
  }
  if (doc && doc.batch && typeof doc.batch.root === 'string') {
    addRow(tech, t('tech.batch'), code(doc.batch.root));
  }
  if (doc && typeof doc.target_hash === 'string') {
    addRow(tech, t('tech.target'), code(doc.target_hash));
  }
  $('print-meta').textContent = printMeta(status, checkedAt);
}

// When, by which node and at which height the answer was given: the line a printout ends
// with (a presentation's ends with one for all its credentials).
export function printMeta(status, checkedAt) {
  return t('print.meta', { when: formatDateTime(checkedAt),
    node: status ? (status.member ? status.node + ' (' + status.member + ')' : status.node)
      : window.location.host,
    height: status ? String(status.height) : '?' });
}

export function render(doc, verdict, status, checkedAt) {
  const said = membership.withRetirement(sentence(verdict), verdict);
  show(warnings.toneWith(tone(verdict), verdict), headline(said, doc, verdict, status));
  $('verdict').dataset.status = verdict.status;
  warnings.renderWarnings(verdict);
  // Nothing was read: a document of a later format is not shown in this one's terms.
  if (verdict.status === 'malformed' || verdict.status === 'newer_format') return;
  renderFields(doc, verdict);
  renderChecks(doc, verdict, status, checkedAt);
  $('answer').hidden = false;
}

// An anchored file's answer (portal-anchored.js), ended as a credential's printout is.
export function renderAnchoredAnswer(verdict, status, checkedAt) {
  warnings.clearWarnings();
  renderAnchored(verdict, status, show);
  $('print-meta').textContent = printMeta(status, checkedAt);
}

// The answer comes first: bring it to the top of the screen once it is there.
export function reveal() {
  $('verdict').scrollIntoView({ block: 'start' });
}
