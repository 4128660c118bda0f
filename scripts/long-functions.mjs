// Lists the functions of src/ longer than N lines (default 80), longest first: node scripts/long-functions.mjs [dir] [N].
// Counts from the function's first line to its closing brace (signature, comments inside and blank lines included).
import ts from 'typescript';
import fs from 'node:fs';
import path from 'node:path';
const root = process.argv[2] || 'src';
const limit = Number(process.argv[3] || 80);
const out = [];
function walk(d) {
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) walk(p);
    else if (p.endsWith('.ts')) scan(p);
  }
}
function scan(f) {
  const sf = ts.createSourceFile(f, fs.readFileSync(f, 'utf8'), ts.ScriptTarget.Latest, true);
  const visit = (n) => {
    if (
      ts.isFunctionDeclaration(n) ||
      ts.isMethodDeclaration(n) ||
      ts.isArrowFunction(n) ||
      ts.isFunctionExpression(n)
    ) {
      if (n.body) {
        const a = sf.getLineAndCharacterOfPosition(n.getStart()).line,
          b = sf.getLineAndCharacterOfPosition(n.end).line;
        const len = b - a + 1;
        if (len > limit) {
          let name =
            n.name?.getText?.() ??
            (ts.isVariableDeclaration(n.parent)
              ? n.parent.name.getText()
              : ts.isPropertyAssignment(n.parent)
                ? n.parent.name.getText()
                : '<anon>');
          out.push([len, f + ':' + (a + 1), name]);
        }
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
}
walk(root);
out.sort((x, y) => y[0] - x[0]);
for (const r of out) console.log(r.join('\t'));
