import { describe, expect, it } from 'vitest';
import { buildInput, fieldsFromSchema, formFieldOf, initialValues } from './schemaForm';

// generate_draft's schema as the server publishes it.
const generateDraft = {
  additionalProperties: false,
  properties: {
    candidates: { description: 'Candidate drafts', maximum: 8, minimum: 1, type: 'integer' },
    max_tokens: { maximum: 8192, minimum: 16, type: 'integer' },
    prompt: { description: 'What the scene must do.', maxLength: 20000, minLength: 1, type: 'string' },
    scene: { maxLength: 200, type: 'string' },
    story_id: { maxLength: 200, type: 'string' },
  },
  required: ['prompt'],
  type: 'object',
};

describe('fieldsFromSchema', () => {
  it('puts required fields first and reads kinds and limits', () => {
    const fields = fieldsFromSchema(generateDraft);
    expect(fields.map((f) => f.name)).toEqual(['prompt', 'candidates', 'max_tokens', 'scene', 'story_id']);
    const [prompt, candidates] = fields;
    expect(prompt).toMatchObject({ kind: 'text', required: true, minLength: 1, maxLength: 20000, label: 'Prompt' });
    expect(candidates).toMatchObject({ kind: 'integer', required: false, minimum: 1, maximum: 8 });
    expect(fields.find((f) => f.name === 'story_id')).toMatchObject({ kind: 'string', label: 'Story id' });
  });

  it('reads nullable strings, enums, booleans, numbers and falls back to JSON', () => {
    const fields = fieldsFromSchema({
      type: 'object',
      required: ['decision'],
      properties: {
        feedback: { type: ['string', 'null'] },
        decision: { enum: ['approved', 'rejected'] },
        dry_run: { type: 'boolean', default: true },
        temperature: { type: 'number', exclusiveMinimum: 0, maximum: 2 },
        factors: { type: 'array', items: { type: 'string' } },
        either: { type: ['string', 'integer'] },
      },
    });
    const kinds = Object.fromEntries(fields.map((f) => [f.name, f.kind]));
    expect(kinds).toEqual({
      decision: 'enum',
      feedback: 'string',
      dry_run: 'boolean',
      temperature: 'number',
      factors: 'json',
      either: 'json',
    });
    expect(initialValues(fields)).toMatchObject({ dry_run: true, decision: '', factors: '' });
  });

  it('survives schemas that are not objects', () => {
    expect(fieldsFromSchema(null)).toEqual([]);
    expect(fieldsFromSchema('nope')).toEqual([]);
    expect(fieldsFromSchema({ properties: { x: 42 } })).toEqual([
      { name: 'x', label: 'X', kind: 'json', required: false },
    ]);
  });
});

describe('buildInput', () => {
  const fields = fieldsFromSchema(generateDraft);

  it('leaves out empty optional fields and converts numbers', () => {
    const values = { ...initialValues(fields), prompt: 'Mara finds a letter.', candidates: '3' };
    expect(buildInput(fields, values)).toEqual({
      input: { prompt: 'Mara finds a letter.', candidates: 3 },
      errors: {},
    });
  });

  it('reports required, range, whole-number and length errors per field', () => {
    const values = { ...initialValues(fields), candidates: '9', max_tokens: '20.5', scene: 'x'.repeat(201) };
    expect(buildInput(fields, values).errors).toEqual({
      prompt: 'Required.',
      candidates: 'Must be at most 8.',
      max_tokens: 'Must be a whole number.',
      scene: 'Must be at most 200 characters long (now 201).',
    });
  });

  it('maps enum choices back to their values and parses JSON fields', () => {
    const f = fieldsFromSchema({
      type: 'object',
      properties: { level: { enum: [1, 2, 3] }, extra: { type: 'object' }, on: { type: 'boolean' } },
    });
    expect(buildInput(f, { level: '2', extra: '{"a": [1]}', on: false })).toEqual({
      input: { level: 3, extra: { a: [1] } },
      errors: {},
    });
    expect(buildInput(f, { level: '', extra: '{oops', on: true }).errors).toEqual({ extra: 'Must be valid JSON.' });
    expect(buildInput(f, { level: '', extra: '', on: true }).input).toEqual({ on: true });
  });

  it('checks exclusive bounds', () => {
    const f = fieldsFromSchema({ type: 'object', properties: { t: { type: 'number', exclusiveMinimum: 0 } } });
    expect(buildInput(f, { t: '0' }).errors).toEqual({ t: 'Must be more than 0.' });
    expect(buildInput(f, { t: '0.5' }).input).toEqual({ t: 0.5 });
  });
});

