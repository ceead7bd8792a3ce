import { describe, expect, test } from 'bun:test';
import { sameHostRealm } from '../../src/ocir/accessProbe.ts';

describe('sameHostRealm: the probe follows a token challenge only to the registry itself', () => {
  const registry = new URL('https://fra.ocir.io/v2/ns/app/manifests/latest');
  test('OCIR-style challenge on the same origin', () => {
    const realm = sameHostRealm('Bearer realm="https://fra.ocir.io/20180419/docker/token",service="fra.ocir.io",scope="repository:ns/app:pull"', registry);
    expect(realm?.url.href).toBe('https://fra.ocir.io/20180419/docker/token');
    expect(realm?.service).toBe('fra.ocir.io');
  });
  const refused: [string, string | null][] = [
    ['another host', 'Bearer realm="https://evil.example/token",service="fra.ocir.io"'],
    ['another port', 'Bearer realm="https://fra.ocir.io:8443/token"'],
    ['plain http', 'Bearer realm="http://fra.ocir.io/20180419/docker/token"'],
    ['a Basic challenge', 'Basic realm="registry"'],
    ['no realm', 'Bearer service="fra.ocir.io"'],
    ['not a URL', 'Bearer realm="::"'],
    ['no header', null],
  ];
  for (const [name, header] of refused) test(`refuses ${name}`, () => expect(sameHostRealm(header, registry)).toBeUndefined());
});
