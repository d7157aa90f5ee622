// Parses each query read from standard input (each ended by a NUL) with Grafana's TraceQL editor
// grammar and prints one line per query: `accept`, or `reject <offset>` with the offset (in
// UTF-16 code units) of the first error node. lezer never throws on bad input: it recovers and
// marks what it could not parse with error nodes (`⚠`), so a query is accepted exactly when
// its tree has none.
import { readFileSync } from 'node:fs';
import { parser } from '@grafana/lezer-traceql';

const input = readFileSync(0, 'utf8');
const queries = input.split('\0').slice(0, -1);
const lines = [];
for (const query of queries) {
  let errorAt = -1;
  parser.parse(query).iterate({
    enter(node) {
      if (errorAt >= 0) return false;
      if (node.type.isError) {
        errorAt = node.from;
        return false;
      }
      return true;
    },
  });
  lines.push(errorAt < 0 ? 'accept' : `reject ${errorAt}`);
}
process.stdout.write(lines.map((l) => l + '\n').join(''));