describe('formFieldOf', () => {
  const fields = fieldsFromSchema(generateDraft);
  it('maps server field paths to form fields', () => {
    expect(formFieldOf('input.prompt', fields)).toBe('prompt');
    expect(formFieldOf('input.candidates', fields)).toBe('candidates');
    expect(formFieldOf('input.nope', fields)).toBeUndefined();
    expect(formFieldOf('type', fields)).toBeUndefined();
    expect(formFieldOf('input', fields)).toBeUndefined();
  });
});

// A declared type's schema as pydantic (the Python client) writes one:
// `$defs` and `$ref`, `anyOf` with null for optional fields, titles everywhere.
const declared = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'SummarizeInput',
  type: 'object',
  $defs: {
    Tone: { title: 'Tone', enum: ['plain', 'warm', 'formal'], type: 'string' },
    Source: {
      title: 'Source',
      type: 'object',
      required: ['url'],
      properties: { url: { type: 'string', format: 'uri' }, pages: { type: 'integer', minimum: 1 } },
      additionalProperties: false,
    },
  },
  required: ['text', 'ticket'],
  properties: {
    text: { title: 'Text to summarize', type: 'string', minLength: 1 },
    ticket: { title: 'Ticket', type: 'string', pattern: '^[A-Z]{2,5}-\\d+$' },
    tone: { $ref: '#/$defs/Tone', description: 'How it should sound.' },
    words: { anyOf: [{ type: 'integer', multipleOf: 10, maximum: 300 }, { type: 'null' }], title: 'Words', default: null },
    due: { type: 'string', format: 'date' },
    source: { allOf: [{ $ref: '#/$defs/Source' }], title: 'Where it comes from' },
    audience: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
    tags: { type: 'array', items: { type: 'string', maxLength: 10 }, maxItems: 3 },
    kind: { const: 'summary' },
  },
};

