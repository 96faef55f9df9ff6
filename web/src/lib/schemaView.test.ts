import { describe, expect, it } from 'vitest';
import { artifactView, type ViewEntry, type ViewNode } from './schemaView';

// A declared type's artifactSchema, as an admin (or pydantic) writes one.
const schema = {
  title: 'Ticket summary',
  type: 'object',
  $defs: {
    Finding: {
      title: 'Finding',
      type: 'object',
      properties: {
        claim: { type: 'string', title: 'Claim' },
        confidence: { type: 'number', title: 'Confidence', description: '0 to 1.' },
      },
    },
  },
  properties: {
    headline: { type: 'string', title: 'Headline', description: 'One line for the queue.' },
    body: { type: 'string', title: 'Summary text' },
    word_count: { type: 'integer' },
    escalate: { type: 'boolean', title: 'Escalate?' },
    findings: { type: 'array', title: 'Findings', items: { $ref: '#/$defs/Finding' } },
    tags: { type: 'array', items: { type: 'string' } },
    source: {
      title: 'Source',
      type: 'object',
      properties: { url: { type: 'string', title: 'Address' }, fetched_at: { type: 'string', format: 'date-time' } },
    },
    reviewer_note: { anyOf: [{ type: 'string' }, { type: 'null' }], title: 'Note for the reviewer' },
    missing: { type: 'string', title: 'Not in this artifact' },
  },
};

const content = {
  extra_field: 42,
  headline: 'Printer on floor 3 is down',
  body: 'Line one.\nLine two.',
  word_count: 1234,
  escalate: false,
  findings: [
    { claim: 'Toner empty', confidence: 0.875 },
    { claim: 'Driver outdated', confidence: 0.25, seen_by: 'ops' },
  ],
  tags: ['hardware', 'floor-3'],
  source: { url: 'https://tickets.test/42', fetched_at: '2026-01-31T09:30:00Z' },
  reviewer_note: null,
};

function entries(node: ViewNode): ViewEntry[] {
  if (node.kind !== 'object') throw new Error(`expected an object, got ${node.kind}`);
  return node.entries;
}

function entry(node: ViewNode, key: string): ViewEntry {
  const found = entries(node).find((e) => e.key === key);
  if (!found) throw new Error(`no entry ${key}`);
  return found;
}

describe('artifactView', () => {
  const view = artifactView(schema, content);

  it('puts required properties first, in the order `required` lists them (keys may come back sorted)', () => {
    const sorted = {
      type: 'object',
      required: ['title', 'body'],
      properties: { author: { type: 'string' }, body: { type: 'string' }, tags: { type: 'array' }, title: { type: 'string' } },
    };
    const v = artifactView(sorted, { author: 'a', body: 'b', tags: [], title: 't', zeta: 1 });
    expect(entries(v).map((e) => e.key)).toEqual(['title', 'body', 'author', 'tags', 'zeta']);
  });

  it("labels values with the schema's titles (else the key humanised), in the schema's order, extras last", () => {
    expect(entries(view).map((e) => [e.key, e.label, e.extra])).toEqual([
      ['headline', 'Headline', false],
      ['body', 'Summary text', false],
      ['word_count', 'Word count', false],
      ['escalate', 'Escalate?', false],
      ['findings', 'Findings', false],
      ['tags', 'Tags', false],
      ['source', 'Source', false],
      ['reviewer_note', 'Note for the reviewer', false],
      ['extra_field', 'Extra field', true],
    ]);
    expect(entry(view, 'headline').description).toBe('One line for the queue.');
  });

  it('keeps line breaks, formats numbers and booleans, marks what is not given', () => {
    expect(entry(view, 'body').node).toEqual({ kind: 'text', text: 'Line one.\nLine two.', multiline: true });
    expect(entry(view, 'word_count').node).toEqual({ kind: 'value', text: '1,234', raw: '1234' });
    expect(entry(view, 'escalate').node).toEqual({ kind: 'value', text: 'No', raw: 'false' });
    expect(entry(view, 'reviewer_note').node).toEqual({ kind: 'empty', text: 'Not given' });
    expect(entry(view, 'extra_field').node).toEqual({ kind: 'value', text: '42' });
  });

  it('lays out lists and nested objects, following $ref for item titles', () => {
    const findings = entry(view, 'findings').node;
    if (findings.kind !== 'list') throw new Error('findings is a list');
    expect(findings.items.map((i) => i.label)).toEqual(['Finding 1', 'Finding 2']);
    const second = findings.items[1]?.node;
    if (!second) throw new Error('two findings');
    expect(entries(second).map((e) => [e.label, e.extra])).toEqual([
      ['Claim', false],
      ['Confidence', false],
      ['Seen by', true],
    ]);
    expect(entry(second, 'confidence')).toMatchObject({ description: '0 to 1.', node: { kind: 'value', text: '0.25' } });

    const tags = entry(view, 'tags').node;
    expect(tags).toEqual({
      kind: 'list',
      items: [{ node: { kind: 'text', text: 'hardware', multiline: false } }, { node: { kind: 'text', text: 'floor-3', multiline: false } }],
    });
    const source = entry(view, 'source').node;
    expect(entry(source, 'url').label).toBe('Address');
    expect(entry(source, 'fetched_at').node).toMatchObject({ kind: 'value', dateTime: '2026-01-31T09:30:00Z' });
  });

  it('picks the union branch the value took, and copes with no schema at all', () => {
    const union = {
      type: 'object',
      properties: {
        result: {
          title: 'Result',
          oneOf: [
            { type: 'object', required: ['error'], properties: { error: { type: 'string', title: 'What went wrong' } } },
            { type: 'object', required: ['answer'], properties: { answer: { type: 'string', title: 'Answer' } } },
          ],
        },
      },
    };
    const v = artifactView(union, { result: { answer: 'yes' } });
    expect(entry(v, 'result').label).toBe('Result');
    expect(entry(entry(v, 'result').node, 'answer').label).toBe('Answer');

    expect(entries(artifactView(true, { a_b: 'x' })).map((e) => e.label)).toEqual(['A b']);
    expect(artifactView({}, 'just text')).toEqual({ kind: 'text', text: 'just text', multiline: false });
    expect(artifactView({}, [])).toEqual({ kind: 'empty', text: 'None' });
  });
});
