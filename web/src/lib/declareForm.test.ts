import { describe, expect, it } from 'vitest';
import {
  checkDeclareField,
  declareFieldOf,
  declareFormValues,
  declareInput,
  EMPTY_DECLARE_FORM,
  parseSchema,
  type DeclareFormValues,
} from './declareForm';

const BUILT_IN = ['generate_draft', 'apply_feedback'];

const filled: DeclareFormValues = {
  ...EMPTY_DECLARE_FORM,
  name: 'summarize',
  description: '  Summarizes a ticket.  ',
  inputSchema: '{"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}',
  artifactSchema: '{"type": "object", "properties": {"headline": {"type": "string", "title": "Headline"}}}',
  approveType: 'publish_summary',
  approveInput: '{"channel": "ops"}',
  rejectType: 'summarize',
  rejectRequiresFeedback: true,
  timeoutSeconds: '120',
  maxAttempts: '5',
  retryBaseSeconds: '1.5',
};

describe('declareInput', () => {
  it('serializes the form as declareWorkflowType input: parsed schemas, next steps, limits; empty means default', () => {
    const { input, errors } = declareInput(filled, BUILT_IN);
    expect(errors).toEqual({});
    expect(input).toEqual({
      name: 'summarize',
      description: 'Summarizes a ticket.',
      inputSchema: { type: 'object', required: ['text'], properties: { text: { type: 'string' } } },
      outputSchema: null,
      artifactSchema: { type: 'object', properties: { headline: { type: 'string', title: 'Headline' } } },
      artifactKind: null,
      configSchema: null,
      requiresApproval: true,
      nextOnApprove: { workflowType: 'publish_summary', input: { channel: 'ops' } },
      nextOnReject: { workflowType: 'summarize', input: null, requiresFeedback: true },
      timeoutSeconds: 120,
      maxAttempts: 5,
      retryBaseSeconds: 1.5,
    });
    const defaults = declareInput({ ...filled, timeoutSeconds: '', maxAttempts: ' ', retryBaseSeconds: '', description: '' }, BUILT_IN);
    expect(defaults.input).toMatchObject({ timeoutSeconds: null, maxAttempts: null, retryBaseSeconds: null, description: null });
  });

  it('sends no next step for a type nobody decides on', () => {
    const { input, errors } = declareInput({ ...filled, requiresApproval: false, approveInput: '{oops' }, BUILT_IN);
    expect(errors).toEqual({});
    expect(input.nextOnApprove).toBeNull();
    expect(input.nextOnReject).toBeNull();
  });

  it('shows JSON parse errors and non-schemas at their field, before sending', () => {
    const { errors } = declareInput(
      {
        ...filled,
        inputSchema: '{"type": "object",\n  "properties": {,}}',
        artifactSchema: '[1, 2]',
        outputSchema: '"string"',
        configSchema: '{"$ref": "#/$defs/Config"}',
        approveInput: '[]',
      },
      BUILT_IN,
    );
    expect(errors.inputSchema).toMatch(/^Not valid JSON \(line 2, column \d+\)\.$/);
    expect(errors.artifactSchema).toBe('A JSON Schema is a JSON object (or true / false).');
    expect(errors.outputSchema).toBe('A JSON Schema is a JSON object (or true / false).');
    expect(errors.configSchema).toBe('$ref #/$defs/Config points nowhere in this schema (only references inside it resolve).');
    expect(errors.approveInput).toBe('A JSON object: its keys are merged into the next input.');
  });

  it('checks the name, the required input schema and the bounds', () => {
    const bad = declareInput(
      {
        ...filled,
        name: 'Summarize-It',
        inputSchema: '  ',
        timeoutSeconds: '86401',
        maxAttempts: '0',
        retryBaseSeconds: '-1',
        approveType: '',
      },
      BUILT_IN,
    ).errors;
    expect(bad).toEqual({
      name: 'Lower-case letters, digits and _, starting with a letter; at most 64 characters.',
      inputSchema: 'Required: the schema of the input a run starts with.',
      approveInput: 'Choose the type approving starts first.',
      timeoutSeconds: 'A whole number of seconds from 1 to 86400 (a day), or empty for the default.',
      maxAttempts: 'A whole number from 1 to 100, or empty for the default.',
      retryBaseSeconds: 'A number of seconds from 0.01 to 3600, or empty for the default.',
    });
    expect(declareInput({ ...filled, name: 'generate_draft' }, BUILT_IN).errors.name).toBe(
      'generate_draft is a built-in type: choose another name.',
    );
    expect(declareInput({ ...filled, name: 'x'.repeat(65) }, BUILT_IN).errors.name).toMatch(/at most 64/);
    expect(declareInput({ ...filled, name: '' }, BUILT_IN).errors.name).toBe('Required.');
    expect(declareInput({ ...filled, retryBaseSeconds: '0' }, BUILT_IN).errors.retryBaseSeconds).toMatch(/0\.01 to 3600/);
    expect(declareInput({ ...filled, artifactKind: 'k'.repeat(65) }, BUILT_IN).errors.artifactKind).toBe('At most 64 characters.');
  });

  it('checks one field as it is left, but waits for the submit to call an empty input schema missing', () => {
    expect(checkDeclareField('inputSchema', { ...filled, inputSchema: '{' }, BUILT_IN)).toMatch(/^Not valid JSON/);
    expect(checkDeclareField('inputSchema', { ...filled, inputSchema: '' }, BUILT_IN)).toBeUndefined();
    expect(checkDeclareField('artifactSchema', filled, BUILT_IN)).toBeUndefined();
  });

  it('accepts boolean schemas and local $refs that resolve', () => {
    expect(parseSchema('true')).toEqual({ value: true });
    expect(parseSchema('{"$defs": {"A": {"type": "string"}}, "properties": {"a": {"$ref": "#/$defs/A"}}}').error).toBeUndefined();
    expect(parseSchema('')).toEqual({});
    expect(parseSchema('{"$ref": "https://example.com/s.json"}').error).toMatch(/^\$ref https:\/\/example.com\/s.json points nowhere/);
  });
});