describe('declared schemas (JSON Schema 2020-12)', () => {
  const fields = fieldsFromSchema(declared);
  const byName = Object.fromEntries(fields.map((f) => [f.name, f]));

  it('follows $ref into $defs, unwraps allOf [X] and anyOf [X, null], keeps the outer title and description', () => {
    expect(byName.tone).toMatchObject({ kind: 'enum', label: 'Tone', options: ['plain', 'warm', 'formal'], description: 'How it should sound.' });
    expect(byName.words).toMatchObject({ kind: 'integer', label: 'Words', multipleOf: 10, maximum: 300 });
    expect(byName.source).toMatchObject({ kind: 'json', label: 'Where it comes from', shape: 'a JSON object with url, pages' });
    expect(byName.due?.kind).toBe('date');
    expect(byName.kind).toMatchObject({ kind: 'enum', options: ['summary'] });
  });

  it('falls back to a JSON field for oneOf, arrays and objects', () => {
    expect(byName.audience?.kind).toBe('json');
    expect(byName.tags).toMatchObject({ kind: 'json', shape: 'a JSON list' });
  });

  it('never builds an input that breaks a keyword it knows', () => {
    const values = {
      ...initialValues(fields),
      text: 'Long text.',
      ticket: 'ops-12',
      words: '15',
      due: '2026-02-30x',
      source: '{"pages": 0}',
      tags: '["a", "b", "c", "d"]',
    };
    expect(buildInput(fields, values).errors).toEqual({
      ticket: 'Must match the pattern ^[A-Z]{2,5}-\\d+$.',
      words: 'Must be a multiple of 10.',
      due: 'Must be a date like 2026-01-31.',
      source: 'Must have “url”.',
      tags: 'Must list at most 3 items.',
    });
    expect(
      buildInput(fields, { ...values, source: '{"url": "https://x.test/a", "pages": 0}', tags: '["ok", "much too long"]' }).errors,
    ).toMatchObject({ source: 'pages: Must be at least 1.', tags: '[1]: Must be at most 10 characters long (now 13).' });
    expect(buildInput(fields, { ...values, source: '{"url": "https://x.test", "extra": 1}' }).errors.source).toBe(
      '“extra” is not allowed here.',
    );
  });

  it('builds the input when every known keyword holds; the required const is chosen already', () => {
    const values = {
      ...initialValues(fields),
      text: 'Long text.',
      ticket: 'OPS-12',
      tone: '1',
      words: '120',
      due: '2026-01-31',
      source: '{"url": "https://x.test/a"}',
      audience: '["ops", "sales"]',
    };
    expect(initialValues(fields).kind).toBe('');
    expect(buildInput(fields, values)).toEqual({
      input: {
        text: 'Long text.',
        ticket: 'OPS-12',
        tone: 'warm',
        words: 120,
        due: '2026-01-31',
        source: { url: 'https://x.test/a' },
        audience: ['ops', 'sales'],
      },
      errors: {},
    });
    const requiredConst = fieldsFromSchema({ type: 'object', required: ['kind'], properties: { kind: { const: 'summary' } } });
    expect(buildInput(requiredConst, initialValues(requiredConst)).input).toEqual({ kind: 'summary' });
  });

  it('treats a $ref it cannot follow (remote, missing, cyclic) as a JSON field', () => {
    const f = fieldsFromSchema({
      type: 'object',
      $defs: { loop: { $ref: '#/$defs/loop' } },
      properties: {
        remote: { $ref: 'https://example.com/schema.json' },
        missing: { $ref: '#/$defs/nope' },
        loop: { $ref: '#/$defs/loop' },
      },
    });
    expect(f.map((x) => x.kind)).toEqual(['json', 'json', 'json']);
    expect(buildInput(f, { remote: '{"a": 1}', missing: '2', loop: '"x"' })).toEqual({
      input: { remote: { a: 1 }, missing: 2, loop: 'x' },
      errors: {},
    });
  });

  it('merges allOf parts into one form and reads a root $ref', () => {
    const f = fieldsFromSchema({
      $ref: '#/$defs/In',
      $defs: {
        In: {
          allOf: [
            { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] },
            { properties: { b: { type: 'boolean' } } },
          ],
        },
      },
    });
    expect(f.map((x) => [x.name, x.kind, x.required])).toEqual([
      ['a', 'string', true],
      ['b', 'boolean', false],
    ]);
  });

  it('gives a root it cannot split into fields one JSON field for the whole input', () => {
    const union = {
      oneOf: [
        { type: 'object', required: ['url'], properties: { url: { type: 'string' } } },
        { type: 'object', required: ['text'], properties: { text: { type: 'string' } } },
      ],
    };
    const f = fieldsFromSchema(union);
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ name: 'input', kind: 'json', root: true, label: 'Input' });
    expect(buildInput(f, { input: '{"text": "hi"}' })).toEqual({ input: { text: 'hi' }, errors: {} });
    expect(buildInput(f, { input: '[1]' }).errors).toEqual({ input: 'Must be a JSON object.' });
    expect(formFieldOf('input.text', f)).toBe('input');
    expect(formFieldOf('input', f)).toBe('input');
    expect(fieldsFromSchema({ type: 'object' })).toEqual([]);
    expect(fieldsFromSchema({ type: 'object', additionalProperties: { type: 'string' } })[0]?.root).toBe(true);
  });
});
