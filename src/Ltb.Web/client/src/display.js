// A VM node's graphical display in noVNC over the display WebSocket (docs/api.md "VNC display"). As for a console, the
// page asks the API for a single-use ticket with the signed-in user's session and hands its URL here. noVNC is loaded
// on first use from ui/novnc.js (its own module bundle), with the same version query as this script.
import { whenPresent } from './console.js';

const scriptUrl = document.currentScript?.src || window.location.href;
const displays = new Map();
let rfbModule = null;

function socketUrl(path) {
  const url = new URL(path, window.location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

function loadRfb() {
  const script = new URL(scriptUrl);
  rfbModule ??= import(new URL(`novnc.js${script.search}`, script).href);
  return rfbModule;
}

export const display = {
  // Connects the element's screen; its data-display attribute tells the state (connecting, open, closed) and
  // data-reason why it closed, for the page's words and the tests.
  async open(id, elementId, path) {
    display.close(id);
    const el = await whenPresent(elementId);
    el.dataset.display = 'connecting';
    const { RFB } = await loadRfb();
    const rfb = new RFB(el, socketUrl(path), { shared: true, wsProtocols: ['binary'] });
    rfb.scaleViewport = true;
    rfb.focusOnClick = true;
    displays.set(id, rfb);
    rfb.addEventListener('connect', () => { el.dataset.display = 'open'; });
    rfb.addEventListener('disconnect', (e) => {
      el.dataset.display = 'closed';
      el.dataset.reason = e.detail?.clean ? 'the display ended' : 'the display connection was lost';
    });
    rfb.addEventListener('securityfailure', (e) => { el.dataset.reason = e.detail?.reason || 'the display refused the connection'; });
    return true;
  },
  // Whether the screen shows more than one colour (tests: the guest drew something).
  drawn(elementId) {
    const canvas = document.getElementById(elementId)?.querySelector('canvas');
    if (!canvas || canvas.width === 0 || canvas.height === 0) return false;
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 4; i < pixels.length; i += 4) {
      if (pixels[i] !== pixels[0] || pixels[i + 1] !== pixels[1] || pixels[i + 2] !== pixels[2]) return true;
    }
    return false;
  },
  close(id) {
    const rfb = displays.get(id);
    if (!rfb) return;
    displays.delete(id);
    try { rfb.disconnect(); } catch { /* already closed */ }
  },
};
