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
