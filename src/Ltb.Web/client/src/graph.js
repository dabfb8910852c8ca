// A topology's graph (cytoscape.js): nodes coloured by state (the table of Ltb.Web/Components/States.cs), links by
// state, labels with the interfaces. The page calls render once and update on every change of the lab; positions are
// kept across updates, and with a layout key (a lab's graph) where the user dragged the nodes is kept in the browser's
// storage and used when the page is opened again. The container's data-states attribute mirrors what is drawn (for
// tests and tools).
import cytoscape from 'cytoscape';
import { theme } from './theme.js';

const colours = {
  running: '#2e7d32', up: '#2e7d32',
  pending: '#1565c0', deploying: '#1565c0', created: '#1565c0', starting: '#1565c0',
  failed: '#c62828', missing: '#c62828',
  destroying: '#ef6c00', removing: '#ef6c00',
};
const grey = '#757575';
export const colourOf = (state) => colours[(state || '').toLowerCase()] || grey;

const graphs = new WeakMap();

function elements(model) {
  const nodes = model.nodes.map((n) => ({
    group: 'nodes',
    data: { id: n.name, label: `${n.name}\n${n.state}`, state: n.state, colour: colourOf(n.state) },
  }));
  const names = new Set(model.nodes.map((n) => n.name));
  const edges = [];
  for (const l of model.links) {
    const [a, ai] = l.a.split(':');
    const [b, bi] = (l.b || '').split(':');
    if (!names.has(a) || !names.has(b)) continue; // host-side ends (host:, mgmt-net:) are not drawn
    edges.push({
      group: 'edges',
      data: { id: l.key, source: a, target: b, label: `${ai || ''} – ${bi || ''}`, state: l.state, colour: l.state === 'down' ? '#c62828' : '#90a4ae' },
    });
  }
  return nodes.concat(edges);
}

function mirror(el, model) {
  el.dataset.states = JSON.stringify(Object.fromEntries(model.nodes.map((n) => [n.name, n.state])));
}

const layoutPrefix = 'ltb.layout.';
const maxStoredNodes = 500; // a lab's node limit is lower; the browser's storage is not the place for more

function storedLayout(key) {
  try {
    const saved = key ? JSON.parse(localStorage.getItem(layoutPrefix + key) || 'null') : null;
    return saved && typeof saved === 'object' ? saved : null;
  } catch {
    return null; // unreadable: laid out afresh
  }
}

function keepLayout(cy, key) {
  const positions = {};
  cy.nodes().slice(0, maxStoredNodes).forEach((n) => {
    const p = n.position();
    positions[n.id()] = { x: Math.round(p.x), y: Math.round(p.y) };
  });
  try {
    localStorage.setItem(layoutPrefix + key, JSON.stringify(positions));
  } catch {
    // storage full or refused: the layout is simply not kept
  }
}

function applyLayout(cy, saved) {
  let moved = false;
  cy.nodes().forEach((n) => {
    const p = saved[n.id()];
    if (p && Number.isFinite(p.x) && Number.isFinite(p.y)) {
      n.position({ x: p.x, y: p.y });
      moved = true;
    }
  });
  if (moved) cy.fit(undefined, 30);
}

export const graph = {
  render(el, model, dark, layoutKey) {
    const text = (dark ?? theme.isDark()) ? '#e0e0e0' : '#212121';
    const cy = cytoscape({
      container: el,
      elements: elements(model),
      wheelSensitivity: 0.3,
      style: [
        { selector: 'node', style: {
          'background-color': 'data(colour)', label: 'data(label)', 'text-wrap': 'wrap', 'text-valign': 'bottom',
          'text-margin-y': 6, color: text, 'font-size': 11, width: 36, height: 36, 'border-width': 3, 'border-color': 'data(colour)',
        } },
        { selector: 'node:selected', style: { 'border-color': '#ffb300', 'border-width': 4 } },
        { selector: 'edge', style: {
          width: 2, 'line-color': 'data(colour)', label: 'data(label)', 'font-size': 9, color: text,
          'text-rotation': 'autorotate', 'curve-style': 'bezier',
        } },
        { selector: 'edge[state = "down"]', style: { 'line-style': 'dashed' } },
      ],
      layout: { name: model.nodes.length > 8 ? 'circle' : 'cose', animate: false, padding: 30 },
    });
    graphs.set(el, cy);
    if (layoutKey) {
      const saved = storedLayout(layoutKey);
      if (saved) applyLayout(cy, saved);
      cy.on('dragfree', 'node', () => keepLayout(cy, layoutKey));
    }
    mirror(el, model);
    return true;
  },
  update(el, model) {
    const cy = graphs.get(el);
    if (!cy) return false;
    const fresh = elements(model);
    const ids = new Set(fresh.map((e) => e.data.id));
    cy.batch(() => {
      cy.elements().filter((e) => !ids.has(e.id())).remove();
      for (const e of fresh) {
        const existing = cy.getElementById(e.data.id);
        if (existing.nonempty()) existing.data(e.data);
        else cy.add(e);
      }
    });
    mirror(el, model);
    return true;
  },
  // The colour the graph draws a node with (tests assert that the state shows).
  colour(el, node) {
    const cy = graphs.get(el);
    return cy ? cy.getElementById(node).style('background-color') : null;
  },
  // Where a node is drawn, in the page's coordinates (for tests that drag it) and in the graph's own (what is kept).
  where(el, node) {
    const cy = graphs.get(el);
    const n = cy?.getElementById(node);
    if (!n || n.empty()) return null;
    const box = el.getBoundingClientRect();
    const r = n.renderedPosition();
    const p = n.position();
    return { pageX: box.left + r.x, pageY: box.top + r.y, x: Math.round(p.x), y: Math.round(p.y) };
  },
  destroy(el) {
    graphs.get(el)?.destroy();
    graphs.delete(el);
  },
};
