// A retired issuer and the consortium's revocation of its credential, said from the
// verdict's facts: a genuine credential of a university that has since left the
// consortium says when it left, after the verdict and in its check; one the consortium
// revoked by a governance proposal (its issuer could no longer revoke it) says so; a
// grant or a revocation recorded with a key declared stolen says which and from when.
import { formatDate, has, t, tNode } from './portal-language.js';

function proposalShort(f) { return String(f.revoked_by_proposal || '').slice(0, 16) + '…'; }

// The verdict's sentence for a credential the consortium revoked, or null.
export function consortiumSentence(verdict, params) {
  const f = verdict.facts || {};
  if (verdict.status !== 'revoked' || f.revoked_by !== 'consortium') return null;
  return tNode('status.revoked_by_consortium', { ...params, proposal: proposalShort(f) });
}

// The check's words when the consortium revoked it, or null.
export function consortiumDetail(check, verdict, params) {
  const f = verdict.facts || {};
  if (check.check !== 'not_revoked' || check.ok || f.revoked_by !== 'consortium') return null;
  return tNode('detail.not_revoked.fail_consortium', { ...params, proposal: proposalShort(f) });
}

export function membershipDetail(check, verdict) {
  const f = verdict.facts || {};
  return tNode('detail.membership.' + (check.ok ? 'ok' : 'fail'),
    { issuer: f.issuer || '', height: String(f.issuer_retired_height ?? '') });
}

// A genuine credential of a retired issuer: the verdict goes on to say when it left; of
// an issuer whose accreditation was suspended after it issued it, since when and why.
export function withRetirement(sentence, verdict) {
  const f = verdict.facts || {};
  if (verdict.status !== 'valid') return sentence;
  const said = document.createDocumentFragment();
  said.append(sentence);
  if (f.issuer_retired_height !== undefined) {
    const key = f.issuer_left_at ? 'retired.left' : f.issuer_leaves ? 'retired.leaves'
      : 'retired.left_at_block';
    said.append(' ', tNode(key, { issuer: f.issuer || '',
      leftDate: formatDate(f.issuer_left_at), height: String(f.issuer_retired_height) }));
  }
  if (f.issuer_suspended_height !== undefined) {
    const code = 'suspension.' + f.issuer_suspension_reason;
    const params = { issuer: f.issuer || '', reason: t(has(code) ? code : 'suspension.other'),
      date: formatDate(f.issuer_suspended_at), height: String(f.issuer_suspended_height) };
    said.append(' ', tNode(f.issuer_suspended_at ? 'suspended.since' : 'suspended.since_block',
      params));
  }
  return said;
}

// The check of an accreditation granted, an issuer admitted, or a revocation recorded,
// with a key reported stolen (the first two count for nothing, the third leaves the
// document in doubt), or null.
export function stolenKeyDetail(check, verdict) {
  const f = verdict.facts || {};
  const params = { ministry: f.accredited_by || '', revokedDate: formatDate(f.revoked_at),
    fromHeight: String(f.key_compromised_from ?? '') };
  if (check.check === 'accredited' && !check.ok && f.accredited_by) {
    return tNode('detail.accredited.fail_stolen_key', params);
  }
  if (check.check === 'admitted' && !check.ok && f.admitted_by) {
    return tNode('detail.admitted.fail_stolen_key', { ...params, ministry: f.admitted_by,
      height: String(f.admitted_at_height ?? '') });
  }
  if (check.check === 'not_revoked' && verdict.status === 'revocation_doubted') {
    return tNode('detail.not_revoked.fail_doubted', params);
  }
  return null;
}
