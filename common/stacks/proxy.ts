import type { DeploymentConfig, SiteConfig } from '../config';
import { DEFAULT_DATA_PATH } from '../hosts';
import { appNames, isRootLanguage } from './apps';
import { LABEL_ROLE, type StackSpec } from './spec';

/**
 * The reverse proxy on the www instance (ss's stub/nginx_yml.sh and
 * nginx_config.sh): nginx terminating TLS for every site, joined to each
 * app's network, routing by host name and path. Differences from ss, on
 * purpose:
 *  - port 80 serves ACME http-01 challenges from the shared webroot for
 *    every name, then redirects to HTTPS (ss had no challenge location and
 *    stopped the proxy to renew);
 *  - upstreams are resolved per request through Docker's DNS, so the proxy
 *    starts before the apps and follows a replaced app container;
 *  - an unknown name gets its TLS handshake refused instead of a
 *    certificate for another site;
 *  - BTCPay names go to the btcpayserver instance's address (ss hard-coded
 *    10.10.10.66), with the websocket headers BTCPay needs.
 * Pure: golden-file tested.
 */

export const PROXY_CONTAINER = 'reverse-proxy';
export const PROXY_NETWORK = 'reverse-proxy-net';
export const NGINX_CONF_PATH = `${DEFAULT_DATA_PATH}/reverse-proxy/nginx.conf`;
const LETSENCRYPT = `${DEFAULT_DATA_PATH}/letsencrypt`;
/**
 * The BTCPay gate on the www instance: until the chain-sync wait opens it (the file `open`), BTCPay's names answer
 * 503 with the page `syncing.html` ("Syncing, block N of M"), so no store takes a payment on an unsynced node.
 */
export const BTCPAY_GATE_DIR = `${DEFAULT_DATA_PATH}/reverse-proxy/btcpay-gate`;
export const BTCPAY_GATE_OPEN = 'open';
export const BTCPAY_SYNCING_PAGE = 'syncing.html';
const GATE_MOUNT = '/var/www/btcpay-gate';

export interface ProxyOptions {
  /** host:port of BTCPay Server on the btcpayserver instance; absent when it is not deployed. */
  btcpayUpstream?: string;
  /** Published ports on the instance. @default 80 and 443 */
  httpPort?: number;
  httpsPort?: number;
}

const HEADERS = [
  'proxy_set_header Host $host;',
  'proxy_set_header X-Real-IP $remote_addr;',
  'proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
  'proxy_set_header X-Forwarded-Proto $scheme;',
];

function block(head: string, lines: string[], indent: string): string[] {
  return [`${indent}${head} {`, ...lines.map((l) => (l === '' ? '' : `${indent}  ${l}`)), `${indent}}`];
}

/** `proxy_pass` through a variable: resolved per request by Docker's DNS, not once at start. */
function upstream(name: string, port: number): string[] {
  return [`set $upstream http://${name}:${port};`, 'proxy_pass $upstream;'];
}

function tls(domain: string): string[] {
  const dir = `/etc/letsencrypt/${domain}/live/${domain}`;
  // `listen ... http2` rather than `http2 on`: the latter needs nginx >= 1.25 (Debian 12 has 1.22).
  return [
    'listen 443 ssl http2;',
    `ssl_certificate ${dir}/fullchain.pem;`,
    `ssl_certificate_key ${dir}/privkey.pem;`,
    `ssl_trusted_certificate ${dir}/fullchain.pem;`,
  ];
}

