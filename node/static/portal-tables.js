// A document's course lines (a transcript's, a recognition's) and subject grades, as
// tables in the page's language: portal-verdict.js draws the rest of the card.
import { $, has, state, t, tNode } from './portal-language.js';

export const LINE = /^course\.(\d+)$/;
export const RECOGNISED = /^recognised\.(\d+)$/;
export const SUBJECT = /^subject\.(.+)$/;

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
export function originalWords(f) {
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

export function renderTables(fields, checked) {
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
