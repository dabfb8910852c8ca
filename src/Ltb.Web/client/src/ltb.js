// The browser side of LTB's web UI, bundled by esbuild into one script (ui/ltb.js); Blazor pages call window.ltb.*.
import { theme } from './theme.js';
import { graph } from './graph.js';
import { consoleTabs } from './console.js';
import { editor } from './editor.js';
import { download } from './download.js';
import { files } from './files.js';
import { display } from './display.js';
import { transfer } from './transfer.js';

window.ltb = { theme, graph, console: consoleTabs, editor, download, files, display, transfer };
