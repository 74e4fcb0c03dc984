// A link someone was sent, read into the document it carries: the page's own address, or
// a link pasted in the box as a letter or a chat brought it (over lines, quoted, inside a
// mail service's redirect, with words before it). cli/share_links.py reads a link given to
// `senim verify` the same way, and tests/cli/link_variants.py gives both the same ones.

// The most a link's document may inflate to, and the most the box reads from a file: the
// largest body a verify route takes is a VC's 512 KiB, and a link of a few KiB can unpack
// to gigabytes.
export const MAX_DOCUMENT_BYTES = 1024 * 1024;

// Around a link copied out of a letter (in <…> or (…), or quotes, a Kazakh or Russian
// letter's «…» and „…“ among them, or with a full stop after it).
const LINK_WRAPPING = ' \t\r\n<>()"\'.,;«»“”„‘’';
// What a letter or a chat puts inside a long link it breaks over lines (a line break, and
// the indentation or a reply's "> " after it, a space, a no-break or zero-width space, a
// soft hyphen): none can be part of a link, so removing them gives the link back as it was
// made. Quoted-printable shown undecoded ends lines with "=" and writes "=" as "=3D": read
// as that only when both are there (a plain link may break just after "#doc=", and a
// deflated document's base64url may begin with "3D").
const LINK_BREAKS = new RegExp('[\\t\\n\\v\\f\\r \\u00a0\\u00ad\\u1680\\u2000-\\u200d\\u2028\\u2029'
  + '\\u202f\\u205f\\u2060\\u3000\\ufeff]+', 'g');
const LINE_START = /(?:\r\n|\n|\r)[ \t>]*/g;
const SOFT_BREAK = /=[ \t]*\n/g;
const ESCAPED_EQUALS = /=3D/gi;
// Where a link begins: the words before it ("Here is my diploma:", "Диплом:") are no part
// of it. One after "=" is a query's value (a redirect's q=https://…), no second link.
const LINK_START = /https?:\/\//gi;
// The most links `pastedLinks` gives back: one is read; with a second the reader is asked
// which, not guessed for.
const LINKS_TOLD = 2;
// The most different links a letter is searched for the one that carries a document: its
// other links (the university's site, a signature's) carry none, and the one that does is
// read; two that do are told as two (cli/share_links.py LINKS_READ_MAX).
const LINKS_READ_MAX = 8;
// The most words after a link left out to find where it ends ("Спасибо, Айгерим"), when
// the text read whole carries no whole document (cli/share_links.py TRAILING_WORDS_MAX).
const TRAILING_WORDS_MAX = 6;
// The redirects a mail or chat service wraps each link of a letter in, the link itself
// percent-encoded in one query parameter: [host, path, the parameter's names]. The link is
// only taken out of the text; nothing is fetched. Outlook's SafeLinks, Google's (Gmail,
// Google Docs), VK's and Facebook's away pages, as cli/share_links.py REDIRECTS.
const REDIRECTS = [
  [/^(?:[a-z0-9-]+\.)*safelinks\.protection\.outlook\.com$/, '/', ['url']],
  [/^(?:www\.)?google\.[a-z]{2,3}(?:\.[a-z]{2})?$/, '/url', ['q', 'url']],
  [/^(?:m\.)?vk\.com$/, '/away.php', ['to']],
  [/^lm?\.facebook\.com$/, '/l.php', ['u']],
];
// A redirect wrapped in another (SafeLinks around Google's) is read through this many.
const REDIRECTS_NESTED_MAX = 3;

function unwrapped(text) {
  let start = 0;
  let end = text.length;
  while (start < end && LINK_WRAPPING.includes(text[start])) start += 1;
  while (end > start && LINK_WRAPPING.includes(text[end - 1])) end -= 1;
  return text.slice(start, end);
}

