// Validates an AsyncAPI document with the official parser (@asyncapi/parser) and its default
// rules (spectral). Prints each diagnostic; exits 1 on any error or warning, 0 otherwise.
//   node tools/asyncapi/validate.mjs schemas/asyncapi.yaml
import { Parser, fromFile } from '@asyncapi/parser';

const SEVERITIES = ['error', 'warning', 'info', 'hint'];
const path = process.argv[2];
if (!path) {
  console.error('usage: node validate.mjs ASYNCAPI_FILE');
  process.exit(2);
}
const { document, diagnostics } = await fromFile(new Parser(), path).parse();
for (const d of diagnostics) {
  console.log(`${SEVERITIES[d.severity]} ${d.code} ${d.path.join('.')}: ${d.message}`);
}
const count = (severity) => diagnostics.filter((d) => d.severity === severity).length;
console.log(`errors=${count(0)} warnings=${count(1)} document=${document ? 'parsed' : 'none'}`);
process.exit(count(0) || count(1) || !document ? 1 : 0);
