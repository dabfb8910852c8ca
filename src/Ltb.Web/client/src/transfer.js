// Bulk transfers the browser makes itself, straight to or from the API, never through the Blazor circuit: a VM image
// upload, a snapshot archive's import or export. The page asks the API for a single-use transfer ticket with the
// signed-in user's session (POST /api/v1/auth/transfer-tickets) and hands its URL here; the browser holds no token.
// Files are read in pieces (a disk may have GiBs): hashed piece by piece, sent by XMLHttpRequest from the File itself.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { save } from './download.js';

const piece = 4 << 20;
const progressEvery = 250; // ms between progress reports to the page

function picked(inputId) {
  const file = document.getElementById(inputId)?.files?.[0];
  if (!file) throw new Error('choose a file first');
  return file;
}

function reporter(dotnet, phase) {
  let last = 0;
  return (done, total, force = false) => {
    const now = Date.now();
    if (!force && now - last < progressEvery) return;
    last = now;
    dotnet?.invokeMethodAsync('TransferProgress', phase, done, total).catch(() => {});
  };
}

export const transfer = {
  // The picked file's name and size, or null when none is picked.
  file(inputId) {
    const file = document.getElementById(inputId)?.files?.[0];
    return file ? { name: file.name, size: file.size } : null;
  },

  // The picked file's SHA-256 (hex), read piece by piece.
  async sha256(inputId, dotnet) {
    const file = picked(inputId);
    const hash = sha256.create();
    const report = reporter(dotnet, 'checksum');
    for (let offset = 0; offset < file.size; offset += piece) {
      hash.update(new Uint8Array(await file.slice(offset, offset + piece).arrayBuffer()));
      report(Math.min(offset + piece, file.size), file.size);
    }
    report(file.size, file.size, true);
    return bytesToHex(hash.digest());
  },

  // POSTs the picked file as the body to url (a ticket's); answers the status and the body (the API's JSON).
  upload(inputId, url, contentType, dotnet) {
    const file = picked(inputId);
    const report = reporter(dotnet, 'upload');
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', url);
      xhr.setRequestHeader('Content-Type', contentType);
      xhr.upload.onprogress = (e) => report(e.loaded, e.total || file.size);
      xhr.onload = () => { report(file.size, file.size, true); resolve({ status: xhr.status, body: xhr.responseText }); };
      xhr.onerror = () => resolve({ status: 0, body: '' });
      xhr.onabort = () => resolve({ status: 0, body: '' });
      xhr.send(file);
    });
  },

  // Saves what url (a ticket's GET) answers with the browser's own download: streamed to disk, never held in the page.
  download(url, fileName) {
    save(url, fileName);
  },
};