function siteServers(config: DeploymentConfig, site: SiteConfig, o: ProxyOptions): string[] {
  const h = config.project.hostnames;
  const d = site.domain;
  const n = appNames(d);
  const out: string[] = [];
  const server = (names: string[], lines: string[]) =>
    out.push('', ...block('server', [...tls(d), `server_name ${names.join(' ')};`, '', ...lines], '  '));
  const www = `${h.www}.${d}`;

  // Apex: NIP-05 for the relay's key, then everything to www (as ss).
  const apex: string[] = [];
  if (site.deploy.nostr && site.nostrAccountPubkey) {
    const relays = JSON.stringify({
      names: { _: site.nostrAccountPubkey },
      relays: { [site.nostrAccountPubkey]: [`wss://${h.nostr}.${d}`] },
    });
    apex.push(
      ...block(
        'location = /.well-known/nostr.json',
        ['default_type application/json;', "add_header Access-Control-Allow-Origin '*';", `return 200 '${relays}';`],
        '',
      ),
      '',
    );
  }
  apex.push(...block('location /', [`return 301 https://${www}$request_uri;`], ''));
  server([d], apex);

  // www: Ghost, one upstream per language; the first language at /, the others at /<code>/.
  const ghost: string[] = [
    'location = /robots.txt {',
    '  default_type text/plain;',
    '  return 200 "User-agent: *\\nAllow: /\\n";',
    '}',
  ];
  if (!site.deploy.ghost) ghost.push(...block('location /', ['return 404;'], ''));
  for (const lang of site.deploy.ghost ? site.languageCodes : []) {
    const path = isRootLanguage(site, lang) ? '/' : `/${lang}/`;
    if (path !== '/') ghost.push('', ...block(`location = /${lang}`, [`return 301 /${lang}/;`], ''));
    ghost.push('', ...block(`location ${path}`, [...HEADERS, ...upstream(n.ghost(lang).app, 2368)], ''));
  }
  server([www], ghost);

  const btcpayNames = [...new Set([h.btcpayInCert, ...site.btcpayAltNames])].map((l) => `${l}.${d}`);
  server(
    btcpayNames,
    o.btcpayUpstream
      ? [
          // Closed until the node is synced: the syncing page, 503, and a hint when to ask again.
          `error_page 503 /.ssw-btcpay-syncing.html;`,
          ...block(
            'location = /.ssw-btcpay-syncing.html',
            ['internal;', `alias ${GATE_MOUNT}/${BTCPAY_SYNCING_PAGE};`, 'add_header Retry-After 30 always;'],
            '',
          ),
          '',
          ...block(
            'location /',
            [
              `if (!-f ${GATE_MOUNT}/${BTCPAY_GATE_OPEN}) {`,
              '  return 503;',
              '}',
              ...HEADERS,
              'proxy_set_header Upgrade $http_upgrade;',
              'proxy_set_header Connection $connection_upgrade;',
              'proxy_http_version 1.1;',
              `proxy_pass http://${o.btcpayUpstream};`,
            ],
            '',
          ),
        ]
      : block('location /', ['return 503;'], ''),
  );

  if (site.deploy.nextcloud) {
    server(
      [`${h.nextcloud}.${d}`],
      [
        ...block(
          'location /',
          [
            'proxy_headers_hash_max_size 512;',
            'proxy_headers_hash_bucket_size 64;',
            ...HEADERS,
            'proxy_set_header X-NginX-Proxy true;',
            ...upstream(n.nextcloud.app, 80),
          ],
          '',
        ),
        '',
        ...block('location /.well-known/carddav', ['return 301 $scheme://$host/remote.php/dav;'], ''),
        '',
        ...block('location /.well-known/caldav', ['return 301 $scheme://$host/remote.php/dav;'], ''),
      ],
    );
  }
  if (site.deploy.gitea)
    server([`${h.gitea}.${d}`], block('location /', [...HEADERS, ...upstream(n.gitea.app, 3000)], ''));
  if (site.deploy.nostr) {
    server(
      [`${h.nostr}.${d}`],
      [
        'keepalive_timeout 70;',
        ...block(
          'location /',
          [
            ...HEADERS,
            'proxy_http_version 1.1;',
            'proxy_set_header Upgrade $http_upgrade;',
            'proxy_set_header Connection $connection_upgrade;',
            'proxy_read_timeout 1h;',
            ...upstream(n.nostr.app, 8080),
          ],
          '',
        ),
      ],
    );
  }
  return out;
}

