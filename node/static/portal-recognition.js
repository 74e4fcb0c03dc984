// A recognition's own checks, said from the verdict's facts: the recognised courses the
// holder shows, and the original transcript it relies on, which may be held in doubt
// (signed, accredited or revoked with a key declared stolen) while the recognition is
// genuine.
import { shownValue } from './portal-employment.js';
import { reasonWords, t, tNode } from './portal-language.js';

export function recognisedDetail(doc, shown, hidden) {
  const lines = Object.keys((doc && doc.fields) || {}).filter((n) => /^recognised\.\d+$/.test(n))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((n) => { try { return JSON.parse(shownValue(doc, n)); } catch (e) { return null; } })
    .filter((line) => line && typeof line === 'object');
  const credits = lines.reduce((sum, line) => sum + (Number(line.credits) || 0), 0);
  const pairs = lines.filter((line) => line.from_code && line.as_code)
    .map((line) => line.from_code + ' → ' + line.as_code
      + (line.credits ? ' (' + line.credits + ')' : '')).join(', ');
  const text = t('detail.recognised.ok', { linesShown: shown, linesHidden: hidden,
    credits: String(credits) });
  return pairs ? text + ' ' + t('recognised.pairs', { pairs }) : text;
}

export function originalDetail(check, verdict) {
  const o = (verdict.facts || {}).original || {};
  const params = { issuer: o.issuer || '', height: String(o.height ?? ''),
    reason: reasonWords(o.revocation_reason) };
  if (check.ok) return tNode('detail.original.ok', params);
  const kind = { revoked: 'revoked', unknown: 'unknown', tampered: 'unknown',
    unaccredited: 'unaccredited', doubted: 'doubted',
    admission_doubted: 'admission_doubted' }[o.status] || 'fail';
  return tNode('detail.original.' + kind, params);
}

// The verdict's sentence for a genuine recognition whose original is held in doubt (not
// "not genuine on this network"), or null.
export function originalSentence(verdict) {
  const original = (verdict.facts || {}).original || {};
  if (verdict.status !== 'original_invalid') return null;
  if (original.status !== 'doubted' && original.status !== 'admission_doubted') return null;
  return tNode('status.original_' + original.status, { issuer: original.issuer || '' });
}
