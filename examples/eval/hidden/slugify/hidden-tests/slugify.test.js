// Hidden test of the eval suite (eval-hidden-marker-slugify): never shown to the agent.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { slugify } from '../src/slugify.js';

test('slugify joins every word with one dash', () => {
  assert.equal(slugify('Hello World'), 'hello-world');
  assert.equal(slugify('  Many   spaces here '), 'many-spaces-here');
  assert.equal(slugify('One Two Three'), 'one-two-three');
});
