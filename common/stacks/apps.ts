import type { DeploymentConfig, SiteConfig } from '../config';
import { DEFAULT_DATA_PATH } from '../hosts';
import { SECRET_FILE_OWNER, withSecretFiles } from './secrets';
import { domainIdentifier, LABEL_ROLE, type ContainerSpec, type HealthCheck, type StackSpec } from './spec';

/**
 * One stack per site and app, as ss's stub/ghost_yml.sh, nextcloud_yml.sh,
 * gitea_yml.sh and nostr_yml.sh define them: the same images (overridable
 * in project.conf), container and network names built from ss's
 * DOMAIN_IDENTIFIER, and data under ss's paths on the ss-data volume, so an
 * instance deployed by ss keeps its data. Differences, on purpose:
 * containers rather than swarm services; health checks; Gitea's database
 * password under the key Gitea reads (ss wrote GITEA__PASSWD, which Gitea
 * ignores); the relay's database directory mounted (ss made it but mounted
 * none); database passwords in files (`*_FILE`) rather than the
 * environment, except Ghost's, whose image reads no file. Pure.
 */

const app = (domain: string, name: string) => `${DEFAULT_DATA_PATH}/${name}/${domain}`;

function health(test: string[], startPeriodS = 60): HealthCheck {
  return { test, intervalS: 10, timeoutS: 5, retries: 6, startPeriodS };
}

/**
 * The language served at `/`; the others at `/<code>`. ss special-cased the literal "en"; ssw takes the first listed.
 */
export function isRootLanguage(site: Pick<SiteConfig, 'languageCodes'>, code: string): boolean {
  return site.languageCodes[0] === code;
}

export interface AppNames {
  id: string;
  ghost: (lang: string) => { app: string; db: string; net: string; dbNet: string; stack: string };
  nextcloud: { app: string; db: string; net: string; dbNet: string; stack: string };
  gitea: { app: string; db: string; net: string; dbNet: string; stack: string };
  nostr: { app: string; net: string; stack: string };
}

export function appNames(domain: string): AppNames {
  const id = domainIdentifier(domain);
  return {
    id,
    ghost: (lang) => ({
      app: `ghost-${id}-${lang}`,
      db: `ghostdb-${id}-${lang}`,
      net: `ghostnet-${id}-${lang}`,
      dbNet: `ghostdbnet-${id}-${lang}`,
      stack: `${id}-ghost-${lang}`,
    }),
    nextcloud: {
      app: `nextcloud-${id}-en`,
      db: `nextclouddb-${id}-en`,
      net: `nextcloudnet-${id}-en`,
      dbNet: `nextclouddbnet-${id}-en`,
      stack: `${id}-nextcloud-en`,
    },
    gitea: {
      app: `gitea-${id}-en`,
      db: `giteadb-${id}-en`,
      net: `giteanet-${id}-en`,
      dbNet: `giteadbnet-${id}-en`,
      stack: `${id}-gitea-en`,
    },
    nostr: { app: `nostr-${id}`, net: `nostrnet-${id}-en`, stack: `${id}-nostr-en` },
  };
}

/**
 * The stacks on an instance that run `app` of `domain` (Ghost has one per language), among the stack names the
 * instance has: those whose data a restore of that app swaps. None for an app no stack runs (letsencrypt).
 */
export function stacksOfApp(domain: string, app: string, stackNames: string[]): string[] {
  const prefix = `${appNames(domain).id}-${app}-`;
  return stackNames.filter((n) => n.startsWith(prefix)).sort();
}

function mysql(
  name: string,
  image: string,
  net: string,
  dataDir: string,
  db: string,
  user: string,
  secrets: { root: string; user: string; domain: string },
  mariadb: boolean,
  command?: string[],
): ContainerSpec {
  const c: ContainerSpec = {
    name,
    image,
    env: { MYSQL_DATABASE: db, MYSQL_USER: user },
    volumes: [{ host: dataDir, container: '/var/lib/mysql' }],
    networks: [{ name: net, aliases: [name] }],
    ...(command ? { command } : {}),
    // Both images answer a ping once they accept connections; the root password is not needed for it.
    healthcheck: health(['CMD-SHELL', 'mysqladmin ping -h 127.0.0.1 --silent || healthcheck.sh --connect'], 120),
    labels: { [LABEL_ROLE]: 'database' },
    startBeforeStop: false,
  };
  return withSecretFiles(c, mariadb ? SECRET_FILE_OWNER.mariadb : SECRET_FILE_OWNER.mysql, {
    [mariadb ? 'MARIADB_ROOT_PASSWORD_FILE' : 'MYSQL_ROOT_PASSWORD_FILE']: {
      secret: secrets.root,
      domain: secrets.domain,
    },
    MYSQL_PASSWORD_FILE: { secret: secrets.user, domain: secrets.domain },
  });
}

