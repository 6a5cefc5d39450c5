import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../../common/errors';
import {
  hasShellSyntax,
  isBitcoinChain,
  isDnsLabel,
  isDomainName,
  isLanguageCode,
  isMacAddress,
  isName,
  macUnusable,
  isSecretKey,
  validateDomainName,
  validateName,
} from '../../common/config';

describe('config validators', () => {
  test('isDomainName accepts lowercase FQDNs only', () => {
    for (const ok of ['example.com', 'www.example.co.uk', 'a-b.example', 'xn--bcher-kva.example', '1password.com']) {
      assert.equal(isDomainName(ok), true, ok);
    }
    for (const bad of [
      'localhost',
      'Example.com',
      'example.com.',
      '-a.example.com',
      'a-.example.com',
      'a_b.example.com',
      'a..example.com',
      '10.0.0.1',
      '$(reboot).com',
      'example.com;reboot',
      'exa mple.com',
      '../etc',
      `${'a'.repeat(64)}.com`,
      '',
    ]) {
      assert.equal(isDomainName(bad), false, bad);
    }
  });

  test('isDnsLabel accepts one lowercase RFC 1123 label', () => {
    assert.equal(isDnsLabel('btcpay'), true);
    assert.equal(isDnsLabel('a1-b2'), true);
    assert.equal(isDnsLabel('pay.me'), false);
    assert.equal(isDnsLabel('Pay'), false);
    assert.equal(isDnsLabel('-x'), false);
  });

  test('isMacAddress accepts unicast colon notation in either case', () => {
    assert.equal(isMacAddress('00:16:3e:aa:bb:cc'), true);
    assert.equal(isMacAddress('00:16:3E:AA:BB:CC'), true);
    for (const bad of [
      'zz',
      '00-16-3e-aa-bb-cc',
      '00:16:3e:aa:bb',
      '01:00:5e:00:00:01',
      '00:00:00:00:00:00',
      '00:16:3e:aa:bb:cc ',
    ]) {
      assert.equal(isMacAddress(bad), false, bad);
    }
  });

  test('macUnusable explains a multicast or all-zero MAC and suggests a unicast one; format problems are not its', () => {
    const multicast = macUnusable('11:11:11:00:00:01');
    assert.ok(multicast);
    assert.match(multicast, /^expected a unicast MAC address, got "11:11:11:00:00:01": that is a multicast address/);
    assert.match(multicast, /which no network card can have/);
    assert.match(multicast, /such as 02:11:11:00:00:01 \(first octet 02\), or one of LXD's 00:16:3e:xx:xx:xx/);
    assert.match(macUnusable('FF:FF:FF:FF:FF:FF') ?? '', /multicast address .*first octet, ff,/);
    assert.match(macUnusable('01:00:5e:00:00:01') ?? '', /such as 02:00:5e:00:00:01/);
    assert.match(
      macUnusable('00:00:00:00:00:00') ?? '',
      /that is the all-zero address, which is no network card's address/,
    );
    for (const fine of ['00:16:3e:aa:bb:cc', '02:11:11:00:00:01', '0A:00:00:00:00:01']) {
      assert.equal(macUnusable(fine), undefined, fine);
      assert.equal(isMacAddress(fine), true, fine);
    }
    for (const malformed of ['zz', '11-11-11-00-00-01', '11:11:11:00:00'])
      assert.equal(macUnusable(malformed), undefined);
  });

  test('isLanguageCode accepts codes like en, es, pt-br', () => {
    for (const ok of ['en', 'es', 'pt-br', 'zh-hant', 'fil']) assert.equal(isLanguageCode(ok), true, ok);
    for (const bad of ['EN', 'e', 'english', 'pt_br', 'en/..', 'en,es']) assert.equal(isLanguageCode(bad), false, bad);
  });

  test('isName matches deployment and remote names', () => {
    assert.equal(isName('public'), true);
    assert.equal(isName('dc1-host2'), true);
    assert.equal(isName('-x'), false);
    assert.equal(isName('Public'), false);
    assert.equal(isName('a'.repeat(64)), false);
    assert.equal(isName('../x'), false);
  });

  test('isBitcoinChain knows the four chains', () => {
    for (const c of ['regtest', 'testnet', 'signet', 'mainnet']) assert.equal(isBitcoinChain(c), true);
    assert.equal(isBitcoinChain('bitcoin'), false);
  });

  test('isSecretKey covers passwords, passphrases, tokens and keys, but not the nostr pubkey', () => {
    for (const k of ['GHOST_MYSQL_PASSWORD', 'DUPLICITY_BACKUP_PASSPHRASE', 'API_SECRET', 'TRUST_TOKEN', 'SOME_KEY']) {
      assert.equal(isSecretKey(k), true, k);
    }
    assert.equal(isSecretKey('NOSTR_ACCOUNT_PUBKEY'), false);
    assert.equal(isSecretKey('DOMAIN_NAME'), false);
  });

  test('hasShellSyntax spots command and parameter substitution', () => {
    assert.equal(hasShellSyntax('$(id)'), true);
    assert.equal(hasShellSyntax('`id`'), true);
    assert.equal(hasShellSyntax('${HOME}'), true);
    assert.equal(hasShellSyntax('price$5'), false);
  });

  test('validateName returns a valid name and throws a UserError with exit code 2 otherwise', () => {
    assert.equal(validateName('deployment', 'public'), 'public');
    assert.throws(
      () => validateName('deployment', 'Pub lic'),
      (err: unknown) =>
        err instanceof UserError &&
        err.exitCode === 2 &&
        err.message ===
          'The deployment name must be a name of lowercase letters, digits and "-" (1-63 characters, not starting with "-"), got "Pub lic".',
    );
  });

  test('validateDomainName returns a valid domain and throws a UserError otherwise', () => {
    assert.equal(validateDomainName('example.com'), 'example.com');
    assert.throws(
      () => validateDomainName('example.com/../x'),
      /The domain must be a lowercase domain name like example\.com/,
    );
  });
});
