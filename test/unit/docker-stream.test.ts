import { test } from 'node:test';
import assert from 'node:assert/strict';
import { demuxDockerStream } from '../../activities/docker/stacks';

// Docker's exec output as the daemon sends it: one frame per write, each an
// 8-byte header (1 stdout / 2 stderr, three zero bytes, big-endian size).
const frame = (stream: 1 | 2, text: string): Buffer => {
  const payload = Buffer.from(text, 'utf8');
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
};

test("exec output is the frames' payloads, whatever the sizes' bytes look like", () => {
  // 16 bytes (0x10) and 65 bytes (0x41, "A"): size bytes an old "strip control bytes" kept.
  const a = 'nginx: [emerg] x\n';
  const b = `${'y'.repeat(64)}\n`;
  assert.equal(a.length, 17);
  const out = demuxDockerStream(Buffer.concat([frame(2, a.slice(0, 16)), frame(2, a.slice(16)), frame(1, b)])).toString(
    'utf8',
  );
  assert.equal(out, a + b);
});

test('bytes of the output itself are kept, even control characters', () => {
  assert.equal(demuxDockerStream(frame(1, 'bell\x07tab\tend')).toString('utf8'), 'bell\x07tab\tend');
});
