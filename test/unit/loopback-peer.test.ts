import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loopbackPeerUid } from '../../client/services/loopback-peer';
import { tempSsRoot } from '../helpers/temporal';

// /proc/net/tcp as Linux writes it: both ends of a loopback connection to port
// 8888 (0x22B8) from port 40000 (0x9C40), plus a look-alike on another address.
const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
const row = (local: string, remote: string, uid: number) =>
  `   0: ${local} ${remote} 01 00000000:00000000 00:00000000 00000000  ${uid}        0 12345 1 0000000000000000 20 4 30 10 -1\n`;

function procNet(tcp: string, tcp6 = HEADER): string {
  const dir = tempSsRoot('ssw-procnet-');
  fs.writeFileSync(path.join(dir, 'tcp'), tcp);
  fs.writeFileSync(path.join(dir, 'tcp6'), tcp6);
  return dir;
}

test('the client end of a loopback connection names its owner', () => {
  const dir = procNet(HEADER + row('0100007F:22B8', '0100007F:9C40', 0) + row('0100007F:9C40', '0100007F:22B8', 1001));
  assert.equal(loopbackPeerUid(8888, 40000, dir), 1001);
});

test('a connection from a non-loopback address, or none at all, has no owner here', () => {
  const dir = procNet(HEADER + row('0A000001:9C40', '0100007F:22B8', 1001));
  assert.equal(loopbackPeerUid(8888, 40000, dir), undefined);
  assert.equal(loopbackPeerUid(8888, 40001, procNet(HEADER)), undefined);
});

test('IPv6 loopback and IPv4-mapped loopback are read from tcp6', () => {
  const v6 = HEADER + row('00000000000000000000000001000000:9C40', '00000000000000000000000001000000:22B8', 1002);
  assert.equal(loopbackPeerUid(8888, 40000, procNet(HEADER, v6)), 1002);
  const mapped = HEADER + row('0000000000000000FFFF00000100007F:9C40', '0000000000000000FFFF00000100007F:22B8', 1003);
  assert.equal(loopbackPeerUid(8888, 40000, procNet(HEADER, mapped)), 1003);
});
