// noVNC's RFB client, bundled on its own as an ES module (ui/novnc.js): noVNC awaits at its top level, which the main
// bundle's format (an IIFE) cannot hold, and only a lab page that opens a display needs it (display.js imports it then).
export { default as RFB } from '@novnc/novnc';
