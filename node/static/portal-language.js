// The portal's words in Kazakh, Russian and English: the translations, dates said in
// the page's language, and switching the page from one language to another.

const LANGS = ['kk', 'ru', 'en'];

// last: draws the current answer again, so that a change of language says it anew.
export const state = { lang: 'en', strings: {}, last: null };
export const $ = (id) => document.getElementById(id);

export function t(key, params) {
  const table = state.strings[state.lang] || {};
  let text = table[key];
  if (text === undefined) { console.warn('missing translation', state.lang, key); text = key; }
  return text.replace(/\{(\w+)\}/g, (m, name) => (params && name in params ? params[name] : m));
}

export function has(key) { return key in (state.strings[state.lang] || {}); }

export function formatDate(iso) {
  // iso: "YYYY-MM-DD" or "YYYY-MM-DD HH:MM:SS UTC" (as the node reports times)
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso || '');
  if (!m) return iso || '';
  return t('date.format', { day: String(Number(m[3])), month: t('month.' + Number(m[2])),
    year: m[1] });
}

export function formatTime(iso) {
  const m = /(\d{2}):(\d{2}):\d{2}/.exec(iso || '');
  return m ? m[1] + ':' + m[2] : '';
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
  document.title = t('page.title');
  document.querySelectorAll('[data-lang-choice]').forEach((b) => {
    b.setAttribute('aria-pressed', String(b.dataset.langChoice === state.lang));
  });
  const url = new URL(window.location.href);
  url.searchParams.set('lang', state.lang);
  history.replaceState(null, '', url);
  if (state.last) state.last();
}
