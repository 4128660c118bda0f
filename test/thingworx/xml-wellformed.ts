/**
 * A strict, small XML well-formedness parser for tests (no XML library is installed): one root element,
 * matching tags, quoted and unique attributes, only the five predefined entities or character references,
 * no '<' in attribute values, comments and the XML declaration. Returns the element tree.
 */

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
}

const NAME = /^[A-Za-z_][\w.\-:]*/;
const ENTITY = /^&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/;

export function parseXml(xml: string): XmlElement {
  let i = 0;
  const fail = (why: string): never => {
    const line = xml.slice(0, i).split('\n').length;
    throw new Error(`not well-formed XML at line ${line}: ${why}`);
  };
  const ws = () => {
    while (i < xml.length && /\s/.test(xml[i]!)) i++;
  };
  const text = (until: string) => {
    while (i < xml.length && xml[i] !== until) {
      if (xml[i] === '&') {
        if (!ENTITY.test(xml.slice(i))) fail('bad entity');
      }
      if (xml[i] === '<' && until !== '<') fail("'<' in a value");
      i++;
    }
  };
  const skipMisc = () => {
    for (;;) {
      ws();
      if (xml.startsWith('<!--', i)) {
        const end = xml.indexOf('-->', i + 4);
        if (end < 0) fail('unclosed comment');
        i = end + 3;
      } else if (xml.startsWith('<?', i)) {
        const end = xml.indexOf('?>', i + 2);
        if (end < 0) fail('unclosed processing instruction');
        i = end + 2;
      } else return;
    }
  };
  const element = (): XmlElement => {
    if (xml[i] !== '<') fail('expected <');
    i++;
    const m = NAME.exec(xml.slice(i));
    if (!m) fail('bad element name');
    const name = m![0];
    i += name.length;
    const attrs: Record<string, string> = {};
    for (;;) {
      const before = i;
      ws();
      if (xml.startsWith('/>', i)) {
        i += 2;
        return { name, attrs, children: [] };
      }
      if (xml[i] === '>') {
        i++;
        break;
      }
      if (i === before) fail('expected whitespace before an attribute');
      const a = NAME.exec(xml.slice(i));
      if (!a) fail('bad attribute name');
      const an = a![0];
      i += an.length;
      ws();
      if (xml[i] !== '=') fail(`attribute ${an} without =`);
      i++;
      ws();
      const q = xml[i];
      if (q !== '"' && q !== "'") fail(`attribute ${an} not quoted`);
      i++;
      const start = i;
      text(q!);
      if (i >= xml.length) fail('unclosed attribute value');
      if (an in attrs) fail(`duplicate attribute ${an}`);
      attrs[an] = xml.slice(start, i);
      i++;
    }
    const children: XmlElement[] = [];
    for (;;) {
      text('<');
      if (i >= xml.length) fail(`unclosed <${name}>`);
      if (xml.startsWith('</', i)) {
        i += 2;
        if (!xml.startsWith(name, i)) fail(`</${name}> expected`);
        i += name.length;
        ws();
        if (xml[i] !== '>') fail('bad end tag');
        i++;
        return { name, attrs, children };
      }
      if (xml.startsWith('<!--', i) || xml.startsWith('<?', i)) {
        skipMisc();
        continue;
      }
      children.push(element());
    }
  };
  if (xml.startsWith('<?xml', i)) {
    const end = xml.indexOf('?>');
    if (end < 0) fail('unclosed XML declaration');
    i = end + 2;
  }
  skipMisc();
  const root = element();
  skipMisc();
  if (i !== xml.length) fail('content after the root element');
  return root;
}

export function findAll(e: XmlElement, name: string): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (x: XmlElement) => {
    if (x.name === name) out.push(x);
    for (const c of x.children) walk(c);
  };
  walk(e);
  return out;
}