describe('declareFormValues', () => {
  it('turns a declared version into the form for the next one, and back into the same input', () => {
    const declared = {
      name: 'summarize',
      description: 'Summarizes a ticket.',
      requiresApproval: true,
      inputSchema: { type: 'object' },
      outputSchema: null,
      artifactSchema: { type: 'object', properties: { headline: { type: 'string' } } },
      configSchema: null,
      artifactKind: 'summarize',
      nextOnApprove: { workflowType: 'publish_summary', input: {}, requiresFeedback: true },
      nextOnReject: { workflowType: 'summarize', input: { retry: true }, requiresFeedback: false },
      timeoutSeconds: 300,
      maxAttempts: 3,
      retryBaseSeconds: 2,
    };
    const values = declareFormValues(declared);
    expect(values).toMatchObject({
      artifactKind: '',
      approveType: 'publish_summary',
      approveInput: '',
      rejectInput: '{\n  "retry": true\n}',
      rejectRequiresFeedback: false,
      timeoutSeconds: '300',
      outputSchema: '',
    });
    const { input, errors } = declareInput(values, BUILT_IN);
    expect(errors).toEqual({});
    expect(input).toMatchObject({
      inputSchema: declared.inputSchema,
      artifactSchema: declared.artifactSchema,
      nextOnApprove: { workflowType: 'publish_summary', input: null },
      nextOnReject: { workflowType: 'summarize', input: { retry: true }, requiresFeedback: false },
      timeoutSeconds: 300,
      maxAttempts: 3,
      retryBaseSeconds: 2,
    });
  });
});

describe('declareFieldOf', () => {
  it("maps the server's fields (camelCase or snake_case, or a spot inside a schema) to the form's", () => {
    expect(declareFieldOf('input.name')).toBe('name');
    expect(declareFieldOf('input.inputSchema')).toBe('inputSchema');
    expect(declareFieldOf('input.artifact_schema')).toBe('artifactSchema');
    expect(declareFieldOf('input.artifactSchema/properties/headline')).toBe('artifactSchema');
    expect(declareFieldOf('input.nextOnApprove.workflowType')).toBe('approveType');
    expect(declareFieldOf('input.next_on_reject.input')).toBe('rejectInput');
    expect(declareFieldOf('input.nextOnReject')).toBe('rejectType');
    expect(declareFieldOf('input.timeoutSeconds')).toBe('timeoutSeconds');
    expect(declareFieldOf('input.somethingElse')).toBeUndefined();
    expect(declareFieldOf('input')).toBeUndefined();
  });
});
