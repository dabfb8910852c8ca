// The lab's topology graph (cytoscape.js): nodes coloured by state (the table of Ltb.Web/Components/States.cs), links
// by state, labels with the interfaces. The page calls render once and update on every change of the lab; positions
// are kept across updates. The container's data-states attribute mirrors what is drawn (for tests and tools).
import cytoscape from 'cytoscape';

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

export const graph = {
  render(el, model, dark) {
    const text = dark ? '#e0e0e0' : '#212121';
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
  destroy(el) {
    graphs.get(el)?.destroy();
    graphs.delete(el);
  },
};
