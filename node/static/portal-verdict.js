// The portal's answer: the verdict in one sentence, then the document as the holder
// disclosed it and the checks behind the verdict, all in the page's language.
import { employmentDetail, headline } from './portal-employment.js';
import * as membership from './portal-membership.js';
import * as recognition from './portal-recognition.js';
import { $, formatDate, formatDateTime, formatTime, has, reasonWords, state, t, tNode }
  from './portal-language.js';

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

export function reset() {
  $('answer').hidden = true;
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
    ministry: f.accredited_by || f.admitted_by || '' };
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

// ---- course lines and subject grades as tables ------------------------------------------
const LINE = /^course\.(\d+)$/;
const RECOGNISED = /^recognised\.(\d+)$/;
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

// A row of a table of lines (a transcript's courses, a recognition's): its number, then
// the line's JSON object, or the text as given across `span` cells when it is no such
// object, or "hidden" when the holder hid it. Returns [row, line or null].
// A value of the document as text: a string, number or true/false as it is; anything else
// (an object a hostile document puts where text belongs, whose String() throws when its
// toString is no function) as nothing, so the rest of the card is still shown.
export function plain(value) {
  return ['string', 'number', 'boolean'].includes(typeof value) ? String(value) : '';
}

function lineRow(name, number, entry, span) {
  const tr = document.createElement('tr');
  tr.dataset.field = name;
  cell(tr, String(Number(number)));
  let line = null;
  try { line = typeof entry.value === 'string' ? JSON.parse(entry.value) : null; } catch (e) {
    line = null;
  }
  if (line && typeof line === 'object') return [tr, line];
  if (typeof entry.value === 'string') cell(tr, entry.value).colSpan = span;
  else hiddenCell(tr, span);
  return [tr, null];
}

// A grade without a letter (a pass or fail, a word of the five-point scale older
// transcripts carry, an attestat subject passed or exempted from) is a code in the
// document: said in the reader's language, as the office wrote it on paper.
const GRADE_CODES = ['pass', 'fail', 'exempt', 'excellent', 'good', 'satisfactory',
  'unsatisfactory'];

function gradeWords(grade) {
  return GRADE_CODES.includes(grade) ? t('grade.' + grade) : grade;
}

// `checked`: the node's reading of the lines (facts.course_lines), which gives a lettered
// grade's points where the line leaves them out, as `senim verify` lists them.
function courseRow(name, entry, checked) {
  const [tr, line] = lineRow(name, LINE.exec(name)[1], entry, 6);
  if (!line) return tr;
  const title = plain(line['title_' + state.lang] || line.title_en || line.title_ru
    || line.title_kk);
  const grade = gradeWords(plain(line.grade)) + (plain(line.numeric) ? ' ('
    + plain(line.numeric) + ')' : '');
  const points = line.points ?? ((checked || []).find((c) => c && c.field === name) || {}).points;
  [line.code, title, line.term, line.credits, grade, points].forEach((v) => cell(tr, plain(v)));
  return tr;
}

// A recognition's reference to the original transcript is hashes and an issuer's id: said
// as the transcript the node found on chain, or as one it could not confirm (not on its
// chain, or not looked for since the recognition itself failed a check).
function originalWords(f) {
  const o = f.original || {};
  return o.issuer ? tNode('original.found', { issuer: o.issuer, height: String(o.height ?? '') })
    : t('original.unchecked');
}

function recognisedRow(name, entry) {
  const [tr, line] = lineRow(name, RECOGNISED.exec(name)[1], entry, 4);
  if (!line) return tr;
  const title = plain(line['as_title_' + state.lang] || line.as_title_en || line.as_title_ru
    || line.as_title_kk);
  const asCode = plain(line.as_code);
  [line.from_code, title ? asCode + ' ' + title : asCode, line.credits,
    plain(line.grade) && gradeWords(plain(line.grade))].forEach((v) => cell(tr, plain(v)));
  return tr;
}

function subjectRow(name, entry) {
  const tr = document.createElement('tr');
  tr.dataset.field = name;
  const code = SUBJECT.exec(name)[1];
  cell(tr, has('subject.' + code) ? t('subject.' + code) : t('subject.other', { code }));
  if (typeof entry.value === 'string') cell(tr, gradeWords(entry.value));
  else hiddenCell(tr, 1);
  return tr;
}

function renderTables(fields, checked) {
  const box = $('tables');
  box.replaceChildren();
  const names = Object.keys(fields).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  [['courses', LINE, (n, e) => courseRow(n, e, checked), ['number', 'code', 'title', 'term', 'credits', 'grade',
    'points']], ['recognised', RECOGNISED, recognisedRow, ['number', 'from_code', 'as_code',
    'credits', 'grade']], ['subjects', SUBJECT, subjectRow, ['subject', 'grade']]]
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
      // A phone shows each row as its cells in a line, each after its column's name
      // (portal.css); a row of one text or of "hidden" spans the columns: its number only.
      [...body.rows].forEach((r) => [...r.cells].forEach((c, i) => {
        if (i === 0 || r.cells.length === columns.length) c.dataset.label = t('column.' + columns[i]);
      }));
      box.appendChild(table);
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
    theirs: plain(doc && doc.chain_id) };
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
    const mark = document.createElement('span');
    mark.className = check.ok ? 'mark-ok' : 'mark-bad';
    mark.textContent = (check.ok ? '✔ ' : '✘ ');
    mark.setAttribute('aria-label', t(check.ok ? 'checks.passed' : 'checks.failed'));
    const name = document.createElement('strong');
    name.textContent = checkName(check, type) + ': ';
    li.append(mark, name, checkDetail(check, doc, verdict, status));
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
  $('print-meta').textContent = t('print.meta', { when: formatDateTime(checkedAt),
    node: status ? (status.member ? status.node + ' (' + status.member + ')' : status.node)
      : window.location.host,
    height: status ? String(status.height) : '?' });
}

export function render(doc, verdict, status, checkedAt) {
  const said = membership.withRetirement(sentence(verdict), verdict);
  show(tone(verdict), headline(said, doc, verdict, status));
  $('verdict').dataset.status = verdict.status;
  // Nothing was read: a document of a later format is not shown in this one's terms.
  if (verdict.status === 'malformed' || verdict.status === 'newer_format') return;
  renderFields(doc, verdict);
  renderChecks(doc, verdict, status, checkedAt);
  $('answer').hidden = false;
}

// The answer comes first: bring it to the top of the screen once it is there.
export function reveal() {
  $('verdict').scrollIntoView({ block: 'start' });
}