export function ghostStacks(config: DeploymentConfig, site: SiteConfig): StackSpec[] {
  if (!site.deploy.ghost) return [];
  const images = config.project.images;
  const www = `${config.project.hostnames.www}.${site.domain}`;
  return site.languageCodes.map((lang) => {
    const n = appNames(site.domain).ghost(lang);
    const dir = `${app(site.domain, 'ghost')}/${lang}`;
    const secrets = { root: 'GHOST_MYSQL_ROOT_PASSWORD', user: 'GHOST_MYSQL_PASSWORD', domain: site.domain };
    return {
      name: n.stack,
      domain: site.domain,
      app: 'ghost' as const,
      networks: [n.net, n.dbNet],
      directories: [`${dir}/ghost`, `${dir}/db`],
      containers: [
        mysql(n.db, images.ghostDb, n.dbNet, `${dir}/db`, 'ghost', 'ghost', secrets, false),
        {
          name: n.app,
          image: images.ghost,
          env: {
            url: isRootLanguage(site, lang) ? `https://${www}` : `https://${www}/${lang}`,
            database__client: 'mysql',
            database__connection__host: n.db,
            database__connection__user: 'ghost',
            // Ghost's configuration (nconf) reads no *_FILE variable: the one secret left in an environment.
            database__connection__password: { secret: 'GHOST_MYSQL_PASSWORD', domain: site.domain },
            database__connection__database: 'ghost',
            database__pool__min: '0',
            privacy__useStructuredData: 'true',
          },
          volumes: [{ host: `${dir}/ghost`, container: '/var/lib/ghost/content' }],
          networks: [
            { name: n.net, aliases: [n.app] },
            { name: n.dbNet, aliases: [n.app] },
          ],
          // Ghost's image has node but neither curl nor wget.
          healthcheck: health(
            [
              'CMD',
              'node',
              '-e',
              "require('http').get('http://127.0.0.1:2368/',r=>process.exit(r.statusCode<500?0:1)).on('error',()=>process.exit(1))",
            ],
            180,
          ),
          labels: { [LABEL_ROLE]: 'app' },
          startBeforeStop: true,
        },
      ],
    };
  });
}

export function nextcloudStack(config: DeploymentConfig, site: SiteConfig): StackSpec[] {
  if (!site.deploy.nextcloud) return [];
  const n = appNames(site.domain).nextcloud;
  const dir = `${app(site.domain, 'nextcloud')}/en`;
  const fqdn = `${config.project.hostnames.nextcloud}.${site.domain}`;
  const secrets = { root: 'NEXTCLOUD_MYSQL_ROOT_PASSWORD', user: 'NEXTCLOUD_MYSQL_PASSWORD', domain: site.domain };
  return [
    {
      name: n.stack,
      domain: site.domain,
      app: 'nextcloud',
      networks: [n.net, n.dbNet],
      directories: [`${dir}/html`, `${dir}/db`],
      containers: [
        mysql(n.db, config.project.images.nextcloudDb, n.dbNet, `${dir}/db`, 'nextcloud', 'nextcloud', secrets, true, [
          '--transaction-isolation=READ-COMMITTED',
          '--binlog-format=ROW',
          '--innodb_read_only_compressed=OFF',
        ]),
        withSecretFiles(
          {
            name: n.app,
            image: config.project.images.nextcloud,
            env: {
              MYSQL_HOST: n.db,
              NEXTCLOUD_TRUSTED_DOMAINS: fqdn,
              OVERWRITEHOST: fqdn,
              OVERWRITEPROTOCOL: 'https',
              SERVERNAME: fqdn,
            },
            volumes: [{ host: `${dir}/html`, container: '/var/www/html' }],
            networks: [
              { name: n.net, aliases: [n.app] },
              { name: n.dbNet, aliases: [n.app] },
            ],
            healthcheck: health(['CMD-SHELL', 'curl -fsS -o /dev/null http://127.0.0.1/status.php'], 300),
            labels: { [LABEL_ROLE]: 'app' },
            // Nextcloud upgrades its data directory on start: never two at once.
            startBeforeStop: false,
          },
          // Nextcloud 25's autoconfig.php takes the database's name, user and password all from files or all from the
          // environment.
          SECRET_FILE_OWNER.nextcloud,
          {
            MYSQL_DATABASE_FILE: 'nextcloud',
            MYSQL_USER_FILE: 'nextcloud',
            MYSQL_PASSWORD_FILE: { secret: 'NEXTCLOUD_MYSQL_PASSWORD', domain: site.domain },
          },
        ),
      ],
    },
  ];
}