// The text with what wraps the link, the words before it, and the breaks put inside it
// removed.
function rejoined(text) {
  let link = unwrapped(text).replace(LINE_START, '\n');
  if (/=[ \t]*\n/.test(link) && /=3D/i.test(link)) {
    link = link.replace(SOFT_BREAK, '').replace(ESCAPED_EQUALS, '=');
  }
  // The words before the link ("Диплом: ") are no part of it; but a "{" before is a
  // document's JSON, whose links (a VC's "@context") are none sent to be opened.
  const start = link.search(/https?:\/\//i);
  if (start >= 0 && !link.slice(0, start).includes('{')) {
    link = link.slice(start);
    // A mail client wraps a long link over lines but leaves no blank one in it: what
    // follows a blank line is the letter's sign-off, unless it holds another link (two
    // links are told as two).
    const blank = link.indexOf('\n\n');
    if (blank >= 0 && !/https?:\/\//i.test(link.slice(blank))) link = link.slice(0, blank);
  }
  return unwrapped(link.replace(LINK_BREAKS, ''));
}

// The link a redirect carries in its query, percent-decoded; `link` when it is none, or
// carries no http(s) link that decodes. Cut by hand, not by a pattern of host, path and
// query, which backtracks for a long text with no "?" in it.
function unredirected(link) {
  for (let depth = 0; depth < REDIRECTS_NESTED_MAX; depth += 1) {
    const scheme = /^https?:\/\//i.exec(link);
    if (!scheme) break;
    const rest = link.slice(scheme[0].length).split('#', 1)[0];
    const question = rest.indexOf('?');
    if (question < 0) break;
    const before = rest.slice(0, question);
    const slash = before.indexOf('/');
    const host = (slash < 0 ? before : before.slice(0, slash)).toLowerCase();
    const path = slash < 0 ? '/' : before.slice(slash);
    const known = REDIRECTS.find(([hosts, at]) => at === path && hosts.test(host));
    const names = known ? known[2] : [];
    const pair = rest.slice(question + 1).split('&').find((p) => names.includes(p.split('=', 1)[0]));
    if (pair === undefined) break;
    let inner;
    try {
      inner = decodeURIComponent(pair.slice(pair.indexOf('=') + 1));
    } catch (e) {
      break;  // not read, as cli/share_links.py does not read it
    }
    if (!/^https?:\/\//i.test(inner)) break;
    link = inner;
  }
  return link;
}

// The links in the box's text that matter, each as it was made, in their order (no more
// than LINKS_TOLD): the one that carries a document (#doc=, #docz=, whole or not) when only
// one among them does, else those that do, else those there are; none when it holds no
// link. A letter's other links are not read for it.
export function pastedLinks(text) {
  const links = allLinks(text);
  const carrying = links.filter((link) => /docz?=/.test(
    unescapedFragment(link.includes('#') ? link.slice(link.indexOf('#')) : '')));
  return (carrying.length ? carrying : links).slice(0, LINKS_TOLD);
}

// The document a link carries once the letter's words after it are left out: a link
// followed by them on its line ("…#docz=q1ZK Спасибо!") had them read as part of it, the
// spaces inside a link being removed. Its last words left out one more at a time, the
// reading taken when exactly one carries a whole JSON document ({ carried, wordsAfter });
// else null. As cli/share_links.py read_link does.
export async function withoutWordsAfter(text) {
  const whole = unwrapped(text);
  const breaks = [...whole.matchAll(LINK_BREAKS)].map((m) => m.index).slice(-TRAILING_WORDS_MAX);
  const readings = [];
  for (const cut of breaks.reverse()) {
    const kept = whole.slice(0, cut);
    if (!/docz?=/.test(kept)) break;  // the link's own fragment left out
    const links = pastedLinks(kept);
    if (links.length !== 1) continue;
    const at = links[0].indexOf('#');
    const carried = await documentFromLink(at < 0 ? '' : links[0].slice(at));
    if (!carriesObject(carried)) continue;
    readings.push({ carried, wordsAfter: whole.slice(cut).replace(LINK_BREAKS, ' ').trim() });
  }
  return readings.length === 1 ? readings[0] : null;
}

// Whether what documentFromLink gave is a JSON object's text, as every document a link
// carries is (a plain document's base64url with a word glued after it decodes to more).
export function carriesObject(carried) {
  if (typeof carried !== 'string') return false;
  try {
    const doc = JSON.parse(carried);
    return doc !== null && typeof doc === 'object' && !Array.isArray(doc);
  } catch (e) {
    return false;
  }
}

// The different links in the text, in their order; no more than LINKS_READ_MAX.
function allLinks(text) {
  const body = rejoined(text);
  if (!/^https?:\/\//i.test(body)) return [];
  const starts = [...body.matchAll(LINK_START)].map((m) => m.index)
    .filter((at) => at === 0 || body[at - 1] !== '=');
  const links = [];
  for (let n = 0; n < starts.length && links.length < LINKS_READ_MAX; n += 1) {
    const end = n + 1 < starts.length ? starts[n + 1] : body.length;
    const link = unredirected(unwrapped(body.slice(starts[n], end)));
    if (!links.includes(link)) links.push(link);
  }
  return links;
}

function base64UrlBytes(text) {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  return Uint8Array.from(atob(b64 + '==='.slice((b64.length + 3) % 4)), (c) => c.charCodeAt(0));
}

// #doc= carries the document's JSON; #docz= the same deflated (senim share makes that when
// the plain link is too long for a QR code), the whole fragment. The fragment of the page's
// own address or of a link pasted in the box: its text; null when it carries no document;
// { refused } (a status key) when none can be read whole (a fragment with more before
// #docz= among them: no link `senim share` made, but one changed), or it would inflate
// past MAX_DOCUMENT_BYTES.
export async function documentFromLink(fragment) {
  const unescaped = unescapedFragment(fragment);
  const m = /^#(doc|docz)=(.*)$/s.exec(unescaped);
  if (!m) return /docz?=/.test(unescaped) ? { refused: 'link_damaged' } : null;
  try {
    // base64url only, as the command line reads it: atob would also take "+", "/" and
    // whitespace, and read a changed link that `senim verify` calls damaged.
    if (!/^[A-Za-z0-9_-]*$/.test(m[2])) return { refused: 'link_damaged' };
    let bytes = base64UrlBytes(m[2]);
    if (m[1] === 'docz') {
      bytes = await inflated(bytes);
      if (bytes === null) return { refused: 'too_large' };
    }
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    return { refused: 'link_damaged' };
  }
}

// A link pasted in the address bar keeps a space a letter put in it, and the browser
// writes it %20 (a no-break space %C2%A0), as a link copied back out of it holds it.
// Base64url has no "%", so decoding the fragment and removing such spaces gives the link
// back; one that does not decode is left to be called damaged.
function unescapedFragment(fragment) {
  if (!fragment.includes('%')) return fragment;
  try {
    return decodeURIComponent(fragment).replace(LINK_BREAKS, '');
  } catch (e) {
    return fragment;
  }
}

async function inflated(bytes) {
  const reader = new Blob([bytes]).stream()
    .pipeThrough(new DecompressionStream('deflate-raw')).getReader();
  const parts = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > MAX_DOCUMENT_BYTES) { reader.cancel(); return null; }
    parts.push(value);
  }
  return new Uint8Array(await new Blob(parts).arrayBuffer());
}
