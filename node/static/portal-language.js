// The portal's words in Kazakh, Russian and English: the translations, dates said in
// the page's language, and switching the page from one language to another.

const LANGS = ['kk', 'ru', 'en'];

// last: draws the current answer again, so that a change of language says it anew.
// scope: while one credential of a presentation is drawn, the box it is drawn in, whose
// parts are named as the page's are (data-part="verdict" for id="verdict"): the one
// verdict rendering draws each (portal-presentation.js).
export const state = { lang: 'en', strings: {}, last: null, scope: null };
export const $ = (id) => (state.scope ? state.scope.querySelector(`[data-part="${id}"]`)
  : document.getElementById(id));

function template(key) {
  const text = (state.strings[state.lang] || {})[key];
  if (text === undefined) { console.warn('missing translation', state.lang, key); return key; }
  return text;
}

export function t(key, params) {
  return template(key).replace(/\{(\w+)\}/g,
    (m, name) => (params && name in params ? params[name] : m));
}

// The same sentence as nodes, each value in a <bdi>: a name from the chain or the document
// is laid out apart from the words around it, so that a right-to-left name, or a stray
// direction override in one (U+202E, pasted from Word), cannot reorder the rest of the
// sentence. Its text is t()'s.
export function tNode(key, params) {
  const sentence = document.createDocumentFragment();
  const text = template(key);
  let done = 0;
  text.replace(/\{(\w+)\}/g, (m, name, at) => {
    sentence.append(text.slice(done, at));
    if (params && name in params) {
      const value = document.createElement('bdi');
      value.textContent = String(params[name]);
      sentence.append(value);
    } else {
      sentence.append(m);
    }
    done = at + m.length;
    return m;
  });
  sentence.append(text.slice(done));
  return sentence;
}

export function has(key) { return key in (state.strings[state.lang] || {}); }

// A small coloured mark before a line, named for a screen reader, made here alone: a check
// passed or failed (portal-verdict.js), a warning (portal-warnings.js), a presentation's
// challenge and domain and each credential's summary line (portal-presentation.js). A
// tone it does not know is marked as a failure.
const MARKS = { ok: ['mark-ok', '✔ ', 'checks.passed'], bad: ['mark-bad', '✘ ', 'checks.failed'],
  warn: ['mark-warn', '⚠ ', 'warnings.mark'] };

export function mark(tone) {
  const [cls, sign, label] = MARKS[Object.hasOwn(MARKS, tone) ? tone : 'bad'];
  const span = document.createElement('span');
  span.className = cls;
  span.textContent = sign;
  span.setAttribute('aria-label', t(label));
  return span;
}

// A revocation's reason in the page's words (its code where the catalogue has none).
export function reasonWords(code) { return code && has('reason.' + code) ? t('reason.' + code) : (code || ''); }

// The node says when a block was made in UTC ("YYYY-MM-DD HH:MM:SS UTC"). The page says
// every moment (a revocation, a record on chain, the check itself) in the zone of the
// browser it is read in, which is what "now" means to its reader, and names that zone's
// offset from UTC, so that a printout filed and read later is not ambiguous. Dates with no
// time (a graduation, an employment's start) are calendar days and are said as written.
const NODE_TIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) UTC$/;

function nodeTime(iso) {
  const m = NODE_TIME.exec(iso || '');
  return m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])) : null;
}

const pad = (n) => String(n).padStart(2, '0');

function localDay(date) {
  return date.getFullYear() + '-' + pad(date.getMonth() + 1) + '-' + pad(date.getDate());
}

// "UTC", "UTC+5", "UTC-3:30": the offset the browser's zone had at that moment.
function zoneOf(date) {
  const east = -date.getTimezoneOffset();
  if (east === 0) return 'UTC';
  const hours = Math.floor(Math.abs(east) / 60);
  const minutes = Math.abs(east) % 60;
  return 'UTC' + (east > 0 ? '+' : '-') + hours + (minutes ? ':' + pad(minutes) : '');
}

function calendarDay(year, month, day) {
  const date = new Date(Date.UTC(year, month - 1, day));
  return month >= 1 && month <= 12 && date.getUTCDate() === day;
}

export function formatDate(iso) {
  // iso: "YYYY-MM-DD" (a calendar day) or a node's UTC time (said as the local day)
  const moment = nodeTime(iso);
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(moment ? localDay(moment) : iso || '');
  // A day no calendar has (an altered document's "2026-13-05") is said as written: its
  // month was a catalogue key ("5 month.13 2026").
  if (!m || !calendarDay(Number(m[1]), Number(m[2]), Number(m[3]))) return iso || '';
  return t('date.format', { day: String(Number(m[3])), month: t('month.' + Number(m[2])),
    year: m[1] });
}

// A moment (a Date, or a node's UTC time) as the local time of day with its zone.
export function formatTime(when) {
  const moment = typeof when === 'string' ? nodeTime(when) : when;
  if (!moment) return '';
  return t('time.zoned', { time: pad(moment.getHours()) + ':' + pad(moment.getMinutes()),
    zone: zoneOf(moment) });
}

// A moment as its local day and time with the zone: "2 December 2026, 05:41 (UTC+5)".
export function formatDateTime(when) {
  const moment = typeof when === 'string' ? nodeTime(when) : when;
  if (!moment) return formatDate(when);
  return t('date.datetime', { date: formatDate(localDay(moment)), time: formatTime(moment) });
}

export async function loadStrings() {
  const loaded = await Promise.all(LANGS.map((lang) =>
    fetch('/static/i18n/' + lang + '.json').then((r) => r.json())));
  LANGS.forEach((lang, i) => { state.strings[lang] = loaded[i]; });
}

export function applyLanguage(lang) {
  state.lang = LANGS.includes(lang) ? lang : 'en';
  document.documentElement.lang = state.lang;
  document.querySelectorAll('[data-i18n]').forEach((el) => {
    el.textContent = t(el.dataset.i18n);
  });
  document.querySelectorAll('[data-i18n-aria-label]').forEach((el) => {
    el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel));
  });
  document.title = t(document.body.dataset.titleKey || 'page.title');
  document.querySelectorAll('[data-lang-choice]').forEach((b) => {
    b.setAttribute('aria-pressed', String(b.dataset.langChoice === state.lang));
  });
  const url = new URL(window.location.href);
  url.searchParams.set('lang', state.lang);
  history.replaceState(null, '', url);
  if (state.last) state.last();
}
