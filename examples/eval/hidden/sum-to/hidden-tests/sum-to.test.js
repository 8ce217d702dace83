// Hidden test of the eval suite (eval-hidden-marker-sum-to): never shown to the agent.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sumTo } from '../src/sum.js';

test('sumTo(n) adds 1 to n, n included', () => {
  assert.equal(sumTo(1), 1);
  assert.equal(sumTo(4), 10);
  assert.equal(sumTo(100), 5050);
  assert.equal(sumTo(0), 0);
});
