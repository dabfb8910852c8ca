// The editor's colours from the page's MudBlazor palette (CSS variables), so that the YAML reads at 4.5:1 or better in
// the light and the dark theme alike (axe-core's color-contrast, WebPagesTests). CodeMirror's default highlight style
// is made for a white background: on the dark surface its purple and dark blue fell to 2:1.
import { EditorView } from '@codemirror/view';
import { HighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { tags as t } from '@lezer/highlight';

const palette = (name) => `var(--mud-palette-${name})`;

const highlight = HighlightStyle.define([
  { tag: [t.propertyName, t.definition(t.propertyName)], color: palette('primary') },
  { tag: [t.string, t.special(t.string), t.content], color: palette('success') },
  { tag: [t.number, t.bool, t.null, t.atom, t.keyword], color: palette('warning') },
  { tag: [t.typeName, t.labelName, t.meta], color: palette('info') },
  // The secondary text colour is only just 4.5:1 on white: comments keep the main colour and are told by italics.
  { tag: t.comment, color: palette('text-primary'), fontStyle: 'italic' },
  { tag: t.invalid, color: palette('error') },
]);

const surface = EditorView.theme({
  '&': { color: palette('text-primary'), backgroundColor: palette('surface') },
  '.cm-content': { caretColor: palette('text-primary') },
  '.cm-cursor, .cm-dropCursor': { borderLeftColor: palette('text-primary') },
  '.cm-gutters': { backgroundColor: palette('background-gray'), color: palette('text-primary'), borderRight: `1px solid ${palette('lines-default')}` },
  // The current line is marked in the gutter only: a tinted line under the text would cost contrast.
  '.cm-activeLine': { backgroundColor: 'transparent' },
  '.cm-activeLineGutter': { backgroundColor: palette('action-default-hover') },
  '&.cm-focused .cm-selectionBackground, .cm-selectionBackground, .cm-content ::selection': { backgroundColor: palette('lines-default') },
});

export const editorTheme = [surface, syntaxHighlighting(highlight)];
