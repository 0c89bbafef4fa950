// Building DOM nodes without HTML strings: text always goes in as text (no markup injection
// from names, user agents or error messages), and no inline style ever (the CSP forbids it).

/** `el('p', {className: 'hint'}, 'text', child…)`; attributes starting with `aria-`/`data-` are set as attributes. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('aria-') || key.startsWith('data-') || key === 'role' || key === 'for') node.setAttribute(key, String(value));
    else node[key] = value;
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : String(child));
  }
}

/** A `<dl>` of [term, description] pairs (descriptions may be nodes). */
export function facts(pairs) {
  return el(
    'dl',
    { className: 'facts' },
    pairs.filter(Boolean).map(([term, description]) => [el('dt', {}, term), el('dd', {}, description)]),
  );
}

let uid = 0;
/** A page-unique id for aria references. */
export const nextId = (prefix) => `${prefix}-${++uid}`;