export function giteaStack(config: DeploymentConfig, site: SiteConfig): StackSpec[] {
  if (!site.deploy.gitea) return [];
  const n = appNames(site.domain).gitea;
  const dir = `${app(site.domain, 'gitea')}/en`;
  const secrets = { root: 'GITEA_MYSQL_ROOT_PASSWORD', user: 'GITEA_MYSQL_PASSWORD', domain: site.domain };
  return [
    {
      name: n.stack,
      domain: site.domain,
      app: 'gitea',
      networks: [n.net, n.dbNet],
      directories: [`${dir}/data`, `${dir}/db`],
      containers: [
        mysql(n.db, config.project.images.giteaDb, n.dbNet, `${dir}/db`, 'gitea', 'gitea', secrets, true),
        withSecretFiles(
          {
            name: n.app,
            image: config.project.images.gitea,
            env: {
              USER_UID: String(SECRET_FILE_OWNER.gitea),
              USER_GID: String(SECRET_FILE_OWNER.gitea),
              ROOT_URL: `https://${config.project.hostnames.gitea}.${site.domain}`,
              GITEA__database__DB_TYPE: 'mysql',
              GITEA__database__HOST: `${n.db}:3306`,
              GITEA__database__NAME: 'gitea',
              GITEA__database__USER: 'gitea',
            },
            volumes: [
              { host: `${dir}/data`, container: '/data' },
              { host: '/etc/timezone', container: '/etc/timezone', readOnly: true },
              { host: '/etc/localtime', container: '/etc/localtime', readOnly: true },
            ],
            networks: [
              { name: n.net, aliases: [n.app] },
              { name: n.dbNet, aliases: [n.app] },
            ],
            healthcheck: health(['CMD-SHELL', 'curl -fsS -o /dev/null http://127.0.0.1:3000/api/healthz'], 120),
            labels: { [LABEL_ROLE]: 'app' },
            startBeforeStop: false,
          },
          // environment-to-ini reads GITEA__section__KEY__FILE: the `__FILE` form of Gitea's variables.
          SECRET_FILE_OWNER.gitea,
          { GITEA__database__PASSWD__FILE: { secret: 'GITEA_MYSQL_PASSWORD', domain: site.domain } },
        ),
      ],
    },
  ];
}

/** nostr-rs-relay's config.toml, as ss's nostr_yml.sh writes it: only the operator's key may publish. */
export function nostrConfigToml(site: SiteConfig, relayFqdn: string): string {
  const pubkey = site.nostrAccountPubkey ?? '';
  return [
    '[info]',
    `relay_url = "wss://${relayFqdn}/"`,
    `name = "${relayFqdn}"`,
    `description = "A nostr relay for ${site.domain}, run with Sovereign Stack."`,
    `pubkey = "${pubkey}"`,
    `contact = "mailto:info@${site.domain}"`,
    '',
    '[options]',
    'reject_future_seconds = 1800',
    '',
    '[authorization]',
    `pubkey_whitelist = [ "${pubkey}" ]`,
    `domain_whitelist = [ "${site.domain}" ]`,
    '',
  ].join('\n');
}

export function nostrStack(config: DeploymentConfig, site: SiteConfig): StackSpec[] {
  if (!site.deploy.nostr) return [];
  const n = appNames(site.domain).nostr;
  const dir = app(site.domain, 'nostr');
  const fqdn = `${config.project.hostnames.nostr}.${site.domain}`;
  return [
    {
      name: n.stack,
      domain: site.domain,
      app: 'nostr',
      networks: [n.net],
      directories: [`${dir}/data`],
      containers: [
        {
          name: n.app,
          image: config.project.images.nostrRelay,
          env: {},
          volumes: [
            { host: `${dir}/data`, container: '/usr/src/app/db' },
            { host: `${dir}/config.toml`, container: '/usr/src/app/config.toml', readOnly: true },
          ],
          files: [{ path: `${dir}/config.toml`, content: nostrConfigToml(site, fqdn) }],
          networks: [{ name: n.net, aliases: [n.app] }],
          labels: { [LABEL_ROLE]: 'app' },
          // One writer of its SQLite database at a time.
          startBeforeStop: false,
        },
      ],
    },
  ];
}

/** Every app stack of every site, in site order (primary first), ghost languages in listed order. */
export function appStacks(config: DeploymentConfig): StackSpec[] {
  return config.sites.flatMap((site) => [
    ...ghostStacks(config, site),
    ...nextcloudStack(config, site),
    ...giteaStack(config, site),
    ...nostrStack(config, site),
  ]);
}
