// The YAML editor (CodeMirror 6): syntax highlighting, and the server's diagnostics shown as squiggles at their
// line:column. The page validates through the API (debounced here) and calls setDiagnostics with the answer.
import { EditorView, basicSetup } from 'codemirror';
import { EditorState } from '@codemirror/state';
import { yaml } from '@codemirror/lang-yaml';
import { lintGutter, setDiagnostics } from '@codemirror/lint';
import { editorTheme } from './editor-theme.js';

const editors = new WeakMap();

export const editor = {
  create(el, text, readOnly, dotnet) {
    let timer = null;
    const view = new EditorView({
      parent: el,
      state: EditorState.create({
        doc: text,
        extensions: [
          basicSetup, yaml(), lintGutter(), editorTheme,
          // Its accessible name (axe-core: an input needs one): the element's aria-label, or what it is.
          EditorView.contentAttributes.of({ 'aria-label': el.getAttribute('aria-label') || 'YAML editor' }),
          EditorState.readOnly.of(!!readOnly), EditorView.editable.of(!readOnly),
          EditorView.updateListener.of((u) => {
            if (!u.docChanged || !dotnet) return;
            clearTimeout(timer);
            timer = setTimeout(() => dotnet.invokeMethodAsync('TextChanged', u.state.doc.toString()).catch(() => {}), 400);
          }),
        ],
      }),
    });
    editors.set(el, view);
    return true;
  },
  // Replaces the whole text (a loaded file; tests): validated like typing.
  setText(el, text) {
    const view = editors.get(el);
    if (!view) return false;
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
    return true;
  },
  text(el) {
    return editors.get(el)?.state.doc.toString() ?? '';
  },
  // diagnostics: [{ line, column, severity, message }] with 1-based line and column, as the API gives them.
  setDiagnostics(el, diagnostics) {
    const view = editors.get(el);
    if (!view) return false;
    const doc = view.state.doc;
    const marks = diagnostics.map((d) => {
      const line = doc.line(Math.min(Math.max(d.line, 1), doc.lines));
      const from = Math.min(line.from + Math.max(d.column - 1, 0), line.to);
      // Underline to the end of the word at the position (at least one character).
      const rest = doc.sliceString(from, line.to);
      const word = rest.match(/^[^\s:,\]}]+/);
      const to = Math.min(line.to, from + (word ? word[0].length : 1));
      return { from, to: Math.max(to, from), severity: d.severity === 'warning' ? 'warning' : 'error', message: d.message };
    });
    view.dispatch(setDiagnostics(view.state, marks));
    return true;
  },
  destroy(el) {
    editors.get(el)?.destroy();
    editors.delete(el);
  },
};
