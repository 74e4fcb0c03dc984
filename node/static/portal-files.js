// A file picked or dropped, on either page (the portal's check, the holder's copy): the
// page's #file input and its #drop zone hand the file to `onFile`.
import { $ } from './portal-language.js';

export function takeFiles(onFile) {
  $('file').addEventListener('change', (e) => {
    const file = e.target.files && e.target.files[0];
    // Emptied, so that picking the same file again (a new copy saved over a damaged one)
    // is a change, and is read again.
    e.target.value = '';
    if (file) onFile(file);
  });
  const drop = $('drop');
  ['dragenter', 'dragover'].forEach((name) => drop.addEventListener(name, (e) => {
    e.preventDefault();
    drop.classList.add('over');
  }));
  ['dragleave', 'drop'].forEach((name) => drop.addEventListener(name, () => {
    drop.classList.remove('over');
  }));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    const file = e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files[0];
    if (file) onFile(file);
  });
  // A file dropped outside the zone would otherwise replace the page.
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => e.preventDefault());
}

// A file's text: UTF-8 (or UTF-16, by its byte-order mark), or null when its bytes are not
// such text. Decoded leniently, a damaged byte became U+FFFD: the holder's copy, made of
// that value, would not verify, and the portal called a genuine file saved in another
// encoding (or with one byte damaged) altered, showing its garbled text as its contents.
export async function textOf(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const utf16 = bytes[0] === 0xFF && bytes[1] === 0xFE ? 'utf-16le'
    : bytes[0] === 0xFE && bytes[1] === 0xFF ? 'utf-16be' : null;
  try {
    return new TextDecoder(utf16 || 'utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    return null;
  }
}

// What people drop instead of the credential file: a PDF or a scan of the paper diploma.
const NOT_CREDENTIALS = [['pdf', [0x25, 0x50, 0x44, 0x46]],
  ['image', [0x89, 0x50, 0x4e, 0x47]], ['image', [0xff, 0xd8, 0xff]],
  ['image', [0x47, 0x49, 0x46, 0x38]], ['image', [0x42, 0x4d]],
  ['image', [0x49, 0x49, 0x2a, 0x00]], ['image', [0x4d, 0x4d, 0x00, 0x2a]]];

const PICTURE_BRANDS = ['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'msf1', 'mif2',
  'avif', 'avis'];
// MP4 (isom, iso2-iso9, mp41, mp42, avc1, dash), iPhone MOV (qt), M4V, phones' 3GP.
const VIDEO_BRANDS = /^(iso[m2-9]|mp4[12]|avc1|dash|qt {2}|M4V[ HP]|3g[p2][0-9a-z ]|mmp4|XAVC)/;

function kindOfBrand(brand) {
  if (PICTURE_BRANDS.includes(brand)) return 'image';
  if (VIDEO_BRANDS.test(brand)) return 'video';
  // Another kind of ISO file (an M4A recording, say): no credential, but nothing to name.
  return 'unreadable';
}

// What a file is when it is no credential file, by its first bytes: 'pdf', 'image',
// 'video', 'unreadable', 'empty', 'too_large' (over `maxBytes`); null when it may be one.
export async function kindOfFile(file, maxBytes) {
  const head = new Uint8Array(await file.slice(0, 12).arrayBuffer());
  const starts = (bytes, at) => bytes.every((b, i) => head[(at || 0) + i] === b);
  const found = NOT_CREDENTIALS.find(([, magic]) => starts(magic));
  if (found) return found[0];
  // WebP (RIFF....WEBP), as phones save photos
  if (starts([0x52, 0x49, 0x46, 0x46]) && starts([0x57, 0x45, 0x42, 0x50], 8)) return 'image';
  // HEIC/AVIF photos and MP4/MOV videos share the ISO box format (....ftyp); its major
  // brand, the next four bytes, tells them apart.
  if (starts([0x66, 0x74, 0x79, 0x70], 4)) {
    return kindOfBrand(String.fromCharCode(...head.slice(8, 12)));
  }
  // An empty file is a download or copy that failed, not an empty text box.
  if (file.size === 0) return 'empty';
  return file.size > maxBytes ? 'too_large' : null;
}
