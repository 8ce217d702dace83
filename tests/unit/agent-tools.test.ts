import { describe, expect, it } from 'vitest';
import { parseCall } from '../../src/agent/run-tool-calls.js';
import { ALL_TOOLS } from '../../src/agent/tools/all-tools.js';
import { replaceOnce } from '../../src/agent/tools/edit-file.js';
import { numberLines } from '../../src/agent/tools/read-file.js';

describe('tool definitions', () => {
  it('are exactly the six tools, in strict mode with every property required', () => {
    expect(ALL_TOOLS.map((t) => t.name)).toEqual([
      'bash',
      'read_file',
      'write_file',
      'edit_file',
      'ask_user',
      'finish',
    ]);
    for (const { definition } of ALL_TOOLS) {
      const params = definition.function.parameters as {
        properties: object;
        required: string[];
        additionalProperties: boolean;
      };
      expect(definition.function.strict).toBe(true);
      expect(params.additionalProperties).toBe(false);
      expect([...params.required].sort()).toEqual(Object.keys(params.properties).sort());
      expect(definition.function.description?.length).toBeGreaterThan(20);
    }
  });
});

describe('parseCall', () => {
  it('accepts null for optional arguments, as strict mode sends them', () => {
    expect(
      parseCall({ id: '1', name: 'bash', arguments: '{"command":"ls","timeout_s":null}' }),
    ).toMatchObject({
      ok: true,
      detail: 'bash: ls',
    });
  });

  it.each([
    ['nope', '{}', /no tool named "nope"/],
    ['bash', '{"command":', /not valid JSON/],
    ['bash', '{"command":""}', /Invalid arguments for bash: command/],
    ['read_file', '{"path":"a","start_line":0}', /start_line/],
    ['finish', `{"title":"${'t'.repeat(121)}","summary":"s"}`, /title must be at most 120/],
    ['finish', '{"title":"  ","summary":"s"}', /title must not be empty/],
  ])('refuses %s %s with an error the model can act on', (name, args, error) => {
    const parsed = parseCall({ id: '1', name, arguments: args });

    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.error).toMatch(error);
  });
});

describe('replaceOnce', () => {
  it('replaces the single occurrence literally and reports its line', () => {
    expect(replaceOnce('a\nb\nc\n', 'b', '$& $1')).toEqual({ ok: true, text: 'a\n$& $1\nc\n', line: 2 });
  });

  it('says when the text is missing or occurs several times', () => {
    expect(replaceOnce('abc', 'x', 'y')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/not found/),
    });
    expect(replaceOnce('aXaXa', 'a', 'b')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/occurs 3 times/),
    });
    expect(replaceOnce('aaa', 'aa', 'b')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/occurs 2 times/),
    });
  });
});

describe('numberLines', () => {
  it('numbers the requested range', () => {
    expect(numberLines('one\ntwo\nthree\n', 'f', 2, 3)).toBe('     2\ttwo\n     3\tthree');
  });

  it('caps at 2,000 lines and says how to read on', () => {
    const text = Array.from({ length: 2_500 }, (_, i) => `line ${i + 1}`).join('\n');

    const out = numberLines(text, 'big.txt', 1);

    expect(out.split('\n')).toHaveLength(2_001);
    expect(out).toContain('  2000\tline 2000');
    expect(
      out.endsWith('[showing lines 1–2000 of 2500; call read_file with start_line 2001 to read on]'),
    ).toBe(true);
  });

  it('caps at about 100,000 characters', () => {
    const text = Array.from({ length: 100 }, () => 'x'.repeat(5_000)).join('\n');

    const out = numberLines(text, 'wide.txt', 1);

    expect(out.length).toBeLessThan(110_000);
    expect(out).toMatch(/call read_file with start_line \d+ to read on\]$/);
  });

  it('explains an empty file and a start past the end', () => {
    expect(numberLines('', 'e', 1)).toBe('e is empty.');
    expect(numberLines('a\nb', 'f', 5)).toBe('f has 2 lines; start_line 5 is past the end.');
  });
});
