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
