// An employment record's standing, said from the verdict's facts and the document's own
// fields (not from the node's English): in its technical check, and after the verdict.
import { formatDate, formatDateTime, t } from './portal-language.js';

export function shownValue(doc, name) {
  const entry = ((doc && doc.fields) || {})[name];
  return entry && typeof entry.value === 'string' ? entry.value : '';
}

export function employmentDetail(check, doc, verdict, status) {
  const e = (verdict.facts || {}).employment;
  if (!check.ok || !e) return t('detail.employment.fail');
  const position = shownValue(doc, 'position');
  const organisation = shownValue(doc, 'organisation');
  const role = position && organisation ? t('employment.role', { position, organisation })
    : position ? t('employment.role_position', { position })
      : organisation ? t('employment.role_organisation', { organisation }) : '';
  const params = { role, start: e.start_date ? formatDate(e.start_date)
    : t('employment.start_hidden'), end: formatDate(e.end_date || '') };
  let text;
  if (e.current) {
    // The node's last block, and its time when the status answered at that same block.
    const height = String(e.as_of_height ?? '');
    const asOf = status && status.height === e.as_of_height && status.head_time
      ? t('asof.block_time', { height, when: formatDateTime(status.head_time) })
      : t('asof.block', { height });
    text = t('detail.employment.current', { ...params, asOf });
  } else if (e.end_doubted) {
    text = t('detail.employment.end_doubted', { ...params,
      height: String(e.end_recorded_at_height), fromHeight: String(e.key_compromised_from) });
  } else if (e.end_date_hidden) {
    text = t('detail.employment.ended_hidden', params);
  } else if (e.employer_left_height !== undefined) {
    const height = String(e.employer_left_height);
    text = e.employer_left_at
      ? t('detail.employment.employer_left_on', { ...params, height,
        leftDate: formatDate(e.employer_left_at) })
      : t('detail.employment.employer_left', { ...params, height });
  } else if (e.end_recorded_at_height !== undefined) {
    text = t('detail.employment.ended', { ...params, height: String(e.end_recorded_at_height) });
  } else {
    text = t('detail.employment.ended_as_issued', params);
  }
  // A role said first (as Kazakh does) or none: the sentence still starts with a capital.
  return text.charAt(0).toUpperCase() + text.slice(1);
}

// Whether the person still works there is what the employer checking the record came
// for, and the document itself holds only the start: an end the employer recorded on
// chain later is in no field. So a genuine record's verdict goes on with its standing;
// left among the technical checks, an ended employment read as a current one.
export function headline(sentence, doc, verdict, status) {
  const check = (verdict.checks || []).find((c) => c.check === 'employment');
  if (verdict.status !== 'valid' || !check || !check.ok) return sentence;
  // Laid out apart: a direction mark in the document's position or organisation (pasted
  // from Word) must not turn the verdict before it around.
  const standing = document.createElement('bdi');
  standing.textContent = employmentDetail(check, doc, verdict, status);
  const said = document.createDocumentFragment();
  said.append(sentence, ' ', standing);
  return said;
}
