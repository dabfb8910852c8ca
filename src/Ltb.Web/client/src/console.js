// A node's console in xterm.js over the console WebSocket (docs/api.md "Consoles"). The page asks the API for a
// single-use ticket with the signed-in user's session and hands its URL here: the socket carries no cookie or token of
// its own. Framing (ExecSocketFrames): binary out = one stream byte + output; binary in = keystrokes; text = JSON control.
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';

const consoles = new Map();
const encoder = new TextEncoder();

function socketUrl(path, rows, cols) {
  const url = new URL(path, window.location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('rows', rows);
  url.searchParams.set('cols', cols);
  return url.toString();
}

// The tab's element may appear a frame after Blazor's render that created it (MudTabs renders panels second).
export function whenPresent(elementId, tries = 150) {
  return new Promise((resolve, reject) => {
    const attempt = (left) => {
      const el = document.getElementById(elementId);
      if (el) resolve(el);
      else if (left > 0) setTimeout(() => attempt(left - 1), 20);
      else reject(new Error(`no element #${elementId}`));
    };
    attempt(tries);
  });
}

export const consoleTabs = {
  async open(id, elementId, path, dotnet) {
    consoleTabs.close(id);
    const el = await whenPresent(elementId);
    const term = new Terminal({ cursorBlink: true, fontSize: 13, scrollback: 5000, convertEol: false });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(el);
    try { fit.fit(); } catch { /* hidden tab: fitted when shown */ }
    const ws = new WebSocket(socketUrl(path, term.rows, term.cols));
    ws.binaryType = 'arraybuffer';
    const entry = { term, fit, ws, el, output: '' };
    consoles.set(id, entry);
    el.dataset.console = 'connecting';
    ws.onopen = () => { el.dataset.console = 'open'; };
    ws.onmessage = (m) => {
      if (typeof m.data === 'string') {
        const c = JSON.parse(m.data);
        if (c.type === 'exit') term.write(`\r\n[the console ended: exit code ${c.exitCode}]\r\n`);
        else if (c.type === 'error') term.write(`\r\n[${c.message}]\r\n`);
        return;
      }
      const bytes = new Uint8Array(m.data);
      term.write(bytes.subarray(1));
    };
    ws.onclose = (e) => {
      el.dataset.console = 'closed';
      term.write(`\r\n[disconnected${e.reason ? ': ' + e.reason : ''}]\r\n`);
      dotnet?.invokeMethodAsync('ConsoleClosed', id).catch(() => {});
    };
    term.onData((d) => { if (ws.readyState === WebSocket.OPEN) ws.send(encoder.encode(d)); });
    term.onResize(({ rows, cols }) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'resize', rows, cols }));
    });
    // Refit whenever the element's size changes: the window, a tab shown (hidden ones measure 0), the split view.
    entry.resizes = new ResizeObserver(() => {
      if (el.clientWidth > 0 && el.clientHeight > 0) { try { fit.fit(); } catch { /* ignore */ } }
    });
    entry.resizes.observe(el);
    term.focus();
    return true;
  },
  fit(id) {
    const c = consoles.get(id);
    if (c) { try { c.fit.fit(); c.term.focus(); } catch { /* ignore */ } }
  },
  // The terminal's visible text (tests read what the node printed).
  text(id) {
    const c = consoles.get(id);
    if (!c) return '';
    const buffer = c.term.buffer.active;
    const lines = [];
    for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i)?.translateToString(true) ?? '');
    return lines.join('\n');
  },
  close(id) {
    const c = consoles.get(id);
    if (!c) return;
    consoles.delete(id);
    c.resizes.disconnect();
    try { c.ws.close(); } catch { /* ignore */ }
    c.term.dispose();
  },
};
