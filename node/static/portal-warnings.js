// What a VC's check could not confirm. Its warnings (the node's verdict.warnings, each with
// its code in verdict.warning_codes: ledger/vc/warning_codes.py): a revocation list that
// was not read, a list another key signed, a status of a kind not checked. Each is said
// as a sentence in the page's language under the verdict, marked as a warning, never as
// a check passed: an officer read "not confirmed" and was not told that the list that
// could say "revoked" had not been looked at. And a verdict "unknown" because the VC's
// status list could not be used, which is no credential unknown to the network.
import { $, has, mark, state, t } from './portal-language.js';

// A hostile file may carry thousands of status entries, each warned of alike: each
// sentence is said once, and at most this many of them.
const MAX_WARNINGS = 12;

// Warnings the verdict's own sentence already says: a VC no chain records (not_on_chain)
// is headed "not confirmed: recorded on no Senim chain" (status.valid_vc), and the same
// words again under it said nothing more, so the catalogue has none for it. Still counted
// by toneWith.
const SAID_BY_SENTENCE = new Set(['not_on_chain']);

// [code, English text] of each warning; a code the page has no words for (a newer
// node's, say) is said as one it cannot word, never dropped.
function warningsOf(verdict) {
  const texts = Array.isArray(verdict.warnings) ? verdict.warnings : [];
  const codes = Array.isArray(verdict.warning_codes) ? verdict.warning_codes : [];
  return texts.map((text, i) => {
    const given = typeof codes[i] === 'string' ? codes[i] : '';
    const code = SAID_BY_SENTENCE.has(given) || has('warning.' + given) ? given : 'other';
    return [code, typeof text === 'string' ? text : ''];
  });
}

export function clearWarnings() {
  const list = $('warnings');
  list.replaceChildren();
  list.hidden = true;
}

export function renderWarnings(verdict) {
  clearWarnings();
  const list = $('warnings');
  const said = new Set();
  warningsOf(verdict || {}).forEach(([code, text]) => {
    if (SAID_BY_SENTENCE.has(code)) return;
    // The node's own English for a warning the page cannot word, on the English page;
    // elsewhere a sentence saying that there is one.
    const sentence = code === 'other' && state.lang === 'en' && text ? text : t('warning.' + code);
    if (said.has(sentence) || said.size >= MAX_WARNINGS) return;
    said.add(sentence);
    const li = document.createElement('li');
    li.dataset.warning = code;
    li.append(mark('warn'), sentence);
    list.appendChild(li);
  });
  list.hidden = said.size === 0;
}

// A W3C VC whose status list could not be used (out of date, unsigned by its issuer's key,
// not a status list, unreadable): "unknown" with its status check failed, which the
// page said as a credential never issued on this network. '' for any other verdict.
function listUnusable(verdict) {
  return verdict.status === 'unknown' && (verdict.checks || []).some(
    (check) => check && check.check === 'status' && !check.ok);
}

export function unconfirmedSentence(verdict) {
  return listUnusable(verdict) ? t('status.status_list_unconfirmed') : '';
}

export function unconfirmedDetail(check, verdict) {
  return check.check === 'status' && !check.ok && listUnusable(verdict)
    ? t('detail.status.fail_unconfirmed') : '';
}

// A verdict that would be shown as a pass is not, with a warning under it.
export function toneWith(tone, verdict) {
  return tone === 'ok' && warningsOf(verdict || {}).length ? 'warn' : tone;
}
