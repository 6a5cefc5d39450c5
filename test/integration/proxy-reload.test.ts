import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createProxyActivities } from '../../activities/proxy';
import { FailureType } from '../../common/failure-types';
import { SsPaths } from '../../common/paths';
import type { WwwHost } from '../../common/hosts';
import { isFailure } from '../helpers/failures';
import { harness } from '../helpers/harness';
import { TestNginx } from '../helpers/nginx';
import { tempSsRoot } from '../helpers/temporal';
import { realClients } from '../../workers/clients';

// reloadProxy runs as root on a www host whose other users may be hostile: it
// must reload only root's distribution nginx, and never run what a process
// that merely calls itself nginx names. The host here is this machine, over
// the harness sshd, as root; the look-alikes run as the harness's
// unprivileged user.
const env = new MockActivityEnvironment();
const run = <A extends unknown[], R>(fn: (...a: A) => Promise<R>, ...args: A): Promise<R> => env.run(fn, ...args);

const root = tempSsRoot('ssw-proxy-');
fs.chmodSync(root, 0o755); // the unprivileged user's look-alikes read their files below
const paths = new SsPaths(path.join(root, 'ss'));
const dataPath = path.join(root, 'data');
const host: WwwHost = {
  ssh: { host: '127.0.0.1', port: harness().ssh.port, user: 'root', privateKeyPath: harness().ssh.privateKeyPath },
  dataPath,
};
const proxy = createProxyActivities(realClients(paths));
const nginx = new TestNginx(dataPath, ['proxy.test']);
const started: ChildProcess[] = [];
const user = harness().ssh.unprivilegedUser;

/** Starts a process as the unprivileged user, in its own process group (stopped by that PID at the end). */
function asUser(argv: string[]): ChildProcess {
  const child = spawn('runuser', ['-u', user, '--', ...argv], { stdio: 'ignore', detached: true });
  started.push(child);
  return child;
}

/** The PID of the process (of `user`) whose command line starts with `title`, once it runs. */
async function pidOfTitle(title: string): Promise<number> {
  for (let i = 0; i < 200; i++) {
    for (const d of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
      try {
        if (fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').startsWith(title)) return Number(d);
      } catch {
        /* gone */
      }
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no process titled ${title}`);
}

const alive = (pid: number) => fs.existsSync(`/proc/${pid}`);

before(() => {
  fs.mkdirSync(paths.root, { recursive: true });
  fs.writeFileSync(paths.knownHosts, `${harness().ssh.hostKeyLine}\n`);
  fs.mkdirSync(dataPath, { recursive: true });
  nginx.start();
});
after(async () => {
  await nginx.stop();
  for (const c of started) {
    try {
      process.kill(-c.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  fs.rmSync(root, { recursive: true, force: true });
});

describe('reloadProxy on a host with other users', () => {
  test("a process that only calls itself nginx is neither run nor signalled; root's nginx is reloaded", async () => {
    // The exploit of the old reload: a shell titled as an nginx master whose "-c" names a
    // script. Running "$exe -t <its args>" as root would run bash -c <script> as root.
    const evil = path.join(root, 'evil');
    fs.mkdirSync(evil, { mode: 0o755 });
    const marker = path.join(evil, 'ran-as-root');
    const script = path.join(evil, 'pwn.sh');
    fs.writeFileSync(script, `#!/bin/sh\nid -u > ${marker}\n`, { mode: 0o755 });
    const fakeTitle = `nginx: master process /usr/sbin/nginx -c ${script}`;
    asUser(['bash', '-c', `exec -a "${fakeTitle}" bash -c "sleep 600; :"`]);
    const fake = await pidOfTitle(fakeTitle);
    // The real nginx binary, started by that user with a config of its own.
    const userConf = path.join(evil, 'nginx.conf');
    fs.writeFileSync(
      userConf,
      `pid ${evil}/nginx.pid;\nerror_log ${evil}/error.log;\nevents {}\nhttp { access_log off; client_body_temp_path ${evil}; proxy_temp_path ${evil}; fastcgi_temp_path ${evil}; uwsgi_temp_path ${evil}; scgi_temp_path ${evil}; server { listen 127.0.0.1:15999; } }\n`,
    );
    fs.chownSync(
      evil,
      Number(
        fs
          .readFileSync('/etc/passwd', 'utf8')
          .split('\n')
          .find((l) => l.startsWith(`${user}:`))!
          .split(':')[2],
      ),
      -1,
    );
    asUser(['/usr/sbin/nginx', '-c', userConf, '-g', 'daemon off;']);
    const userMaster = await pidOfTitle(`nginx: master process /usr/sbin/nginx -c ${userConf}`);

    const reload = await run(proxy.reloadProxy, host);

    assert.equal(reload.how, 'process');
    assert.equal(reload.detail, `process ${nginx.pid()}`);
    assert.ok(!fs.existsSync(marker), 'the look-alike\'s "config" ran as root');
    assert.ok(alive(fake), 'the look-alike was signalled');
    assert.ok(alive(userMaster), "the user's own nginx was signalled");
    const ignored = (reload.ignored ?? []).join('\n');
    assert.match(
      ignored,
      new RegExp(`process ${fake}: .*not root's distribution nginx \\(uid \\d+, binary /usr/bin/bash\\)`),
    );
    assert.match(ignored, new RegExp(`process ${userMaster}: .*not root's distribution nginx`));
  });

  test('a config the bare master refuses is reported, and it keeps serving', async () => {
    const good = fs.readFileSync(nginx.confFile, 'utf8');
    fs.writeFileSync(nginx.confFile, good.replace('events {}', 'events {} this is not nginx;'));
    try {
      await assert.rejects(
        run(proxy.reloadProxy, host),
        isFailure(FailureType.CommandFailed, true, /rejects its configuration: it started no new workers/),
      );
    } finally {
      fs.writeFileSync(nginx.confFile, good);
    }
    assert.ok(nginx.pid() && alive(nginx.pid()!), 'nginx still runs');
    const again = await run(proxy.reloadProxy, host);
    assert.equal(again.detail, `process ${nginx.pid()}`);
  });
});