export function renderNginxConf(config: DeploymentConfig, o: ProxyOptions = {}): string {
  const lines = [
    '# Written by ssw (Sovereign Stack Workflows) from the deployment config; edits are replaced.',
    'worker_processes auto;',
    '',
    'events {',
    '  worker_connections 1024;',
    '}',
    '',
    'http {',
    '  include mime.types;',
    '  sendfile on;',
    '  server_tokens off;',
    '  client_max_body_size 100m;',
    '  server_names_hash_bucket_size 128;',
    '  proxy_buffer_size 128k;',
    '  proxy_buffers 4 256k;',
    '  proxy_busy_buffers_size 256k;',
    '  client_header_buffer_size 500k;',
    '  large_client_header_buffers 4 500k;',
    "  # Docker's DNS: app containers are found by name at request time.",
    '  resolver 127.0.0.11 valid=10s ipv6=off;',
    '',
    '  map $http_upgrade $connection_upgrade {',
    '    default upgrade;',
    "    ''      close;",
    '  }',
    '',
    '  ssl_protocols TLSv1.2 TLSv1.3;',
    '  ssl_prefer_server_ciphers on;',
    '  ssl_session_timeout 1d;',
    '  ssl_session_cache shared:MozSSL:10m;',
    '  ssl_session_tickets off;',
    '  add_header Strict-Transport-Security "max-age=63072000" always;',
    '',
    '  # Port 80: ACME challenges for every name (certbot --webroot), everything else to HTTPS.',
    '  server {',
    '    listen 80 default_server;',
    '    location /.well-known/acme-challenge/ {',
    '      root /var/www/acme;',
    '    }',
    '    location / {',
    '      return 301 https://$host$request_uri;',
    '    }',
    '  }',
    '',
    "  # A name no site serves: refuse the handshake rather than show another site's certificate.",
    '  server {',
    '    listen 443 ssl default_server;',
    '    ssl_reject_handshake on;',
    '  }',
    ...config.sites.flatMap((s) => siteServers(config, s, o)),
    '}',
    '',
  ];
  return lines.join('\n');
}

/** The proxy's stack: one nginx container on every app network of every site, ports published on the instance. */
export function proxyStack(config: DeploymentConfig, apps: StackSpec[], o: ProxyOptions = {}): StackSpec {
  // Its own network first: the one Docker starts it on (HostConfig.NetworkMode), which never goes
  // away when a site or language does; then every app's front network, joined and left as they come and go.
  const networks = [PROXY_NETWORK, ...apps.flatMap((s) => s.networks.filter((net) => !net.includes('dbnet')))];
  return {
    name: 'reverse-proxy',
    app: 'reverse-proxy',
    networks,
    directories: [`${DEFAULT_DATA_PATH}/reverse-proxy`, BTCPAY_GATE_DIR, `${LETSENCRYPT}/_webroot`],
    containers: [
      {
        name: PROXY_CONTAINER,
        image: config.project.images.nginx,
        env: {},
        volumes: [
          { host: NGINX_CONF_PATH, container: '/etc/nginx/nginx.conf', readOnly: true },
          { host: LETSENCRYPT, container: '/etc/letsencrypt', readOnly: true },
          { host: `${LETSENCRYPT}/_webroot`, container: '/var/www/acme', readOnly: true },
          { host: BTCPAY_GATE_DIR, container: GATE_MOUNT, readOnly: true },
        ],
        files: [{ path: NGINX_CONF_PATH, content: renderNginxConf(config, o) }],
        networks: networks.map((name) => ({ name, aliases: name === PROXY_NETWORK ? [PROXY_CONTAINER] : [] })),
        ports: [
          { hostIp: '0.0.0.0', host: o.httpPort ?? 80, container: 80 },
          { hostIp: '0.0.0.0', host: o.httpsPort ?? 443, container: 443 },
        ],
        healthcheck: {
          test: ['CMD-SHELL', 'nginx -t -q || exit 1'],
          intervalS: 30,
          timeoutS: 5,
          retries: 3,
          startPeriodS: 5,
        },
        // The label `ssw cert renew` finds the proxy by, to reload it after a renewal.
        labels: { [LABEL_ROLE]: 'reverse-proxy' },
        // Two proxies cannot hold the same ports: replaced in place (a config change alone is a reload).
        startBeforeStop: false,
        // A new nginx.conf is tested, then loaded gracefully: no connection dropped, no site down.
        reload: { test: ['nginx', '-t', '-q'], signal: 'SIGHUP' },
      },
    ],
  };
}
